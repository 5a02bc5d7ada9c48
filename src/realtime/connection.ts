// The per-socket handlers: one set for every socket, with the socket as `this`, so a connection
// costs no closures. The heartbeat's `pong` goes to the heartbeat; every JSON frame goes to the
// feature that registered its type (features/), and a type nobody registered is refused.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { mayJoin, type Identity } from '../auth/identity.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import type { Warn } from '../log/rate-limited.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason, type CloseReasonText } from '../protocol/close.ts';
import { DEFAULT_ROOM, encode, type ErrorReason } from '../protocol/messages.ts';
import { EXPECTED_PONG, parseEnvelope } from '../protocol/parse.ts';
import { clientAddress } from '../request/hosts.ts';
import type { Registry } from './features/registry.ts';
import type { Heartbeat } from './heartbeat.ts';
import type { Sender } from './sender.ts';
import { Session, type ClientSocket } from './session.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { Users } from './users.ts';
import { wsErrorCloseCode } from './ws-internals.ts';
import { NO_EVENTS, type EventLog } from '../events/log.ts';

export interface ConnectionDeps {
  rateLimitPerSec: number;
  trustProxy: boolean;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  sender: Sender;
  heartbeat: Heartbeat;
  subscriptions: Subscriptions;
  users: Users;
  registry: Registry;
  /** Tells the backend's events (EVENTS) a socket opened and closed. Default: none. */
  events?: EventLog;
}

/** Sets up a socket `ws` has just accepted: its session, its handlers, the default room. */
export type OpenSocket = (socket: ClientSocket, req: IncomingMessage, draining: boolean, identity: Identity | undefined) => void;

/** A refusal that closes the socket: one warning and the close. */
export function refuseSocket(logger: Logger, sender: Sender, socket: ClientSocket, code: number, reason: CloseReasonText, detail: Record<string, unknown> = {}): void {
  logger.warn({ connId: socket.session.id, code, reason, ...detail }, 'protocol violation');
  sender.close(socket, code, reason);
}

/**
 * A refusal that keeps the socket open: an `error` frame, counted, and a warning through the
 * rate-limited refusal log (REFUSAL_LOG_PER_SEC): a socket that stays open can repeat it at its
 * rate limit, and thousands of sockets at once.
 */
export function denySocket(warn: Warn, sender: Sender, socket: ClientSocket, reason: ErrorReason, room?: string): void {
  warn({ connId: socket.session.id, sub: socket.session.identity?.sub, reason, room }, 'request refused');
  sender.sendNow(socket, encode({ type: 'error', reason, ...(room === undefined ? {} : { room }) }), 'error');
}

export function createConnectionHandlers(deps: ConnectionDeps): OpenSocket {
  const { logger, metrics, clock, sender, heartbeat, subscriptions, users, registry, rateLimitPerSec } = deps;
  const events = deps.events ?? NO_EVENTS;
  const bootId = randomBytes(3).toString('hex');
  let nextConnection = 0;

  function refuse(socket: ClientSocket, code: number, reason: CloseReasonText, detail: Record<string, unknown> = {}): void {
    refuseSocket(logger, sender, socket, code, reason, detail);
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
    const envelope = parseEnvelope(frame, isBinary);
    if (!envelope.ok) {
      metrics.messageIn('invalid', frame.length);
      return refuse(socket, envelope.code, envelope.reason, { bytes: frame.length, binary: isBinary });
    }
    if (!('fields' in envelope)) {
      metrics.messageIn('pong', frame.length);
      return heartbeat.pong(socket);
    }
    const route = registry.inbound(envelope.type);
    // Only registered types are counted by name, so the label's values stay bounded.
    const refused = route ? route(socket, envelope.fields) : EXPECTED_PONG;
    metrics.messageIn(route && !refused ? envelope.type : 'invalid', frame.length);
    if (refused) refuse(socket, refused.code, refused.reason, { bytes: frame.length, type: route ? envelope.type : undefined });
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
    // The code `ws` closes with for an error it found itself, so the log and metrics say what the
    // wire says; recorded as the server's close, which it is, though a peer's bytes provoked it.
    const code = wsErrorCloseCode(err) ?? CloseCode.protocolError;
    session.closing(code, err.message);
    logger.warn({ connId: session.id, code, wsError: err.code, reason: err.message }, 'protocol violation');
  }

  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const socket = this as ClientSocket;
    const session = socket.session;
    const by = session.closedBy(code);
    const finalCode = session.closeCode || code;
    // The metric bounds a peer's code (closeCodeLabel); the line keeps it exact, for who reads one socket's story.
    metrics.closed(finalCode, by);
    users.remove(socket);
    // Its rooms first (member_left, reason closed), then the connection itself.
    subscriptions.leaveAll(socket);
    events.closed({ connId: session.id, sub: session.identity?.sub }, finalCode);
    logger.info(
      {
        connId: session.id,
        code: finalCode,
        by,
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
    socket.session = new Session(id, ip, name, clock.now(), heartbeat.nextSweep(), rateLimitPerSec, identity);
    socket.on('message', onMessage);
    socket.on('ping', onPing);
    socket.on('pong', onPong);
    socket.on('error', onError);
    socket.on('close', onClose);
    metrics.connectionOpened();
    users.add(socket);
    events.opened({ connId: id, sub: identity?.sub });
    logger.info({ connId: id, ip, origin: req.headers.origin, userAgent: req.headers['user-agent'], ...(identity ? { sub: identity.sub } : {}) }, 'socket opened');
    if (draining) return sender.close(socket, CloseCode.goingAway, CloseReason.shuttingDown);
    if (mayJoin(identity, DEFAULT_ROOM)) return void subscriptions.subscribe(socket, DEFAULT_ROOM, undefined, 'welcome');
    sender.sendNow(socket, encode({ type: 'welcome', id, room: null, name: socket.session.name, ...(identity ? { user: identity.sub, expiresAt: identity.expiresAt } : {}) }), 'welcome');
  };
}
