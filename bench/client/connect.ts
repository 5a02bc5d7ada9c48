// Opening the load generator's connections: `ws` (the service and the bare ws peer share the
// protocol) or socket.io-client, a bounded number at a time, each bounded in time.
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import type { Command, ConnectResult } from '../lib/types.ts';
import { onWsClose, onWsMessage, send, state, timeInText, welcomed, type Conn } from './state.ts';

function ignore(): void {}

interface Placement {
  instance?: number | undefined;
  /** Sent as `Authorization: Bearer` on the upgrade. */
  token?: string | undefined;
  /** Once open, join the lobby again asking for the messages after this id (the service's replay). */
  since?: string | undefined;
}

export function connectOne(url: string, index: number, source: string, ownRoom: boolean, timeoutMs: number, placement: Placement = {}): Promise<string | undefined> {
  const conn: Conn = { index, welcomes: 0, open: false };
  if (placement.instance !== undefined) conn.instance = placement.instance;
  return new Promise((resolve) => {
    let done = false;
    const finish = (err?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      state.joinWaiters.delete(conn);
      state.joinRooms.delete(conn);
      if (!err) {
        conn.open = true;
        state.conns.push(conn);
      } else {
        conn.ws?.terminate();
        conn.sio?.disconnect();
      }
      resolve(err);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const joined = (): void => {
      if (placement.since !== undefined) conn.ws?.send(JSON.stringify({ type: 'join', room: 'lobby', name: `b${index}`, since: placement.since }));
      if (!ownRoom) return finish();
      const join = { type: 'join', room: `r${index}`, name: `b${index}` };
      state.joinRooms.set(conn, join.room);
      state.joinWaiters.set(conn, () => finish());
      if (conn.ws) conn.ws.send(JSON.stringify(join));
      else conn.sio?.emit('join', join);
    };
    if (state.kind === 'ws') {
      const headers = placement.token ? { authorization: `Bearer ${placement.token}` } : undefined;
      const ws = new WebSocket(url, { localAddress: source, perMessageDeflate: false, ...(headers ? { headers } : {}) }) as WebSocket & { conn: Conn };
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
        state.pongs++;
      });
      s.on('message', (m: { text: string }) => state.onChat(conn, timeInText(m.text)));
      s.on('welcome', (m: { room?: string }) => {
        welcomed(conn, typeof m?.room === 'string' ? m.room : undefined);
        if (typeof m?.room === 'string') state.onAck?.(conn, m.room);
      });
      // The many-rooms scenario's answers (bench/peers/socketio-server.ts).
      s.on('subscribed', (m: { room: string }) => state.onAck?.(conn, m.room));
      s.on('refused', (m: { room: string; reason: string }) => state.onAck?.(conn, m.room, m.reason));
      s.on('disconnect', () => {
        if (conn.open) state.closed++;
        conn.open = false;
      });
      s.once('connect_error', (e: Error) => finish(e.message));
      s.once('connect', joined);
    }
  });
}

export async function connect(c: Extract<Command, { cmd: 'connect' }>): Promise<ConnectResult> {
  state.kind = c.kind;
  state.joinWaiters = new Map();
  state.joinRooms = new Map();
  if (c.trackIds) state.trackIds = true;
  const from = c.indexFrom ?? 0;
  const before = state.conns.length;
  if (c.marks) send({ reply: 'mark', mark: 'start' });
  const started = Date.now();
  // Bounded: every socket gets timeoutMs, the whole batch 20 ms a socket (at least 60 s).
  const deadline = started + Math.max(60_000, c.n * 20);
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < c.n && Date.now() < deadline) {
      const i = next++;
      const err = await connectOne(c.url, from + i, c.sources[i % c.sources.length]!, c.ownRooms, c.timeoutMs, { instance: c.instance, token: c.tokens?.[i] });
      if (err) {
        failed++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.n) }, worker));
  const ms = Date.now() - started;
  if (c.marks) send({ reply: 'mark', mark: 'end' });
  state.conns.sort((a, b) => a.index - b.index);
  return { connected: state.conns.length - before, failed, ms, ...(firstError ? { firstError } : {}) };
}
