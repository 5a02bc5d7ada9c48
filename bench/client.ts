// Load generator: a separate process (pinned by the harness to the core the server is not on)
// that opens the connections and drives one scenario at a time on the harness's command.
// Clients are `ws` (this service and the bare ws peer share the protocol) or socket.io-client.
// Every loop is bounded in count and time; timestamps are performance.timeOrigin + now().
import { performance } from 'node:perf_hooks';
import { build, type Histogram } from 'hdr-histogram-js';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import type { Command, ConnectResult, Kind, Reply, WindowResult } from './lib/types.ts';

const clock = (): number => performance.timeOrigin + performance.now();
const send = (reply: Reply): void => void process.send?.(reply);

interface Conn {
  index: number;
  ws?: WebSocket;
  sio?: Socket;
  welcomes: number;
  open: boolean;
}

type ChatHandler = (conn: Conn, scheduledAt: number) => void;

const conns: Conn[] = [];
let kind: Kind = 'ws';
let pongs = 0;
let closed = 0;
let onChat: ChatHandler = () => {};
let joinWaiters = new Map<Conn, () => void>();

const TEXT_MARK = Buffer.from('"text":"T');
const PING = 0x70; // 'p'
const MSG = 0x6d; // 'm', at index 9 of '{"type":"message"...'
const WEL = 0x77; // 'w', of welcome

/** The scheduled send time carried at the start of the text: "T<ms since epoch>|...". */
function timeInFrame(data: Buffer): number {
  const at = data.indexOf(TEXT_MARK);
  if (at < 0) return Number.NaN;
  const start = at + TEXT_MARK.length;
  const end = data.indexOf(0x7c /* | */, start);
  return Number(data.toString('latin1', start, end));
}

function timeInText(text: string): number {
  return Number(text.slice(1, text.indexOf('|')));
}

function makeText(at: number, bytes: number): string {
  const head = `T${at.toFixed(3)}|`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

function welcomed(conn: Conn): void {
  conn.welcomes++;
  if (conn.welcomes >= 2) joinWaiters.get(conn)?.();
}

function onWsMessage(this: WebSocket & { conn: Conn }, data: Buffer, isBinary: boolean): void {
  if (isBinary) return;
  if (data.length === 4 && data[0] === PING) {
    this.send('pong');
    pongs++;
    return;
  }
  const tag = data[9];
  if (tag === MSG) onChat(this.conn, timeInFrame(data));
  else if (tag === WEL) welcomed(this.conn);
}

function onWsClose(this: WebSocket & { conn: Conn }): void {
  if (this.conn.open) closed++;
  this.conn.open = false;
}

function ignore(): void {}

function connectOne(url: string, index: number, source: string, ownRoom: boolean, timeoutMs: number): Promise<string | undefined> {
  const conn: Conn = { index, welcomes: 0, open: false };
  return new Promise((resolve) => {
    let done = false;
    const finish = (err?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      joinWaiters.delete(conn);
      if (!err) {
        conn.open = true;
        conns.push(conn);
      } else {
        conn.ws?.terminate();
        conn.sio?.disconnect();
      }
      resolve(err);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const joined = (): void => {
      if (!ownRoom) return finish();
      joinWaiters.set(conn, () => finish());
      const join = { type: 'join', room: `r${index}`, name: `b${index}` };
      if (conn.ws) conn.ws.send(JSON.stringify(join));
      else conn.sio?.emit('join', join);
    };
    if (kind === 'ws') {
      const ws = new WebSocket(url, { localAddress: source, perMessageDeflate: false }) as WebSocket & { conn: Conn };
      ws.conn = conn;
      conn.ws = ws;
      ws.on('message', onWsMessage as (this: WebSocket, data: Buffer, isBinary: boolean) => void);
      ws.on('close', onWsClose as (this: WebSocket) => void);
      ws.on('error', (e: Error) => finish(e.message));
      ws.once('open', () => {
        ws.off('error', ws.listeners('error')[0] as () => void);
        ws.on('error', ignore);
        joined();
      });
    } else {
      const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, localAddress: source, timeout: timeoutMs } as Parameters<typeof io>[1]);
      conn.sio = s;
      s.on('hb', (ack: () => void) => {
        ack();
        pongs++;
      });
      s.on('message', (m: { text: string }) => onChat(conn, timeInText(m.text)));
      s.on('welcome', () => welcomed(conn));
      s.on('disconnect', () => {
        if (conn.open) closed++;
        conn.open = false;
      });
      s.once('connect_error', (e: Error) => finish(e.message));
      s.once('connect', joined);
    }
  });
}

async function connect(c: Extract<Command, { cmd: 'connect' }>): Promise<ConnectResult> {
  kind = c.kind;
  joinWaiters = new Map();
  const started = Date.now();
  // Bounded: every socket gets timeoutMs, the whole batch 20 ms a socket (at least 60 s).
  const deadline = started + Math.max(60_000, c.n * 20);
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < c.n && Date.now() < deadline) {
      const i = next++;
      const err = await connectOne(c.url, i, c.sources[i % c.sources.length]!, c.ownRooms, c.timeoutMs);
      if (err) {
        failed++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.n) }, worker));
  conns.sort((a, b) => a.index - b.index);
  return { connected: conns.length, failed, ms: Date.now() - started, ...(firstError ? { firstError } : {}) };
}

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function summary(h: Histogram): WindowResult['latencyMs'] {
  if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, max: 0, mean: 0 };
  return { count: h.totalCount, p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000, mean: h.mean / 1000 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function say(conn: Conn, text: string): void {
  if (!conn.open) return;
  if (conn.ws) conn.ws.send(`{"type":"say","text":"${text}"}`);
  else conn.sio?.emit('say', { text });
}

/** Marks the window for the harness (which samples /proc at each mark) and returns its bounds. */
async function window(warmMs: number, windowMs: number): Promise<{ start: number; end: number }> {
  await sleep(warmMs);
  const start = clock();
  send({ reply: 'mark', mark: 'start' });
  await sleep(windowMs);
  const end = clock();
  send({ reply: 'mark', mark: 'end' });
  return { start, end };
}

async function idle(c: Extract<Command, { cmd: 'idle' }>): Promise<WindowResult> {
  onChat = () => {};
  await sleep(c.warmMs);
  const p0 = pongs;
  const k0 = closed;
  const w = await window(0, c.windowMs);
  const windowMs = w.end - w.start;
  return { windowMs, received: 0, perSec: 0, published: 0, expected: 0, arrived: 0, pongs: pongs - p0, closedDuring: closed - k0, latencyMs: summary(histogram()) };
}

async function echo(c: Extract<Command, { cmd: 'echo' }>): Promise<WindowResult> {
  const h = histogram();
  let running = true;
  let inWindow = false;
  let received = 0;
  onChat = (conn, at) => {
    const now = clock();
    if (inWindow) {
      received++;
      h.recordValue(Math.max(1, Math.round((now - at) * 1000)));
    }
    if (running) say(conn, makeText(now, c.bytes));
  };
  const k0 = closed;
  for (const conn of conns) for (let i = 0; i < c.inflight; i++) say(conn, makeText(clock(), c.bytes));
  await sleep(c.warmMs);
  inWindow = true;
  const w = await window(0, c.windowMs);
  inWindow = false;
  running = false;
  await sleep(c.drainMs);
  onChat = () => {};
  const windowMs = w.end - w.start;
  return { windowMs, received, perSec: (received * 1000) / windowMs, published: 0, expected: 0, arrived: 0, pongs: 0, closedDuring: closed - k0, latencyMs: summary(h) };
}

async function broadcast(c: Extract<Command, { cmd: 'broadcast' }>): Promise<WindowResult> {
  const h = histogram();
  const publishers = conns.slice(0, Math.max(1, c.publishers));
  const t0 = clock() + 20;
  const winStart = t0 + c.warmMs;
  const winEnd = winStart + c.windowMs;
  const interval = 1000 / c.rate;
  let received = 0;
  let arrived = 0;
  onChat = (_conn, at) => {
    const now = clock();
    if (now >= winStart && now < winEnd) received++;
    if (at >= winStart && at < winEnd) {
      arrived++;
      h.recordValue(Math.max(1, Math.round((now - at) * 1000)));
    }
  };
  const k0 = closed;
  const members = conns.length;
  let published = 0;
  let inWindowPublished = 0;
  let marked = false;
  // Open loop: message i is due at t0 + i * interval whatever happened before; a late timer sends every overdue one.
  const total = Math.ceil((c.warmMs + c.windowMs) / interval);
  while (published < total) {
    const now = clock();
    if (!marked && now >= winStart) {
      marked = true;
      send({ reply: 'mark', mark: 'start' });
    }
    while (published < total && t0 + published * interval <= now) {
      // The receiver reads the time back from the text: compare the same rounded number on both sides.
      const at = Number((t0 + published * interval).toFixed(3));
      say(publishers[published % publishers.length]!, makeText(at, c.bytes));
      if (at >= winStart && at < winEnd) inWindowPublished++;
      published++;
    }
    if (published < total) await sleep(Math.min(t0 + published * interval, marked ? Infinity : winStart) - clock());
  }
  await sleep(winEnd - clock());
  if (!marked) send({ reply: 'mark', mark: 'start' });
  send({ reply: 'mark', mark: 'end' });
  await sleep(c.drainMs);
  onChat = () => {};
  return {
    windowMs: c.windowMs,
    received,
    perSec: (received * 1000) / c.windowMs,
    published: inWindowPublished,
    expected: inWindowPublished * members,
    arrived,
    pongs: 0,
    closedDuring: closed - k0,
    latencyMs: summary(h),
  };
}

process.on('message', (command: Command) => {
  const run = async (): Promise<void> => {
    switch (command.cmd) {
      case 'connect':
        return send({ reply: 'connect', result: await connect(command) });
      case 'idle':
        return send({ reply: 'window', result: await idle(command) });
      case 'echo':
        return send({ reply: 'window', result: await echo(command) });
      case 'broadcast':
        return send({ reply: 'window', result: await broadcast(command) });
      case 'exit':
        for (const conn of conns) {
          conn.open = false;
          conn.ws?.terminate();
          conn.sio?.disconnect();
        }
        setTimeout(() => process.exit(0), 50);
        return;
    }
  };
  run().catch((err: unknown) => send({ reply: 'error', message: String(err) }));
});
// A harness that dies must not leave this process behind.
process.on('disconnect', () => process.exit(0));
