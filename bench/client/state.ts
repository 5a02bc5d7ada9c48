// The load generator's connections and counters, and the byte-level reading of incoming frames
// (hot path: a broadcast to 10k sockets is read here 10k times, so no JSON.parse).
import { performance } from 'node:perf_hooks';
import type { Socket } from 'socket.io-client';
import type { WebSocket } from 'ws';
import type { Kind, Reply } from '../lib/types.ts';

export const clock = (): number => performance.timeOrigin + performance.now();
export const send = (reply: Reply): void => void process.send?.(reply);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export interface Conn {
  index: number;
  ws?: WebSocket;
  sio?: Socket;
  welcomes: number;
  open: boolean;
  /** The instance this connection went to (scale-out scenarios). */
  instance?: number;
  /** The id of the last chat message received, when ids are tracked. */
  lastId?: string;
}

type ChatHandler = (conn: Conn, scheduledAt: number) => void;

export const state = {
  conns: [] as Conn[],
  kind: 'ws' as Kind,
  pongs: 0,
  closed: 0,
  onChat: (() => {}) as ChatHandler,
  joinWaiters: new Map<Conn, () => void>(),
  /**
   * The room a waiter's join asked for, when it told: its welcome ends the wait. Otherwise the wait
   * ends at the second welcome (the lobby's, then the join's); but with Redis a join that arrives
   * before the lobby's welcome is sent supersedes it, and that welcome never comes.
   */
  joinRooms: new Map<Conn, string>(),
  trackIds: false,
  /** Frames other than chat, welcome and ping (e.g. the service's `history`), when listened to. */
  onOther: undefined as ((conn: Conn, data: Buffer) => void) | undefined,
  /** The answer to a join or subscribe (`error`: the refusal's reason), while a `subscribe` command waits for them. */
  onAck: undefined as ((conn: Conn, room: string, error?: string) => void) | undefined,
};

const TEXT_MARK = Buffer.from('"text":"T');
const PING = 0x70; // 'p'
const MSG = 0x6d; // 'm', at index 9 of '{"type":"message"...'
const WEL = 0x77; // 'w', of welcome
const SUB = 0x73; // 's', of subscribed
const ERR = 0x65; // 'e', of error

/** The scheduled send time carried at the start of the text: "T<ms since epoch>|...". */
function timeInFrame(data: Buffer): number {
  const at = data.indexOf(TEXT_MARK);
  if (at < 0) return Number.NaN;
  const start = at + TEXT_MARK.length;
  const end = data.indexOf(0x7c /* | */, start);
  return Number(data.toString('latin1', start, end));
}

const ID_MARK = Buffer.from('"id":"');

function idInFrame(data: Buffer): string | undefined {
  const at = data.indexOf(ID_MARK);
  if (at < 0) return undefined;
  const start = at + ID_MARK.length;
  return data.toString('latin1', start, data.indexOf(0x22 /* " */, start));
}

export function timeInText(text: string): number {
  return Number(text.slice(1, text.indexOf('|')));
}

export function makeText(at: number, bytes: number): string {
  const head = `T${at.toFixed(3)}|`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

const ROOM_MARK = Buffer.from('"room":"');

/** The room of a welcome frame (rare: once per join, so a plain search). */
export function roomInFrame(data: Buffer): string | undefined {
  const at = data.indexOf(ROOM_MARK);
  if (at < 0) return undefined;
  const start = at + ROOM_MARK.length;
  return data.toString('utf8', start, data.indexOf(0x22 /* " */, start));
}

export function welcomed(conn: Conn, room?: string): void {
  conn.welcomes++;
  const want = state.joinRooms.get(conn);
  if (want !== undefined ? room === want : conn.welcomes >= 2) state.joinWaiters.get(conn)?.();
}

export function onWsMessage(this: WebSocket & { conn: Conn }, data: Buffer, isBinary: boolean): void {
  if (isBinary) return;
  if (data.length === 4 && data[0] === PING) {
    this.send('pong');
    state.pongs++;
    return;
  }
  const tag = data[9];
  if (tag === MSG) {
    if (state.trackIds) this.conn.lastId = idInFrame(data);
    state.onChat(this.conn, timeInFrame(data));
  } else if (tag === WEL) {
    welcomed(this.conn, state.joinRooms.size > 0 ? roomInFrame(data) : undefined);
    if (state.onAck) ack(this.conn, data);
  } else if (state.onAck && (tag === SUB || tag === ERR)) ack(this.conn, data);
  else state.onOther?.(this.conn, data);
}

/** A welcome, subscribed or error frame while subscribing: rare (one per subscribe), so parsed. */
function ack(conn: Conn, data: Buffer): void {
  const frame = JSON.parse(data.toString()) as { type: string; room?: string | null; reason?: string };
  if (typeof frame.room !== 'string') return;
  state.onAck?.(conn, frame.room, frame.type === 'error' ? (frame.reason ?? 'error') : undefined);
}

export function onWsClose(this: WebSocket & { conn: Conn }): void {
  if (this.conn.open) state.closed++;
  this.conn.open = false;
}

/** A message into one of the rooms the connection follows (the many-rooms protocol's `say` with `room`). */
export function sayTo(conn: Conn, room: string, text: string): void {
  if (!conn.open) return;
  if (conn.ws) conn.ws.send(`{"type":"say","room":"${room}","text":"${text}"}`);
  else conn.sio?.emit('say', { room, text });
}

export function say(conn: Conn, text: string): void {
  if (!conn.open) return;
  if (conn.ws) conn.ws.send(`{"type":"say","text":"${text}"}`);
  else conn.sio?.emit('say', { text });
}
