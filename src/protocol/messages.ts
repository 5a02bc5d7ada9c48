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
}

/** A member of a room as the server API lists it (identity mode). */
export interface Member {
  sub: string;
  name: string;
}

export type Inbound =
  | { type: 'pong' }
  | { type: 'join'; room: string; name: string; since?: string }
  | { type: 'say'; text: string }
  | { type: 'typing' };

export type Outbound =
  /**
   * `room` null: the user may not join the default room and is in none yet. `user`: the token's
   * `sub`. `last`: the room's newest message id at the join, a `since` for a rejoin that saw nothing newer.
   */
  | { type: 'welcome'; id: string; room: string | null; name: string; user?: string; last?: string }
  /** A request refused without closing the socket: a join to a room outside the token's `rooms`, a say outside any room. */
  | { type: 'error'; reason: 'forbidden' | 'not_in_room'; room?: string }
  | ({ type: 'message' } & ChatMessage)
  | { type: 'presence'; room: string; members: number }
  /** Answers a join with `since`: `count` replayed `message` frames follow, then the live ones. */
  | { type: 'history'; room: string; since: string; truncated: boolean; count: number }
  /** Who in the room is typing now (at most TYPING_NAMES_MAX names, `others` more). Empty when nobody is. */
  | { type: 'typing'; room: string; names: string[]; others: number };

/** Metric labels: every inbound kind, `invalid` for what was refused, `control` for ping and pong control frames. */
export type InboundType = Inbound['type'] | 'invalid' | 'control';
/** Metric labels: `ping` is the heartbeat's text frame, the rest are JSON. */
export type OutboundType = Outbound['type'] | 'ping';

export const PING = 'ping';

/** Encoded once per broadcast and written to every recipient as the same bytes. */
export function encode(message: Outbound): Buffer {
  return Buffer.from(JSON.stringify(message));
}
