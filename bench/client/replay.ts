// Replay after reconnect: every client but the publisher (conns[0]) drops its connection, the
// publisher sends `missed` messages, then each client reconnects to another instance asking for
// what it missed (the service: `join` with `since` = its last id; Socket.IO: connection state
// recovery with its session id and offset). Measured: the time from the first reconnect until
// every client has received every missed message, bounded by timeoutMs.
import { io, type Socket } from 'socket.io-client';
import type { Command, ReplayResult } from '../lib/types.ts';
import { connectOne } from './connect.ts';
import { clock, makeText, say, sleep, state, timeInText, type Conn } from './state.ts';

/** Socket.IO's session fields, private in socket.io-client's types: what recovery sends back. */
interface Recoverable {
  _pid?: string;
  _lastOffset?: string;
}

function drop(conn: Conn): void {
  conn.open = false;
  // An abrupt close (no goodbye): Socket.IO keeps the session only for a transport close.
  if (conn.ws) conn.ws.terminate();
  else conn.sio?.io.engine.close();
}

/** Counts, per connection, the messages stamped at or after `from`; done when `clients` have `count`. */
function tally(from: number, count: number, clients: number): { got: Map<number, number>; done: Promise<void>; add: (conn: Conn, at: number) => void } {
  const got = new Map<number, number>();
  let remaining = clients;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const add = (conn: Conn, at: number): void => {
    if (!(at >= from)) return;
    const n = (got.get(conn.index) ?? 0) + 1;
    got.set(conn.index, n);
    if (n === count && --remaining === 0) finish();
  };
  return { got, done, add };
}

function rejoinSocketIo(url: string, old: Conn, source: string, timeoutMs: number, onRecovered: () => void): Promise<string | undefined> {
  const was = old.sio as unknown as Recoverable;
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, autoConnect: false, localAddress: source, timeout: timeoutMs } as Parameters<typeof io>[1]);
  // What socket.io-client itself sends on a reconnection: the session id and the last offset seen.
  Object.assign(s as unknown as Recoverable, { _pid: was._pid, _lastOffset: was._lastOffset });
  const conn: Conn = { index: old.index, welcomes: 0, open: false, sio: s };
  s.on('message', (m: { text: string }) => state.onChat(conn, timeInText(m.text)));
  s.on('hb', (ack?: () => void) => ack?.());
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    s.once('connect_error', (e: Error) => {
      clearTimeout(timer);
      resolve(e.message);
    });
    s.once('connect', () => {
      clearTimeout(timer);
      if ((s as Socket).recovered) onRecovered();
      conn.open = true;
      state.conns.push(conn);
      resolve(undefined);
    });
    s.connect();
  });
}

export async function replay(c: Extract<Command, { cmd: 'replay' }>): Promise<ReplayResult> {
  const [publisher, ...clients] = state.conns;
  if (!publisher || clients.length === 0) throw new Error('replay needs a publisher and clients');
  for (const conn of clients) drop(conn);
  // Let the servers see the closes (Socket.IO stores each session when it does).
  await sleep(c.settleMs);
  state.conns = [publisher];
  // Stamps 1 ms apart from now on: unique, and later than every message the clients have seen.
  const start = Math.ceil(clock());
  const own = tally(start, c.missed, 1);
  state.onChat = (conn, at) => {
    if (conn === publisher) own.add(conn, at);
  };
  for (let i = 0; i < c.missed; i++) {
    say(publisher, makeText(start + i, 64));
    await sleep(1000 / c.rate);
  }
  // Every missed message is stored once the publisher has its own copy of the last one back.
  const stored = await Promise.race([own.done.then(() => true), sleep(c.timeoutMs).then(() => false)]);
  if (!stored) throw new Error(`the publisher did not get its ${c.missed} messages back within ${c.timeoutMs} ms`);

  const catchUp = tally(start, c.missed, clients.length);
  state.onChat = catchUp.add;
  let recovered = 0;
  state.onOther = (_conn, data) => {
    if (data.includes('"type":"history"') && data.includes('"truncated":false')) recovered++;
  };
  const began = clock();
  const deadline = began + c.timeoutMs;
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < clients.length && clock() < deadline) {
      const old = clients[next]!;
      const source = c.sources[next++ % c.sources.length]!;
      // Each client comes back on the next instance, never the one it left.
      const other = ((old.instance ?? 0) + 1) % c.urls.length;
      const err = old.sio
        ? await rejoinSocketIo(c.urls[other]!, old, source, c.timeoutMs, () => recovered++)
        : await connectOne(c.urls[other]!, old.index, source, false, c.timeoutMs, { instance: other, since: old.lastId ?? '0' });
      if (err) {
        failed++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, clients.length) }, worker));
  await Promise.race([catchUp.done, sleep(deadline - clock())]);
  const ms = clock() - began;
  state.onChat = () => {};
  state.onOther = undefined;
  const caughtUp = [...catchUp.got.values()].filter((n) => n >= c.missed).length;
  return { clients: clients.length, missed: c.missed, caughtUp, recovered, ms, failed, ...(firstError ? { firstError } : {}) };
}
