// The memory attacks of issue #22 from a worker thread, so that thousands of attacking sockets do
// not delay the witness on the test's main thread (its echo latency is measured): `holders`, each
// socket starting a message it never finishes; `stalled`, sockets that never read but answer
// pings blindly while a blaster of their own fills their room. Each reports how its sockets ended:
// HTTP status of a refused upgrade, or the close code seen (1006 for a reset).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { tcpSocketOf } from '../../src/realtime/ws-internals.ts';
import { within } from './bounded.ts';
import { frame, OP } from './hostile.ts';

export interface AttackOptions {
  kind: 'holders' | 'stalled';
  wsUrl: string;
  sockets: number;
  /** holders: fragments per message, bytes each (default 64 of 1024: 64 KiB). */
  fragments?: number;
  each?: number;
}

/** How the sockets ended up: `open`, `http <status>`, or `close <code>`, with counts. */
export type Outcomes = Record<string, number>;

export interface Attack {
  /** Sockets that connected (the rest were refused). */
  readonly connected: number;
  /** How every socket stands now. */
  outcomes(): Promise<Outcomes>;
  /** Ends every socket and the worker. */
  stop(): Promise<void>;
}

type Reply = { type: 'connected'; count: number } | { type: 'outcomes'; outcomes: Outcomes } | { type: 'error'; message: string };

export async function startAttack(options: AttackOptions): Promise<Attack> {
  const worker = new Worker(new URL(import.meta.url), { workerData: options });
  const replies: Reply[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  worker.on('message', (reply: Reply) => (replies.push(reply), wake?.()));
  worker.on('error', (err) => ((failure = err), wake?.()));
  async function next<T extends Reply['type']>(type: T, timeoutMs: number): Promise<Extract<Reply, { type: T }>> {
    const wait = async (): Promise<Extract<Reply, { type: T }>> => {
      for (;;) {
        if (failure) throw failure;
        const reply = replies.shift();
        if (reply?.type === 'error') throw new Error(`attack worker: ${reply.message}`);
        if (reply?.type === type) return reply as Extract<Reply, { type: T }>;
        if (!reply) await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    return within(wait(), timeoutMs, `the attack worker's '${type}'`);
  }
  const { count } = await next('connected', 60_000);
  return {
    connected: count,
    async outcomes() {
      worker.postMessage('outcomes');
      return (await next('outcomes', 10_000)).outcomes;
    },
    async stop() {
      worker.postMessage('stop');
      await within(new Promise((resolve) => worker.once('exit', resolve)), 15_000, 'the attack worker to exit');
    },
  };
}

function connect(wsUrl: string, ended: Map<WebSocket, string>): Promise<WebSocket | string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, { autoPong: false });
    ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode ?? 0}`));
    ws.once('error', () => resolve('http error'));
    ws.once('close', (code) => ended.set(ws, `close ${code}`));
    ws.on('message', (data: Buffer) => {
      if (data.subarray(0, 17).toString('latin1') === '{"type":"welcome"') resolve(ws);
    });
  });
}

async function run(options: AttackOptions, port: NonNullable<typeof parentPort>): Promise<void> {
  const ended = new Map<WebSocket, string>();
  const refused: string[] = [];
  const sockets: WebSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  let blaster: WebSocket | undefined;
  const fragments = options.fragments ?? 64;
  const parts = Array.from({ length: fragments }, (_, i) => frame(i === 0 ? OP.text : OP.continuation, Buffer.alloc(options.each ?? 1024, 0x61), { fin: false }));
  for (let i = 0; i < options.sockets; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, options.sockets - i) }, () => connect(options.wsUrl, ended)));
    for (const ws of batch) {
      if (typeof ws === 'string') {
        refused.push(ws);
        continue;
      }
      sockets.push(ws);
      ws.on('error', () => {});
      const tcp = tcpSocketOf(ws);
      if (options.kind === 'holders') for (const p of parts) tcp?.write(p);
      else tcp?.pause();
    }
  }
  if (options.kind === 'stalled') {
    // Blind pongs: every ping "answered" without a byte read, so only the slow-consumer rules can close them.
    timers.push(setInterval(() => sockets.forEach((ws) => ws.readyState === WebSocket.OPEN && ws.send('pong')), 500));
    const b = await connect(options.wsUrl, new Map());
    if (typeof b === 'string') throw new Error(`the blaster was refused: ${b}`);
    blaster = b;
    b.on('message', (data: Buffer) => data.toString() === 'ping' && b.send('pong'));
    const text = JSON.stringify({ type: 'say', text: 'x'.repeat(1990) });
    // 18 a second with its pongs: inside RATE_LIMIT_PER_SEC (20).
    timers.push(setInterval(() => b.readyState === WebSocket.OPEN && b.send(text), 55));
  }
  port.postMessage({ type: 'connected', count: sockets.length } satisfies Reply);
  port.on('message', (command: string) => {
    if (command === 'outcomes') {
      const outcomes: Outcomes = {};
      const add = (key: string): void => void (outcomes[key] = (outcomes[key] ?? 0) + 1);
      refused.forEach(add);
      for (const ws of sockets) add(ended.get(ws) ?? (ws.readyState === WebSocket.OPEN ? 'open' : 'closing'));
      port.postMessage({ type: 'outcomes', outcomes } satisfies Reply);
      return;
    }
    timers.forEach(clearInterval);
    blaster?.terminate();
    for (const ws of sockets) ws.terminate();
    port.close();
  });
}

if (!isMainThread && parentPort && (workerData as Partial<AttackOptions> | undefined)?.kind) {
  const port = parentPort;
  run(workerData as AttackOptions, port).catch((err: unknown) => port.postMessage({ type: 'error', message: String(err) } satisfies Reply));
}
