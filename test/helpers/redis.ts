// Shared by the suites that run a real redis-server: is it up, and what does a rejoin with `since` replay.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { freePort } from './ports.ts';
import { connect } from 'node:net';
import { until, type ChatPeer } from './chat.ts';
import { TestClient, type Json } from './client.ts';

/** True once a redis-server on 127.0.0.1:`port` answers PING with +PONG (within a second). */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface Redis {
  port: number;
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
}

/** A redis-server of the test's own on 127.0.0.1, with an append-only file fsynced at every write. */
export function redisServer(port: number, dir: string): Redis {
  let child: ChildProcess | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--protected-mode', 'yes'], { stdio: 'ignore' });
      await until('redis-server to answer PING', () => answersPing(port), 10_000);
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A redis-server of the calling suite's own: started before its tests (a missing redis-server
 * fails the suite, naming what to install), killed and its data folder removed after them.
 */
export function suiteRedis(): Redis {
  let redis: Redis | undefined;
  let dir = '';
  before(async () => {
    if (!existsSync(REDIS_SERVER)) throw new Error(`redis-server not found at ${REDIS_SERVER}: install redis-server (Debian: apt-get install redis-server) or set REDIS_SERVER`);
    dir = mkdtempSync(join(tmpdir(), 'socketship-redis-'));
    redis = redisServer(await freePort(), dir);
    await redis.start();
  });
  after(async () => {
    await redis?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const started = (): Redis => {
    if (!redis) throw new Error('suiteRedis: used before the suite started');
    return redis;
  };
  // The suite's tests may stop and restart it (an outage under traffic).
  return {
    get port() {
      return started().port;
    },
    get url() {
      return started().url;
    },
    start: () => started().start(),
    kill: () => started().kill(),
  };
}

/** Joins `room` on `url` with `since` and reads the history frame and the messages it announces. */
export async function replayJoin(url: string, room: string, since: string): Promise<{ history: Json; texts: string[] }> {
  const c = await TestClient.connect(url);
  c.send({ type: 'join', room, name: 'reader', since });
  const history = await c.nextOf('history');
  const texts: string[] = [];
  for (let i = 0; i < Number(history.count); i++) texts.push(String((await c.nextOf('message')).text));
  c.close();
  return { history, texts };
}

/**
 * The replay check both Redis suites make: `writer` (in `room`, started) writes 25 messages; a
 * reader on `readerUrl` rejoining after the 11th gets exactly the 14 after it, and one rejoining
 * after the 3rd gets the newest `historySize`, marked truncated. Returns the 25 ids in order.
 */
export async function assertReplay(writer: ChatPeer, readerUrl: string, room: string, historySize: number): Promise<string[]> {
  for (let i = 0; i < 25; i++) writer.say(`r${i}`);
  await until('25 acks', () => writer.received.length === 25, 5000);
  const ids = writer.received.map((m) => m.id);
  const recent = await replayJoin(readerUrl, room, ids[10]!);
  assert.equal(recent.history.truncated, false);
  assert.deepEqual(recent.texts, writer.texts().slice(11));
  const old = await replayJoin(readerUrl, room, ids[2]!);
  assert.equal(old.history.truncated, true, `${historySize} kept, 22 missed`);
  assert.deepEqual(old.texts, writer.texts().slice(25 - historySize));
  return ids;
}
