// Peer 2: Socket.IO 4 (websocket transport only) doing the service's job. The heartbeat is the
// Socket.IO way of the protocol's ping/pong: an emit with an acknowledgement per socket every
// PING_INTERVAL_MS (engine.io's own 25 s ping stays at its default).
// With REDIS_URL: several instances share rooms through `@socket.io/redis-streams-adapter` (its
// defaults), with connection state recovery on, Socket.IO's way of replaying what a client
// missed while it reconnected (the service's `since`). With recovery on, Socket.IO sends every
// `socket.emit` through the adapter (so that it gets an offset), which would make the per-socket
// heartbeat emit one XADD per socket per second; so in this mode the heartbeat is engine.io's own
// ping at PING_INTERVAL_MS, answered by socket.io-client itself, and never touches Redis.
// Many rooms (the service's `subscribe` and `say` with `room`): `subscribe` {room} joins one more
// room and is answered `subscribed` (past MAX_ROOMS_PER_CONNECTION, `refused`), and `say` with a
// `room` the socket is in publishes there; without `room` it goes to the room joined last.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { Server, type ServerOptions, type Socket } from 'socket.io';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const pingIntervalMs = Number(process.env.PING_INTERVAL_MS ?? 1000);
const pongTimeoutMs = Number(process.env.PONG_TIMEOUT_MS ?? 10_000);
const maxRooms = Number(process.env.MAX_ROOMS_PER_CONNECTION ?? 64);

interface State {
  room: string;
  name: string;
  lastPong: number;
}

const server = createServer((req, res) => {
  if (req.url === '/healthz') res.writeHead(200).end();
});
const redisUrl = process.env.REDIS_URL;
const scaleOut: Partial<ServerOptions> = {};
if (redisUrl) {
  const redis = createClient({ url: redisUrl });
  redis.on('error', (err: Error) => process.stderr.write(`redis: ${err.message}\n`));
  await redis.connect();
  scaleOut.adapter = createAdapter(redis);
  scaleOut.connectionStateRecovery = { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: true };
  scaleOut.pingInterval = pingIntervalMs;
  scaleOut.pingTimeout = pongTimeoutMs;
}
const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false, serveClient: false, ...scaleOut });
const sequences = new Map<string, number>();
const changed = new Set<string>();
let flushTimer: NodeJS.Timeout | undefined;

function presence(room: string): void {
  changed.add(room);
  flushTimer ??= setTimeout(() => {
    flushTimer = undefined;
    for (const r of changed) io.to(r).emit('presence', { room: r, members: io.sockets.adapter.rooms.get(r)?.size ?? 0 });
    changed.clear();
  }, 50);
}

function state(socket: Socket): State {
  return socket.data as State;
}

io.on('connection', (socket) => {
  const s: State = { room: 'lobby', name: `guest-${randomBytes(2).toString('hex')}`, lastPong: Date.now() };
  socket.data = s;
  void socket.join('lobby');
  socket.emit('welcome', { id: socket.id, room: 'lobby', name: s.name });
  presence('lobby');
  socket.on('join', (msg: { room?: unknown; name?: unknown }) => {
    if (typeof msg?.room !== 'string' || typeof msg.name !== 'string') return;
    // As the service's `join`: leave every room followed, then follow one.
    for (const room of [...socket.rooms]) {
      if (room === socket.id) continue;
      void socket.leave(room);
      presence(room);
    }
    s.room = msg.room;
    s.name = msg.name;
    void socket.join(msg.room);
    socket.emit('welcome', { id: socket.id, room: msg.room, name: msg.name });
    presence(msg.room);
  });
  socket.on('subscribe', (msg: { room?: unknown }) => {
    if (typeof msg?.room !== 'string') return;
    // socket.rooms holds the socket's own id room too; the cap counts the others, as the service does.
    if (!socket.rooms.has(msg.room) && socket.rooms.size - 1 >= maxRooms) return void socket.emit('refused', { reason: 'too_many_rooms', room: msg.room });
    void socket.join(msg.room);
    socket.emit('subscribed', { room: msg.room, last: String(sequences.get(msg.room) ?? 0) });
    presence(msg.room);
  });
  socket.on('say', (msg: { text?: unknown; room?: unknown }) => {
    if (typeof msg?.text !== 'string') return;
    const room = typeof msg.room === 'string' ? msg.room : s.room;
    if (!socket.rooms.has(room)) return void socket.emit('refused', { reason: 'not_subscribed', room });
    const seq = (sequences.get(room) ?? 0) + 1;
    sequences.set(room, seq);
    io.to(room).emit('message', { id: String(seq), room, from: s.name, text: msg.text, ts: Date.now() });
  });
  // Every room the socket was in changes size (still listed while disconnecting).
  socket.on('disconnecting', () => {
    for (const room of socket.rooms) if (room !== socket.id) presence(room);
  });
});

function heartbeat(): void {
  const now = Date.now();
  for (const socket of io.sockets.sockets.values()) {
    const s = state(socket);
    if (s.lastPong < now - pongTimeoutMs) {
      socket.disconnect(true);
      continue;
    }
    socket.emit('hb', () => {
      s.lastPong = Date.now();
    });
  }
}
if (!redisUrl) setInterval(heartbeat, pingIntervalMs);

server.listen(port, host, () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
