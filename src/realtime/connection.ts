// The per-socket handlers: one set for every socket, with the socket as `this`, so a connection
// costs no closures. Each typed message goes to the heartbeat, the joins, the broker or typing.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { mayJoin, type Identity } from '../auth/identity.ts';
import type { Broker } from '../broker/broker.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason } from '../protocol/close.ts';
import { DEFAULT_ROOM, encode } from '../protocol/messages.ts';
import { parseFrame } from '../protocol/parse.ts';
import { clientAddress } from './hosts.ts';
import type { Heartbeat } from './heartbeat.ts';
import type { Joins } from './join.ts';
import type { Rooms } from './rooms.ts';
import type { Sender } from './sender.ts';
import { Session, type ClientSocket } from './session.ts';
import type { Typing } from './typing.ts';
import type { Users } from './users.ts';
import { wsErrorCloseCode } from './ws-internals.ts';

export interface ConnectionDeps {
  rateLimitPerSec: number;
  trustProxy: boolean;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  broker: Broker;
  sender: Sender;
  heartbeat: Heartbeat;
  rooms: Rooms;
  joins: Joins;
  typing: Typing;
  users: Users;
}

/** Sets up a socket `ws` has just accepted: its session, its handlers, the default room. */
export type OpenSocket = (socket: ClientSocket, req: IncomingMessage, draining: boolean, identity: Identity | undefined) => void;

export function createConnectionHandlers(deps: ConnectionDeps): OpenSocket {
  const { logger, metrics, clock, broker, sender, heartbeat, rooms, joins, typing, users, rateLimitPerSec } = deps;
  const bootId = randomBytes(3).toString('hex');
  let nextConnection = 0;

  function refuse(socket: ClientSocket, code: number, reason: string, detail: Record<string, unknown> = {}): void {
    logger.warn({ connId: socket.session.id, code, reason, ...detail }, 'protocol violation');
    sender.close(socket, code, reason);
  }

  /** A refusal that keeps the socket open where it was. */
  function deny(socket: ClientSocket, reason: 'forbidden' | 'not_in_room', room?: string): void {
    logger.warn({ connId: socket.session.id, sub: socket.session.identity?.sub, reason, room }, 'request refused');
    sender.send(socket, encode({ type: 'error', reason, ...(room === undefined ? {} : { room }) }), 'error');
  }

  async function say(socket: ClientSocket, text: string): Promise<void> {
    const { session } = socket;
    if (session.room === '') return deny(socket, 'not_in_room');
    try {
      await broker.publish({ room: session.room, from: session.name, text, ts: Math.round(clock.now()) });
    } catch (err) {
      logger.error({ err, connId: session.id, room: session.room }, 'publish failed');
      sender.close(socket, CloseCode.tryAgainLater, 'Message not delivered, try again');
    }
  }

  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    const socket = this as ClientSocket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const session = socket.session;
    const frame = data as Buffer; // binaryType is 'nodebuffer'; fragments arrive joined
    session.messagesIn++;
    if (!session.takeToken(clock.now(), rateLimitPerSec)) {
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
        return heartbeat.pong(socket);
      case 'join':
        if (!mayJoin(session.identity, message.room)) return deny(socket, 'forbidden', message.room);
        // With a token, the name is the token's: a join cannot take someone else's.
        if (!session.identity) session.name = message.name;
        return void joins.join(socket, message.room, message.since);
      case 'say':
        return void say(socket, message.text);
      case 'typing':
        // Only members type: a socket still joining has no room to show it in yet.
        if (session.memberOf !== undefined) typing.typed(session.memberOf, session.name);
        return;
    }
  }

  /**
   * Ping and pong control frames. The heartbeat speaks text, so every control frame a client sends
   * is its own idea, and each costs a token like any message: a flood ends with 1008 Rate limit
   * exceeded (not `ws`'s silent cut at its pending-pong limit, a bare 1006). `ws` does not answer
   * pings itself here (autoPong off): a ping gets its pong only when it was within the rate.
   */
  function onPing(this: WebSocket, data: Buffer): void {
    if (takeControlToken(this as ClientSocket, data)) this.pong(data);
  }

  function onPong(this: WebSocket, data: Buffer): void {
    takeControlToken(this as ClientSocket, data);
  }

  function takeControlToken(socket: ClientSocket, data: Buffer): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    metrics.messageIn('control', data.length);
    if (socket.session.takeToken(clock.now(), rateLimitPerSec)) return true;
    refuse(socket, CloseCode.policyViolation, CloseReason.rateLimited, { control: true });
    return false;
  }

  function onError(this: WebSocket, err: Error & { code?: string }): void {
    const session = (this as ClientSocket).session;
    // The code `ws` closes with for an error it found itself, so the log and metrics say what the wire says.
    const code = wsErrorCloseCode(err) ?? CloseCode.protocolError;
    session.closing(code, err.message);
    logger.warn({ connId: session.id, code, wsError: err.code, reason: err.message }, 'protocol violation');
  }

  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const socket = this as ClientSocket;
    const session = socket.session;
    const finalCode = session.closeCode || code;
    metrics.closed(finalCode);
    users.remove(socket);
    joins.cancel(socket);
    rooms.leave(socket);
    logger.info(
      {
        connId: session.id,
        code: finalCode,
        reason: session.closeReason || reason.toString(),
        durationMs: Math.round(clock.now() - session.openedAt),
        messagesIn: session.messagesIn,
        messagesOut: session.messagesOut,
        ...(session.identity ? { sub: session.identity.sub } : {}),
      },
      'socket closed',
    );
  }

  return function open(socket, req, draining, identity) {
    const id = `${bootId}-${(nextConnection++).toString(36)}`;
    const name = `guest-${randomBytes(2).toString('hex')}`;
    const ip = clientAddress(req, deps.trustProxy);
    // A user who may not enter the default room starts in none: `welcome` says room null.
    const room = mayJoin(identity, DEFAULT_ROOM) ? DEFAULT_ROOM : '';
    socket.session = new Session(id, ip, name, room, clock.now(), heartbeat.nextSweep(), rateLimitPerSec, identity);
    socket.on('message', onMessage);
    socket.on('ping', onPing);
    socket.on('pong', onPong);
    socket.on('error', onError);
    socket.on('close', onClose);
    metrics.connectionOpened();
    users.add(socket);
    logger.info({ connId: id, ip, origin: req.headers.origin, userAgent: req.headers['user-agent'], ...(identity ? { sub: identity.sub } : {}) }, 'socket opened');
    if (draining) return sender.close(socket, CloseCode.goingAway, CloseReason.shuttingDown);
    if (room !== '') return void joins.join(socket, room, undefined);
    sender.send(socket, encode({ type: 'welcome', id, room: null, name: socket.session.name, ...(identity ? { user: identity.sub } : {}) }), 'welcome');
  };
}
