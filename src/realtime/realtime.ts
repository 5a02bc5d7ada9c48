// The WebSocket side of the service: accepts upgrades, keeps one Session per socket and
// routes each typed message to the heartbeat, the rooms or the broker.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer, type RawData, type ServerOptions } from 'ws';
import type { Broker, ChatMessage } from '../broker/broker.ts';
import { compareIdText } from '../broker/ids.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { clientAddress, judgeUpgrade, refuseUpgrade } from './gateway.ts';
import { createHeartbeat } from './heartbeat.ts';
import { CloseCode, CloseReason, DEFAULT_ROOM, encode, parseFrame } from './protocol.ts';
import { createRooms, PRESENCE_FLUSH_MS } from './rooms.ts';
import { createSender } from './sender.ts';
import { ClientSocket, Session } from './session.ts';

/** How long a peer gets to answer a close we sent before `ws` destroys its TCP socket. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000;

export type RealtimeConfig = Pick<
  Config,
  | 'pingIntervalMs'
  | 'pongTimeoutMs'
  | 'pingCount'
  | 'maxMessageBytes'
  | 'maxConnections'
  | 'rateLimitPerSec'
  | 'maxBufferedBytes'
  | 'allowedOrigins'
  | 'trustProxy'
>;

export interface RealtimeDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  broker: Broker;
}

export interface Realtime {
  /** For the HTTP server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  openConnections(): number;
  start(): void;
  /** Refuses new sockets, closes open ones with 1001 and waits for them up to `timeoutMs`, then destroys the rest. */
  drain(timeoutMs: number): Promise<void>;
}

// `ws` reports protocol errors it found itself through 'error' before it closes with these codes.
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.messageTooBig,
  WS_ERR_INVALID_UTF8: CloseCode.invalidPayload,
};
const PROTOCOL_ERROR = 1002;

function ignore(): void {}

export function createRealtime(config: RealtimeConfig, deps: RealtimeDeps): Realtime {
  const { logger, metrics, clock, broker } = deps;
  // `closeTimeout` (ws >= 8.19) is missing from @types/ws, hence the widened type.
  const serverOptions: ServerOptions<typeof ClientSocket> & { closeTimeout: number } = {
    noServer: true,
    WebSocket: ClientSocket,
    maxPayload: config.maxMessageBytes,
    // Compression costs memory per socket and CPU per frame, and invites compression-oracle attacks.
    perMessageDeflate: false,
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
  };
  const wss = new WebSocketServer(serverOptions);
  const clients = wss.clients as Set<ClientSocket>;
  const sender = createSender({ maxBufferedBytes: config.maxBufferedBytes, metrics, logger });
  // Presence goes through the broker, which counts the room over every instance.
  const rooms = createRooms(sender, PRESENCE_FLUSH_MS, (room, localMembers) => broker.presence(room, localMembers));
  const heartbeat = createHeartbeat({
    intervalMs: config.pingIntervalMs,
    timeoutMs: config.pongTimeoutMs,
    pingCount: config.pingCount,
    clock,
    sender,
    metrics,
    sockets: () => clients,
  });

  /**
   * A socket joining a room, waiting for the broker (to follow the room, and with `since` for its
   * history): not a member yet, so the live messages of the room are kept here meanwhile, then
   * sent after the history without repeats.
   */
  interface Joiner {
    socket: ClientSocket;
    room: string;
    live: ChatMessage[];
  }
  const joiners = new Map<string, Set<Joiner>>();
  const joining = new WeakMap<ClientSocket, Joiner>();

  broker.subscribe({
    message(message) {
      rooms.deliver(message);
      const waiting = joiners.get(message.room);
      if (waiting) for (const joiner of waiting) joiner.live.push(message);
    },
    presence: rooms.announce,
  });

  function stopJoining(socket: ClientSocket): Joiner | undefined {
    const joiner = joining.get(socket);
    if (!joiner) return undefined;
    joining.delete(socket);
    const waiting = joiners.get(joiner.room);
    waiting?.delete(joiner);
    if (waiting?.size === 0) joiners.delete(joiner.room);
    return joiner;
  }

  /**
   * Out of the old room at once, live messages of the new one buffered from now, then (once the
   * broker follows the room) the welcome, with `since` the history after it, then the buffered
   * messages newer than the last one sent, then membership. Every message after `since` (or,
   * without it, after the welcome) arrives once, in id order. With the in-process broker all of
   * this happens before the socket's next message is read.
   */
  async function join(socket: ClientSocket, room: string, since: string | undefined): Promise<void> {
    const { session } = socket;
    stopJoining(socket);
    rooms.leave(socket);
    session.room = room;
    const joiner: Joiner = { socket, room, live: [] };
    joining.set(socket, joiner);
    let waiting = joiners.get(room);
    if (!waiting) joiners.set(room, (waiting = new Set()));
    waiting.add(joiner);
    let history: Awaited<ReturnType<Broker['history']>>;
    try {
      history = await broker.history(room, since);
    } catch (err) {
      if (joining.get(socket) !== joiner) return;
      stopJoining(socket);
      logger.warn({ err, connId: session.id, room }, 'history unavailable');
      sender.close(socket, CloseCode.tryAgainLater, 'History unavailable, try again');
      return;
    }
    // Closed, or another join came in meanwhile: that one decides.
    if (joining.get(socket) !== joiner) return;
    stopJoining(socket);
    if (socket.readyState !== WebSocket.OPEN) return;
    sender.send(socket, encode({ type: 'welcome', id: session.id, room, name: session.name }), 'welcome');
    if (since !== undefined) sender.send(socket, encode({ type: 'history', room, since, truncated: history.truncated, count: history.messages.length }), 'history');
    // Truncated history may come from a broker that lost its data and counts anew (ids below
    // `since`): then the history is all new to the client and only repeats among it are dropped.
    let last: string | undefined = history.truncated ? undefined : since;
    if (joiner.live.length === 0 && history.messages.length === 0) return rooms.enter(socket, room);
    for (const message of [...history.messages, ...joiner.live]) {
      if (last !== undefined && compareIdText(message.id, last) <= 0) continue;
      sender.send(socket, encode({ type: 'message', ...message }), 'message');
      last = message.id;
    }
    rooms.enter(socket, room);
  }

  const bootId = randomBytes(3).toString('hex');
  let nextConnection = 0;
  let draining = false;

  function refuse(socket: ClientSocket, code: number, reason: string, detail: Record<string, unknown> = {}): void {
    logger.warn({ connId: socket.session.id, code, reason, ...detail }, 'protocol violation');
    sender.close(socket, code, reason);
  }

  async function say(socket: ClientSocket, text: string): Promise<void> {
    const { session } = socket;
    try {
      await broker.publish({ room: session.room, from: session.name, text, ts: Math.round(clock.now()) });
    } catch (err) {
      logger.error({ err, connId: session.id, room: session.room }, 'publish failed');
      sender.close(socket, CloseCode.tryAgainLater, 'Message not delivered, try again');
    }
  }

  // One set of handlers for every socket, with the socket as `this`: no closures per connection.
  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    const socket = this as ClientSocket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const session = socket.session;
    const frame = data as Buffer; // binaryType is 'nodebuffer'; fragments arrive joined
    session.messagesIn++;
    if (!session.takeToken(clock.now(), config.rateLimitPerSec)) {
      metrics.messageIn('invalid', frame.length);
      return refuse(socket, CloseCode.policyViolation, CloseReason.rateLimited);
    }
    const parsed = parseFrame(frame, isBinary);
    if (!parsed.ok) {
      metrics.messageIn('invalid', frame.length);
      return refuse(socket, parsed.code, parsed.reason, { bytes: frame.length, binary: isBinary });
    }
    const message = parsed.message;
    metrics.messageIn(message.type, frame.length);
    switch (message.type) {
      case 'pong':
        heartbeat.pong(socket);
        return;
      case 'join':
        session.name = message.name;
        void join(socket, message.room, message.since);
        return;
      case 'say':
        void say(socket, message.text);
        return;
    }
  }

  function onError(this: WebSocket, err: Error & { code?: string }): void {
    const session = (this as ClientSocket).session;
    const code = (err.code && WS_ERROR_CLOSE_CODES[err.code]) || PROTOCOL_ERROR;
    if (session.closeCode === 0) {
      session.closeCode = code;
      session.closeReason = err.message;
    }
    logger.warn({ connId: session.id, code, wsError: err.code, reason: err.message }, 'protocol violation');
  }

  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const socket = this as ClientSocket;
    const session = socket.session;
    const finalCode = session.closeCode || code;
    metrics.closed(finalCode);
    stopJoining(socket);
    rooms.leave(socket);
    logger.info(
      {
        connId: session.id,
        code: finalCode,
        reason: session.closeReason || reason.toString(),
        durationMs: Math.round(clock.now() - session.openedAt),
        messagesIn: session.messagesIn,
        messagesOut: session.messagesOut,
      },
      'socket closed',
    );
  }

  function onOpen(socket: ClientSocket, req: IncomingMessage): void {
    const id = `${bootId}-${(nextConnection++).toString(36)}`;
    const name = `guest-${randomBytes(2).toString('hex')}`;
    const ip = clientAddress(req, config.trustProxy);
    socket.session = new Session(id, ip, name, DEFAULT_ROOM, clock.now(), heartbeat.nextSweep(), config.rateLimitPerSec * 2);
    socket.on('message', onMessage);
    socket.on('error', onError);
    socket.on('close', onClose);
    metrics.connectionOpened();
    logger.info({ connId: id, ip, origin: req.headers.origin, userAgent: req.headers['user-agent'] }, 'socket opened');
    if (draining) return sender.close(socket, CloseCode.goingAway, CloseReason.shuttingDown);
    void join(socket, DEFAULT_ROOM, undefined);
  }

  return {
    handleUpgrade(req, socket, head) {
      // A client that resets mid-handshake must cost this one socket, never the process.
      socket.on('error', ignore);
      const verdict = judgeUpgrade(req, config, clients.size, draining);
      if (!verdict.ok) {
        metrics.upgradeRejected(verdict.reason);
        logger.warn(
          { ip: clientAddress(req, config.trustProxy), origin: req.headers.origin, url: req.url, status: verdict.status, reason: verdict.reason },
          'upgrade refused',
        );
        return refuseUpgrade(socket, verdict.status, verdict.message);
      }
      wss.handleUpgrade(req, socket, head, (ws) => onOpen(ws as ClientSocket, req));
    },
    openConnections: () => clients.size,
    start: () => heartbeat.start(),
    async drain(timeoutMs) {
      draining = true;
      heartbeat.stop();
      for (const socket of clients) sender.close(socket, CloseCode.goingAway, CloseReason.shuttingDown);
      const deadline = Date.now() + timeoutMs;
      while (clients.size > 0 && Date.now() < deadline) await sleep(Math.min(50, timeoutMs));
      if (clients.size > 0) {
        logger.warn({ remaining: clients.size }, 'shutdown timeout: destroying remaining sockets');
        for (const socket of clients) socket.terminate();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
