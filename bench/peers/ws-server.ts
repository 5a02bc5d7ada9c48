// Peer 1: a bare `ws` server doing the service's job with nothing else on: no logging, no
// metrics, no rate limiting, no validation beyond JSON.parse. node:http + WebSocketServer
// ({ noServer }), perMessageDeflate off, a plain loop over the clients for ping and broadcast.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const pingIntervalMs = Number(process.env.PING_INTERVAL_MS ?? 1000);
const pongTimeoutMs = Number(process.env.PONG_TIMEOUT_MS ?? 10_000);

interface Peer {
  ws: WebSocket;
  room: string;
  name: string;
  lastPong: number;
}

const rooms = new Map<string, Set<Peer>>();
const peers = new Map<WebSocket, Peer>();
const sequences = new Map<string, number>();
const changed = new Set<string>();
let flushTimer: NodeJS.Timeout | undefined;

function flushPresence(): void {
  flushTimer = undefined;
  for (const room of changed) {
    const members = rooms.get(room);
    if (!members) continue;
    const text = JSON.stringify({ type: 'presence', room, members: members.size });
    for (const p of members) if (p.ws.readyState === WebSocket.OPEN) p.ws.send(text);
  }
  changed.clear();
}

function presence(room: string): void {
  changed.add(room);
  flushTimer ??= setTimeout(flushPresence, 50);
}

function enter(peer: Peer, room: string): void {
  const old = rooms.get(peer.room);
  if (old?.delete(peer)) {
    if (old.size === 0) rooms.delete(peer.room);
    presence(peer.room);
  }
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(peer);
  peer.room = room;
  presence(room);
}

const server = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 65536 });
server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws') return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const peer: Peer = { ws, room: 'lobby', name: `guest-${randomBytes(2).toString('hex')}`, lastPong: Date.now() };
    peers.set(ws, peer);
    ws.send(JSON.stringify({ type: 'welcome', id: randomBytes(4).toString('hex'), room: 'lobby', name: peer.name }));
    enter(peer, 'lobby');
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary && data.length === 4 && data.toString() === 'pong') {
        peer.lastPong = Date.now();
        return;
      }
      let msg: { type?: unknown; room?: unknown; name?: unknown; text?: unknown };
      try {
        msg = JSON.parse(data.toString()) as typeof msg;
      } catch {
        return ws.close(1008, "Expected 'pong'");
      }
      if (msg.type === 'join' && typeof msg.room === 'string' && typeof msg.name === 'string') {
        peer.name = msg.name;
        ws.send(JSON.stringify({ type: 'welcome', id: 'x', room: msg.room, name: msg.name }));
        enter(peer, msg.room);
      } else if (msg.type === 'say' && typeof msg.text === 'string') {
        const seq = (sequences.get(peer.room) ?? 0) + 1;
        sequences.set(peer.room, seq);
        const text = JSON.stringify({ type: 'message', id: String(seq), room: peer.room, from: peer.name, text: msg.text, ts: Date.now() });
        for (const p of rooms.get(peer.room) ?? []) if (p.ws.readyState === WebSocket.OPEN) p.ws.send(text);
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      peers.delete(ws);
      const members = rooms.get(peer.room);
      if (members?.delete(peer)) {
        if (members.size === 0) rooms.delete(peer.room);
        presence(peer.room);
      }
    });
  });
});

setInterval(() => {
  const oldest = Date.now() - pongTimeoutMs;
  for (const ws of wss.clients) {
    const peer = peers.get(ws);
    if (peer && peer.lastPong < oldest) ws.close(4000, 'Pong timeout');
    else ws.send('ping');
  }
}, pingIntervalMs);

server.listen(port, host, () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
