// What a feature is: the inbound message types it reads (each one's parser and handler, made
// together by `inbound`, so a type cannot be registered without both), the ephemeral kinds it
// hears from the broker and the control kinds it acts on. A feature is made by a factory from the
// parts it needs, and registered in one list (index.ts); the broker and the connection code know
// no feature by name.
import type { Identity } from '../../auth/identity.ts';
import type { VerifyToken } from '../../auth/verify.ts';
import type { Broker } from '../../broker/broker.ts';
import type { Clock } from '../../clock.ts';
import type { EventLog } from '../../events/log.ts';
import type { PublishHookCheck } from '../../events/publish-hook.ts';
import type { CloseReasonText } from '../../protocol/close.ts';
import type { Logger } from '../../log/logger.ts';
import type { Warn } from '../../log/rate-limited.ts';
import type { ErrorReason } from '../../protocol/messages.ts';
import type { Parsed, Refusal } from '../../protocol/parse.ts';
import { personalRoom, PERSONAL_ROOM } from '../../protocol/rooms.ts';
import type { MemoryHolder } from '../memory-budget.ts';
import type { Rooms } from '../rooms.ts';
import type { Sender } from '../sender.ts';
import type { ClientSocket, Session } from '../session.ts';
import type { Subscriptions } from '../subscriptions.ts';
import type { Users } from '../users.ts';

/** One inbound type: reads the frame's fields (untrusted) and, when they are good, handles the message. A refusal closes the socket. */
export type InboundRoute = (socket: ClientSocket, fields: Record<string, unknown>) => Refusal | undefined;

export function inbound<M>(parse: (fields: Record<string, unknown>) => Parsed<M>, handle: (socket: ClientSocket, message: M) => void): InboundRoute {
  return (socket, fields) => {
    const parsed = parse(fields);
    if (!parsed.ok) return parsed;
    handle(socket, parsed.message);
    return undefined;
  };
}

export interface Feature {
  /** For logs and errors: `chat`, `typing`... */
  readonly name: string;
  /** Inbound types (the JSON frame's `type`) and how each is read and handled. */
  readonly inbound?: Readonly<Record<string, InboundRoute>>;
  /** Ephemeral kinds it publishes with `broker.emit`, and what it does when one comes back (from any instance). */
  readonly ephemeral?: Readonly<Record<string, (room: string, data: string) => void>>;
  /** Control kinds it sends with `broker.control`, and what every instance does with one. */
  readonly control?: Readonly<Record<string, (data: string) => void>>;
  /** Called at shutdown: timers stop. */
  stop?(): void;
}

/** What every feature may use, built once by the realtime server. */
export interface FeatureDeps {
  broker: Broker;
  rooms: Rooms;
  subscriptions: Subscriptions;
  sender: Sender;
  users: Users;
  logger: Logger;
  clock: Clock;
  /** MAX_ROOMS_PER_CONNECTION. */
  maxRooms: number;
  /** SAY_DEDUPE_MS: how long a `say`'s idempotency key is remembered. */
  sayDedupeMs: number;
  /** Identity mode: checks a token as the upgrade does (for `refresh`); undefined in anonymous mode. */
  verifyToken: VerifyToken | undefined;
  /** The rate-limited refusal log (REFUSAL_LOG_PER_SEC), for refusals a feature words itself. */
  warn: Warn;
  /** A refusal that keeps the socket open: an `error` frame, one rate-limited log line. */
  deny(socket: ClientSocket, reason: ErrorReason, room?: string): void;
  /** A refusal that closes the socket: the close code and reason, one log line. */
  refuse(socket: ClientSocket, code: number, reason: CloseReasonText): void;
  /**
   * The memory budget (MEMORY_BUDGET_MB): a feature that holds memory on a client's behalf beyond
   * one message (a replay, a batch) reports it with `hold`/`release`, and may refuse new work while
   * `pressure()` says why. Always given by the realtime server; optional for features' own tests.
   */
  memory?: MemoryHolder;
  /** PUBLISH_HOOK_URL: the backend's verdict on each `say` before it is stored; absent, says are stored as they come. */
  publishHook?: PublishHookCheck;
  /** The backend's events (EVENTS): a stored say is `message.published`. Default: none. */
  events?: Pick<EventLog, 'published'>;
}

export type FeatureFactory = (deps: FeatureDeps) => Feature;

/** The server-side name of a room a client names: `@me` is its user's personal channel (undefined for an anonymous socket). */
export function roomOf(identity: Identity | undefined, wire: string): string | undefined {
  if (wire !== PERSONAL_ROOM) return wire;
  return identity ? personalRoom(identity.sub) : undefined;
}

/**
 * Where a `say` or `typing` goes: the named room, which the socket must follow, or without a name
 * the room joined or subscribed last.
 */
export function targetRoom(session: Session, wire: string | undefined): { room: string } | { reason: ErrorReason } {
  if (wire === undefined) return session.current === undefined ? { reason: 'not_in_room' } : { room: session.current };
  const room = roomOf(session.identity, wire);
  if (room === undefined) return { reason: 'forbidden' };
  return session.follows.has(room) ? { room } : { reason: 'not_subscribed' };
}
