// A replay storm from a worker thread: many sockets rejoining a room of long messages with an old
// `since`, each as fast as its rate limit allows, every byte each one sends and receives counted
// at the WebSocket frame level (header included). In a worker, so that the attackers' own work
// (200 sockets receiving megabytes a second) does not delay the witness on the test's main thread,
// whose echo latency is part of what is measured. The server runs in a process of its own.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { within } from './bounded.ts';

export interface StormOptions {
  wsUrl: string;
  sockets: number;
  /** The room rejoined, and the `since` every join carries. */
  room: string;
  since: string;
  /**
   * Milliseconds between two joins of one socket. With the text `pong` a second that answers the
   * server's ping, 55 ms keeps a socket at 19 frames a second, inside RATE_LIMIT_PER_SEC (20).
   */
  everyMs?: number;
}

/** What one socket sent and got in the storm window, in bytes on the wire. */
export interface Tally {
  sent: number;
  got: number;
  joins: number;
  /** `history` frames got: replays answered. */
  replays: number;
  /** The close, when the server closed the socket. */
  close?: { code: number; reason: string };
}

export interface Storm {
  /** Sockets connected (each got its `welcome`). */
  readonly connected: number;
  /** Every socket joins once with `since` (a reconnect wave): bytes got, and how long it took. */
  wave(): Promise<{ got: number; ms: number }>;
  /** Every socket rejoins as fast as allowed for `seconds`; what each sent and got meanwhile. */
  storm(seconds: number): Promise<Tally[]>;
  stop(): Promise<void>;
}

type Command = { type: 'wave' } | { type: 'storm'; seconds: number } | { type: 'stop' };
type Reply = { type: 'connected'; count: number } | { type: 'waved'; got: number; ms: number } | { type: 'stormed'; tallies: Tally[] } | { type: 'error'; message: string };

/** Frame header bytes: 2, plus the extended length, plus the mask key a client adds. */
function header(length: number, masked: boolean): number {
  return 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + (masked ? 4 : 0);
}

/** Starts the worker and connects every socket (bounded: 30 s). */
export async function startStorm(options: StormOptions): Promise<Storm> {
  const worker = new Worker(new URL(import.meta.url), { workerData: options });
  const replies: Reply[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  worker.on('message', (reply: Reply) => {
    replies.push(reply);
    wake?.();
  });
  worker.on('error', (err) => {
    failure = err;
    wake?.();
  });
  async function next<T extends Reply['type']>(type: T, timeoutMs: number): Promise<Extract<Reply, { type: T }>> {
    const wait = async (): Promise<Extract<Reply, { type: T }>> => {
      for (;;) {
        if (failure) throw failure;
        const reply = replies.shift();
        if (reply?.type === 'error') throw new Error(`storm worker: ${reply.message}`);
        if (reply?.type === type) return reply as Extract<Reply, { type: T }>;
        if (!reply) await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    return within(wait(), timeoutMs, `the storm worker's '${type}'`);
  }
  const send = (command: Command): void => worker.postMessage(command);
  const { count } = await next('connected', 30_000);
  return {
    connected: count,
    async wave() {
      send({ type: 'wave' });
      const { got, ms } = await next('waved', 30_000);
      return { got, ms };
    },
    async storm(seconds) {
      send({ type: 'storm', seconds });
      return (await next('stormed', seconds * 1000 + 15_000)).tallies;
    },
    async stop() {
      send({ type: 'stop' });
      await within(new Promise((resolve) => worker.once('exit', resolve)), 10_000, 'the storm worker to exit');
    },
  };
}

interface Attacker {
  ws: WebSocket;
  tally: Tally;
  /** Messages of the room got since the last join's `history`, and how many that one announced. */
  counting: boolean;
  got: number;
  expected: number;
  onWave?: () => void;
}

async function run(options: StormOptions, port: NonNullable<typeof parentPort>): Promise<void> {
  const { wsUrl, sockets, room, since } = options;
  const everyMs = options.everyMs ?? 55;
  const join = JSON.stringify({ type: 'join', room, name: 'stormer', since });
  const attackers: Attacker[] = [];
  const newTally = (): Tally => ({ sent: 0, got: 0, joins: 0, replays: 0 });

  function send(a: Attacker, text: string): boolean {
    if (a.ws.readyState !== WebSocket.OPEN) return false;
    a.ws.send(text);
    a.tally.sent += text.length + header(text.length, true);
    return true;
  }

  function connect(): Promise<Attacker> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      const a: Attacker = { ws, tally: newTally(), counting: false, got: 0, expected: 0 };
      ws.on('message', (data: Buffer) => {
        a.tally.got += data.length + header(data.length, false);
        const head = data.subarray(0, 24).toString('latin1');
        if (head === 'ping') return void send(a, 'pong');
        if (head.startsWith('{"type":"welcome"') && !a.counting) return resolve(a);
        if (head.startsWith('{"type":"history"')) {
          a.tally.replays++;
          a.got = 0;
          a.expected = Number((JSON.parse(data.toString()) as { count?: number }).count ?? 0);
          if (a.expected === 0) a.onWave?.();
        } else if (head.startsWith('{"type":"message"') && ++a.got === a.expected) a.onWave?.();
      });
      ws.on('close', (code, reason) => (a.tally.close ??= { code, reason: reason.toString() }));
      ws.on('error', reject);
    });
  }

  for (let i = 0; i < sockets; i += 20) attackers.push(...(await Promise.all(Array.from({ length: Math.min(20, sockets - i) }, connect))));
  for (const a of attackers) a.ws.removeAllListeners('error').on('error', () => {});
  port.postMessage({ type: 'connected', count: attackers.length } satisfies Reply);

  port.on('message', (command: Command) => {
    void (async () => {
      if (command.type === 'wave') {
        const started = performance.now();
        for (const a of attackers) a.tally = newTally();
        await Promise.all(
          attackers.map(
            (a) =>
              new Promise<void>((resolve) => {
                a.counting = true;
                a.onWave = resolve;
                if (!send(a, join)) resolve();
              }),
          ),
        );
        for (const a of attackers) a.onWave = undefined;
        port.postMessage({ type: 'waved', got: attackers.reduce((sum, a) => sum + a.tally.got, 0), ms: performance.now() - started } satisfies Reply);
      } else if (command.type === 'storm') {
        for (const a of attackers) a.tally = newTally();
        // Joins are sent by the clock, not by the timer's count: a late timer (a busy machine)
        // catches up, a few at a time, within the rate limit's 2 s burst.
        const started = performance.now();
        const timer = setInterval(() => {
          const due = Math.floor((performance.now() - started) / everyMs);
          for (const a of attackers) for (let k = 0; k < 4 && a.tally.joins < due && send(a, join); k++) a.tally.joins++;
        }, everyMs);
        await new Promise((resolve) => setTimeout(resolve, command.seconds * 1000));
        clearInterval(timer);
        // The window is closed: what arrives from now on is not counted.
        const tallies = attackers.map((a) => ({ ...a.tally }));
        port.postMessage({ type: 'stormed', tallies } satisfies Reply);
      } else {
        for (const a of attackers) a.ws.terminate();
        port.close();
      }
    })().catch((err: unknown) => port.postMessage({ type: 'error', message: String(err) } satisfies Reply));
  });
}

if (!isMainThread && parentPort && (workerData as Partial<StormOptions> | undefined)?.wsUrl) {
  const port = parentPort;
  run(workerData as StormOptions, port).catch((err: unknown) => port.postMessage({ type: 'error', message: String(err) } satisfies Reply));
}
