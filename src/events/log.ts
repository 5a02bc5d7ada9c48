// The port the realtime layer tells what happened: a socket opened or closed, joined or left a
// room, published. It never waits: an implementation queues, keeps the membership it needs to say
// when a room filled or emptied, and hands the events on (memory-log.ts, redis-log.ts).
import type { LeftReason } from '../protocol/backend-events.ts';

/** A socket as events name it. */
export interface EventConn {
  connId: string;
  /** The token's subject; undefined in anonymous mode, where each connection is a member of its own. */
  sub: string | undefined;
}

export interface PublishedFacts {
  room: string;
  messageId: string;
  from: string;
  text: string;
}

export interface EventLog {
  opened(conn: EventConn): void;
  closed(conn: EventConn, code: number): void;
  /**
   * The socket became a member of `room`. Membership is per member (a `sub`, or an anonymous
   * connection): `room.member_joined` is made for a member's first socket in the room, over every
   * instance, `room.member_left` for its last; `room.occupied` and `room.vacated` for the room's
   * first member in and last member out.
   */
  joined(room: string, conn: EventConn): void;
  left(room: string, conn: EventConn, reason: Exclude<LeftReason, 'instance_lost'>): void;
  /** A stored publication: of a socket's `say`, or (`conn` undefined) of the server API, `sender: "server"`. */
  published(facts: PublishedFacts, conn: EventConn | undefined): void;
  /** Graceful stop: what is queued is stored or sent within `timeoutMs`, then the instance's lease is given up. */
  close(timeoutMs: number): Promise<void>;
}

/** EVENTS unset: nothing is made, nothing is kept. */
export const NO_EVENTS: EventLog = {
  opened: () => {},
  closed: () => {},
  joined: () => {},
  left: () => {},
  published: () => {},
  close: () => Promise.resolve(),
};
