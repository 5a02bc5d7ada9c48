// The harness's side of the load generator (bench/client.ts, its own process on core 1): start
// it, send it a command, wait for the reply (bounded), and sample /proc at its window marks.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, settings } from './args.ts';
import { cost, sample, type Cost, type Sample } from './proc.ts';
import { cleanEnv, launch, stopChild } from './processes.ts';
import type { Command, ConnectResult, Kind, Reply, WindowResult } from './types.ts';

const CLIENT = join(ROOT, 'bench/client.ts');

export interface Client {
  child: ChildProcess;
  pid: number;
}

/** What a window's CPU figures are measured on: the server under test, by pid. */
export interface Measured {
  pid: number;
}

export function startClient(): Client {
  const child = launch([process.execPath, CLIENT], 1, cleanEnv({}), 'inherit');
  return { child, pid: child.pid! };
}

export async function stopClient(client: Client): Promise<void> {
  if (client.child.connected) client.child.send({ cmd: 'exit' } satisfies Command);
  await stopChild(client.child, 5000);
}

export function ask<R extends Reply>(client: Client, command: Command, want: R['reply'], timeoutMs: number, onMark?: (m: 'start' | 'end') => void): Promise<R> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => done(new Error(`${command.cmd} timed out after ${timeoutMs} ms`)), timeoutMs);
    const exit = (): void => done(new Error(`load generator exited during ${command.cmd}`));
    const on = (m: Reply): void => {
      if (m.reply === 'mark') onMark?.(m.mark);
      else if (m.reply === 'error') done(new Error(m.message));
      else if (m.reply === want) done(undefined, m as R);
    };
    function done(err?: Error, value?: R): void {
      clearTimeout(t);
      client.child.off('message', on);
      client.child.off('exit', exit);
      if (err) rej(err);
      else res(value!);
    }
    client.child.on('message', on);
    client.child.once('exit', exit);
    client.child.send(command);
  });
}

export async function windowed(client: Client, server: Measured, command: Command, timeoutMs: number): Promise<{ result: WindowResult; cost: Cost }> {
  let a: Sample | undefined;
  let b: Sample | undefined;
  const reply = await ask<Extract<Reply, { reply: 'window' }>>(client, command, 'window', timeoutMs, (mark) => {
    if (mark === 'start') a = sample(server.pid, client.pid);
    else b = sample(server.pid, client.pid);
  });
  if (!a || !b) throw new Error('window marks missing');
  return { result: reply.result, cost: cost(a, b) };
}

const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];

export async function connectAll(client: Client, url: string, kind: Kind, n: number, ownRooms: boolean): Promise<ConnectResult> {
  const timeoutMs = 10_000;
  const r = await ask<Extract<Reply, { reply: 'connect' }>>(
    client,
    { cmd: 'connect', url, kind, n, ownRooms, concurrency: settings.connectConcurrency, timeoutMs, sources: SOURCES },
    'connect',
    Math.max(60_000, n * 20) + timeoutMs + 5_000,
  );
  if (r.result.connected < n) console.log(`  warning: ${r.result.connected}/${n} connected (${r.result.failed} failed, first: ${r.result.firstError ?? '?'})`);
  return r.result;
}

export function wsUrl(kind: Kind, port: number): string {
  return kind === 'ws' ? `ws://127.0.0.1:${port}/ws` : `http://127.0.0.1:${port}`;
}
