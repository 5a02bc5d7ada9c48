// What travels over a socket, as types: what clients send (once parsed), what the server sends,
// and the labels metrics count them by. No I/O here.

export const DEFAULT_ROOM = 'lobby';

/** A chat message as stored, delivered and replayed. */
export interface ChatMessage {
  id: string;
  room: string;
  from: string;
  text: string;
  ts: number;
  /** `server`: published by the application's backend through the server API, not by a user. */
  sender?: 'server';
  /** The idempotency key of the `say` that stored it: its sender matches the acknowledgement to the send, live or in a replay. */
  key?: string;
}

/** A member of a room as the server API lists it (identity mode). */
export interface Member {
  sub: string;
  name: string;
}

/**
 * Why a request was refused without closing the socket (an `error` frame's `reason`):
 * `forbidden` a room outside the token's `rooms`, `@me` without a token, a say into `@me`;
 * `not_in_room` a say or typing without a room while the socket follows none;
 * `not_subscribed` a say, typing or unsubscribe naming a room the socket does not follow;
 * `too_many_rooms` a subscribe past MAX_ROOMS_PER_CONNECTION;
 * with the publish hook (PUBLISH_HOOK_URL), for a say, which is not stored: `rejected` the
 * backend refused it, `hook_unavailable` the backend did not answer (well, or in time) and
 * PUBLISH_HOOK_ON_ERROR is `reject`, `busy` too many says wait for the backend already.
 */
export type ErrorReason = 'forbidden' | 'not_in_room' | 'not_subscribed' | 'too_many_rooms' | 'token_invalid' | 'rejected' | 'hook_unavailable' | 'busy';

/** Why a socket stopped following a room it did not leave itself: the server API, or a token that no longer allows it. */
export type UnsubscribeReason = 'server' | 'forbidden';

/**
 * The frames the core sends. A feature's own frames are declared in its module
 * (src/realtime/features/) and go through the same `encode`.
 */
export type Outbound =
  /**
   * Answers `join` (and opens the socket). `room` null: the user may not join the default room
   * and follows none yet. `user`: the token's `sub`. `last`: the room's newest message id at the
   * join, a `since` for a rejoin that saw nothing newer.
   */
  /** `user` and `expiresAt` (ms since the epoch, when the token expires unless refreshed) in identity mode. */
  | { type: 'welcome'; id: string; room: string | null; name: string; user?: string; expiresAt?: number; last?: string }
  /** Answers `name` (anonymous mode): the socket's display name from now on. */
  | { type: 'named'; name: string }
  /** Answers `refresh`: the socket now lives until the new token's expiry. */
  | { type: 'refreshed'; expiresAt: number }
  /** Answers `subscribe` (or a server-side subscribe): `last` as in `welcome`. */
  | { type: 'subscribed'; room: string; last: string }
  /** Answers `unsubscribe`; with `reason`, the server ended the subscription. Nothing of `room` follows it. */
  | { type: 'unsubscribed'; room: string; reason?: UnsubscribeReason }
  /**
   * A refused request; the socket stays open. A say the publish hook refused carries its `key`, if
   * it had one (the sender matches the refusal to its send), and with `rejected` the backend's
   * reason as `detail` (at most 100 characters, no control characters), when it gave one.
   */
  | { type: 'error'; reason: ErrorReason; room?: string; key?: string; detail?: string }
  | ({ type: 'message' } & ChatMessage)
  | { type: 'presence'; room: string; members: number }
  /** Answers a join or subscribe with `since`: `count` replayed `message` frames follow, then the live ones. */
  | { type: 'history'; room: string; since: string; truncated: boolean; count: number };

/** A frame of any feature: a JSON object with its `type`. */
export interface Frame {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * Metric labels (`ws_messages_in_total{type}`): every registered inbound type, `invalid` for what
 * was refused, `control` for ping and pong control frames. Bounded by the feature registry.
 */
export type InboundType = string;
/** Metric labels (`ws_messages_out_total{type}`): `ping` is the heartbeat's text frame, the rest are JSON frames' types. */
export type OutboundType = string;

export const PING = 'ping';

/** Encoded once per broadcast and written to every recipient as the same bytes. */
export function encode(message: Outbound | Frame): Buffer {
  return Buffer.from(JSON.stringify(message));
}
