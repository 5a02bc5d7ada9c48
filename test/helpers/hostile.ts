// Tools for the hostile-input catalogue: hand-made frames written under a real `ws` client, raw
// HTTP over TCP, a witness pair that proves a room keeps working, and a runner that checks each
// attack's close code or status, its log line and its metric.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { tcpSocketOf } from '../../src/realtime/ws-internals.ts';
import { TestClient } from './client.ts';
import { fetchMetrics, metricValue, type LogLine, type TestServer } from './server.ts';

export interface FrameOptions {
  fin?: boolean;
  /** RSV1..3 as bits 0x40, 0x20, 0x10. */
  rsv?: number;
  mask?: boolean;
  /** Claimed payload length when it should lie (the 64-bit form is used above 65535). */
  length?: bigint;
}

/** One WebSocket frame as a client sends it: masked unless told otherwise. */
export function frame(opcode: number, payload: Buffer | string, opts: FrameOptions = {}): Buffer {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const { fin = true, rsv = 0, mask = true } = opts;
  const length = opts.length ?? BigInt(data.length);
  const head = [(fin ? 0x80 : 0) | rsv | opcode];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (length < 126n) head.push(m | Number(length));
  else if (length < 65536n) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(length));
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(length);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = randomBytes(4);
  const masked = Buffer.from(data.map((b, i) => b ^ (key[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** A close frame's payload: the code, then the reason bytes. */
export function closePayload(code: number, reason: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, reason]);
}

/** Writes raw bytes under a real `ws` client, as a hostile client would, past the client's own checks. */
export function writeRaw(client: TestClient, bytes: Buffer | Buffer[]): void {
  const tcp = tcpSocketOf(client.ws);
  assert.ok(tcp, 'no TCP socket under the ws client');
  for (const b of Array.isArray(bytes) ? bytes : [bytes]) tcp.write(b);
}

/** Sends `request` over a fresh TCP connection and resolves with everything the server answered before it hung up. */
export function rawHttp(port: number, request: string | Buffer | ((socket: Socket) => void), timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms (got ${JSON.stringify(got.slice(0, 80))})`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.on('connect', () => (typeof request === 'function' ? request(socket) : socket.write(request)));
  });
}

/** The status of an HTTP response text (0 when there is none). */
export function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

export function upgradeRequest(path = '/ws', headers: Record<string, string> = {}, method = 'GET'): string {
  const all: Record<string, string> = {
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `${method} ${path} HTTP/1.1\r\n${lines}\r\n`;
}

/**
 * Two clients in the room every socket joins first ('lobby'): a talker that says something every
 * `everyMs`, and a listener that must get every one of those messages, in order, whatever the
 * attackers beside them do. `probe()` proves the room still works right after an attack. The
 * talker hears its own messages too: `echoMs` is how long each took from its send (monotonic).
 */
export class Witness {
  private talker!: TestClient;
  private listener!: TestClient;
  readonly sent: string[] = [];
  readonly heard: string[] = [];
  /** Echo latency of each message the talker heard back, in the order heard. */
  readonly echoMs: number[] = [];
  private readonly sentAt = new Map<string, number>();
  private talkerName = 'talker';
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  private waiters: (() => void)[] = [];

  static async start(server: Pick<TestServer, 'wsUrl'>, everyMs = 100): Promise<Witness> {
    const w = new Witness();
    w.listener = await TestClient.connect(server.wsUrl);
    w.talker = await TestClient.connect(server.wsUrl);
    await w.listener.nextOf('welcome');
    await w.talker.nextOf('welcome');
    w.listener.ws.on('message', (data) => {
      const text = data.toString();
      if (!text.startsWith('{')) return;
      const m = JSON.parse(text) as { type?: string; from?: string; text?: string };
      if (m.type === 'message' && m.from === w.talkerName && typeof m.text === 'string') w.heard.push(m.text);
      for (const wake of w.waiters.splice(0)) wake();
    });
    w.talker.send({ type: 'join', room: 'lobby', name: 'talker' });
    // With a token the name is the token's, not the one asked for.
    w.talkerName = String((await w.talker.nextOf('welcome', 3000, (m) => m.room === 'lobby')).name);
    w.talker.ws.on('message', (data) => {
      const text = data.toString();
      if (!text.startsWith('{"type":"message"')) return;
      const m = JSON.parse(text) as { from?: string; text?: string };
      const at = m.from === w.talkerName && typeof m.text === 'string' ? w.sentAt.get(m.text) : undefined;
      if (at !== undefined) w.echoMs.push(performance.now() - at);
    });
    w.timer = setInterval(() => w.say(`tick-${w.n++}`), everyMs);
    return w;
  }

  private say(text: string): void {
    if (this.talker.ws.readyState !== WebSocket.OPEN) return;
    this.sent.push(text);
    this.sentAt.set(text, performance.now());
    this.talker.send({ type: 'say', text });
  }

  /** The 99th percentile of the echo latencies heard from index `from` on (0 when none). */
  echoP99(from = 0): number {
    const sorted = this.echoMs.slice(from).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
  }

  /** Says `text` and waits (bounded) until the listener has heard it and everything said before it. */
  async probe(label: string, timeoutMs = 3000): Promise<void> {
    const text = `probe ${label}`;
    this.say(text);
    const deadline = Date.now() + timeoutMs;
    while (!this.heard.includes(text)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`witness: '${text}' not heard within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    this.assertIntact(label);
  }

  /** Everything heard so far is exactly what was said, in order, with no gap before the last heard. */
  assertIntact(label: string): void {
    assert.deepEqual(this.heard, this.sent.slice(0, this.heard.length), `witness lost or reordered messages (after ${label})`);
    assert.equal(this.talker.ws.readyState, WebSocket.OPEN, `witness talker closed (after ${label})`);
    assert.equal(this.listener.ws.readyState, WebSocket.OPEN, `witness listener closed (after ${label})`);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.probe('end');
    this.talker.close();
    this.listener.close();
  }
}

export interface Expect {
  /** Close code (and reason, when given) the attacker's socket gets on the wire. */
  close?: { code: number; reason?: string };
  /** HTTP status of the answer. */
  status?: number;
  /** A log line that must appear, matched on `msg`, `level` and the listed fields. */
  log: { msg: string; level?: string } & Record<string, unknown>;
  /** A metric that must grow by at least 1 (exactly `by`, when given). */
  metric: { name: string; labels?: Record<string, string>; by?: number };
}

export interface Outcome {
  close?: { code: number; reason: string };
  status?: number;
}

export interface Kind {
  name: string;
  attack(server: TestServer): Promise<Outcome>;
  expect: Expect;
}

function matches(line: LogLine, want: Expect['log']): boolean {
  return Object.entries(want).every(([k, v]) => (k === 'level' ? line.level === v : line[k] === v));
}

/** Runs one kind: the attack, then its close or status, log line and metric, then the witness probe. */
export async function runKind(server: TestServer, witness: Witness, kind: Kind): Promise<void> {
  const { name: metric, labels = {}, by } = kind.expect.metric;
  const before = metricValue(await fetchMetrics(server), metric, labels);
  const logStart = server.logs.length;
  const outcome = await kind.attack(server);
  if (kind.expect.close) {
    assert.ok(outcome.close, `${kind.name}: expected a close, got ${JSON.stringify(outcome)}`);
    assert.equal(outcome.close.code, kind.expect.close.code, `${kind.name}: close code`);
    if (kind.expect.close.reason !== undefined) assert.equal(outcome.close.reason, kind.expect.close.reason, `${kind.name}: close reason`);
  }
  if (kind.expect.status !== undefined) assert.equal(outcome.status, kind.expect.status, `${kind.name}: status`);
  const want = { level: 'warn', ...kind.expect.log };
  const deadline = Date.now() + 3000;
  for (;;) {
    const logged = server.logs.slice(logStart).some((l) => matches(l, want));
    const delta = metricValue(await fetchMetrics(server), metric, labels) - before;
    if (logged && (by === undefined ? delta >= 1 : delta === by)) break;
    if (Date.now() > deadline) {
      assert.ok(logged, `${kind.name}: no log line like ${JSON.stringify(want)}; got ${JSON.stringify(server.logs.slice(logStart).slice(-5))}`);
      assert.fail(`${kind.name}: ${metric}${JSON.stringify(labels)} grew by ${delta}, expected ${by ?? 'at least 1'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await witness.probe(kind.name);
}

/** What a process has used: CPU (user + system) and resident memory, from /proc (Linux). */
export async function processUsage(pid: number): Promise<{ cpuMs: number; rssBytes: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks of 10 ms.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'latin1');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return { cpuMs: ticks * 10, rssBytes: rssKb * 1024 };
}

/** A client with its pings unanswered (an attacker is done long before the pong timeout). */
export function attacker(server: TestServer, path = '/ws'): Promise<TestClient> {
  return TestClient.connect(`ws://127.0.0.1:${server.port}${path}`, { autoPong: false });
}

/** Connects, writes `bytes` raw, and returns the close the server answered with. */
export async function rawFrames(server: TestServer, bytes: Buffer | Buffer[]): Promise<Outcome> {
  const c = await attacker(server);
  await c.nextOf('welcome');
  writeRaw(c, bytes);
  return { close: await c.closed };
}

/** Connects and sends `data` as ordinary text frames. */
export async function textFrames(server: TestServer, data: (string | Record<string, unknown>)[]): Promise<Outcome> {
  const c = await attacker(server);
  await c.nextOf('welcome');
  for (const d of data) c.send(typeof d === 'string' ? d : d);
  return { close: await c.closed };
}

/** The answer to a raw HTTP request, as an outcome. */
export async function httpStatus(server: TestServer, request: string | Buffer | ((socket: Socket) => void), timeoutMs = 3000): Promise<Outcome> {
  return { status: statusOf(await rawHttp(server.port, request, timeoutMs)) };
}
