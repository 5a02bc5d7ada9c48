// Many rooms per socket: connection i follows rooms (i + k * stride) % rooms, stride = rooms /
// perConn (10 of 100: the rooms with i's last digit), so every room has N / 10 followers and
// connections 0..stride-1 between them follow every room. Those few publish: message m goes to
// room m % rooms from connection m % stride, a follower of that room, which keeps each sender at
// rate / stride messages/s (10/s at 100/s), under the service's default rate limit (20/s).
import type { Command, SubscribeResult, WindowResult } from '../lib/types.ts';
import { clock, makeText, sayTo, sleep, state, type Conn } from './state.ts';
import { publishOpenLoop } from './open-loop.ts';
import { histogram, summary } from './windows.ts';

export const roomName = (r: number): string => `room-${r}`;

/**
 * The longest a receiver stops reading (window and warm-up included). Both servers close a socket
 * whose oldest unanswered ping is 10 s old; after the pause the receivers need a second or two to
 * read their backlog and answer, so 6 s leaves room.
 */
export const PAUSE_MAX_MS = 6_000;

/** The k-th room of connection `index`. */
export function roomOf(index: number, k: number, rooms: number, perConn: number): number {
  return (index + k * Math.floor(rooms / perConn)) % rooms;
}

/** Followers per room, from the answers of every `subscribe` command so far (reported, and checked by the harness). */
const followers = new Map<string, number>();

interface Op {
  conn: Conn;
  index: number;
  room: string;
  join: boolean;
}

export async function subscribeRooms(c: Extract<Command, { cmd: 'subscribe' }>): Promise<SubscribeResult> {
  const conns = state.conns.filter((conn) => conn.open);
  const ops: Op[] = [];
  for (const conn of conns) {
    for (let k = c.kFrom; k < c.kTo; k++) {
      const index = roomOf(conn.index, k, c.rooms, c.perConn);
      ops.push({ conn, index, room: roomName(index), join: k === 0 });
    }
  }
  // Room by room: each presence flush (every 50 ms in both servers) then tells the members of a
  // room or two, not of all 100 (which would cost the servers more than the subscribes).
  ops.sort((a, b) => a.index - b.index || a.conn.index - b.conn.index);
  const waiting = new Map<Conn, Map<string, (error?: string) => void>>();
  state.onAck = (conn, room, error) => waiting.get(conn)?.get(room)?.(error);
  const started = clock();
  // Bounded: each answer within timeoutMs, the whole command 2 ms a subscribe (at least 60 s).
  const deadline = started + Math.max(60_000, ops.length * 2);
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const one = (op: Op): Promise<string | undefined> =>
    new Promise((resolve) => {
      let mine = waiting.get(op.conn);
      if (!mine) waiting.set(op.conn, (mine = new Map()));
      const done = (error?: string): void => {
        clearTimeout(timer);
        mine.delete(op.room);
        resolve(error);
      };
      const timer = setTimeout(() => done('timeout'), c.timeoutMs);
      mine.set(op.room, done);
      if (!op.conn.open) return done('closed');
      if (op.conn.ws) op.conn.ws.send(JSON.stringify(op.join ? { type: 'join', room: op.room, name: `b${op.conn.index}` } : { type: 'subscribe', room: op.room }));
      else if (op.join) op.conn.sio?.emit('join', { room: op.room, name: `b${op.conn.index}` });
      else op.conn.sio?.emit('subscribe', { room: op.room });
    });
  const worker = async (): Promise<void> => {
    while (next < ops.length && clock() < deadline) {
      const op = ops[next++]!;
      const err = await one(op);
      if (err) {
        failed++;
        firstError ??= err;
        continue;
      }
      ok++;
      followers.set(op.room, (followers.get(op.room) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, ops.length) }, worker));
  state.onAck = undefined;
  failed += ops.length - next;
  return { ok, failed, ms: clock() - started, followers: Object.fromEntries(followers), ...(firstError ? { firstError } : {}) };
}

/** The parts of a `ws` WebSocket this pauses: its TCP socket's libuv handle is private. */
interface Readable {
  pause(): void;
  resume(): void;
  _socket?: { _handle?: { readStop(): number; readStart(): number } | null };
}

/**
 * Stops (or restarts) reading a connection's socket, so that what the server sends waits in the
 * kernel. `ws`'s pause() alone stops its events but the stream still reads into its buffer (64 KB,
 * more than the window brings), a read system call and a wake-up per frame, the very cost the
 * pause is for; so the libuv handle stops reading too (Node then leaves it to whoever stopped it).
 */
function reading(conn: Conn, on: boolean): void {
  // socket.io-client's engine runs on a `ws` WebSocket in Node (engine.io-client's websocket.node).
  const ws = (conn.ws as unknown as Readable | undefined) ?? (conn.sio?.io.engine as unknown as { transport?: { ws?: Readable } } | undefined)?.transport?.ws;
  const handle = ws?._socket?._handle;
  if (on) {
    handle?.readStart();
    ws?.resume();
  } else {
    ws?.pause();
    handle?.readStop();
  }
}

/**
 * Open loop as in `broadcast`: message m is due at t0 + m / rate whatever happened before.
 * readEvery > 1: only the receivers with floor(index / stride) % readEvery === 0 (some of every room)
 * read during the window and are measured; the others stop reading until it ends, so that the
 * server does all its work while the load generator reads a tenth of it (on two cores it cannot
 * read 100k deliveries a second and would set the latency itself). They are paused for less than
 * the servers' pong timeout (10 s), and read their backlog afterwards (not measured).
 */
export async function roomsWindow(c: Extract<Command, { cmd: 'rooms' }>): Promise<WindowResult> {
  const h = histogram();
  const stride = Math.floor(c.rooms / c.perConn);
  const byIndex = new Map(state.conns.map((conn) => [conn.index, conn]));
  const senders = Array.from({ length: stride }, (_, i) => byIndex.get(i));
  if (senders.some((s) => !s?.open)) throw new Error(`rooms: connections 0..${stride - 1} (the senders) are not all open`);
  const measured = (conn: Conn): boolean => Math.floor(conn.index / stride) % c.readEvery === 0;
  // The deliveries each room's message owes the measured receivers (every subscribe was answered: the harness checks).
  const owed = new Map<string, number>();
  for (const conn of state.conns) {
    if (!conn.open || !measured(conn)) continue;
    for (let k = 0; k < c.perConn; k++) {
      const room = roomName(roomOf(conn.index, k, c.rooms, c.perConn));
      owed.set(room, (owed.get(room) ?? 0) + 1);
    }
  }
  const paused = state.conns.filter((conn) => conn.open && !measured(conn));
  if (paused.length && c.warmMs + c.windowMs + 20 > PAUSE_MAX_MS) throw new Error(`rooms: warm-up and window (${c.warmMs + c.windowMs} ms) longer than a receiver may pause (${PAUSE_MAX_MS} ms)`);
  for (const conn of paused) reading(conn, false);
  const pausedAt = clock();
  const t0 = pausedAt + 20;
  const winStart = t0 + c.warmMs;
  const winEnd = winStart + c.windowMs;
  const interval = 1000 / c.rate;
  let received = 0;
  let arrived = 0;
  let expected = 0;
  let allArrived: () => void = () => {};
  const drained = new Promise<void>((r) => (allArrived = r));
  let publishing = true;
  state.onChat = (conn, at) => {
    if (!measured(conn)) return;
    const now = clock();
    if (now >= winStart && now < winEnd) received++;
    if (at >= winStart && at < winEnd) {
      arrived++;
      h.recordValue(Math.max(1, Math.round((now - at) * 1000)));
      if (!publishing && arrived >= expected) allArrived();
    }
  };
  const k0 = state.closed;
  const total = Math.ceil((c.warmMs + c.windowMs) / interval);
  const inWindowPublished = await publishOpenLoop({ t0, interval, total, winStart, winEnd }, (i, at) => {
    const room = roomName(i % c.rooms);
    sayTo(senders[i % stride]!, room, makeText(at, c.bytes));
    if (at >= winStart && at < winEnd) expected += owed.get(room) ?? 0;
  });
  // A server that fell behind is given up to drainMs to deliver the window's messages (the
  // latency of a late one counts); one that kept up ends the drain as its last delivery arrives.
  publishing = false;
  // The paused receivers read again once the measured ones have their deliveries, or at the
  // pause's bound: their backlog would keep the load generator from the measured ones.
  if (arrived < expected && paused.length) await Promise.race([drained, sleep(pausedAt + PAUSE_MAX_MS - clock())]);
  for (const conn of paused) reading(conn, true);
  if (arrived < expected) await Promise.race([drained, sleep(winEnd + c.drainMs - clock())]);
  state.onChat = () => {};
  return {
    windowMs: c.windowMs,
    received,
    perSec: (received * 1000) / c.windowMs,
    published: inWindowPublished,
    expected,
    arrived,
    pongs: 0,
    closedDuring: state.closed - k0,
    latencyMs: summary(h),
  };
}
