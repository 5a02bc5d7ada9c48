// The vocabulary of the events Socketship tells the application's backend (issue 20): who
// connected, who joined and left which room, which rooms filled and emptied, what was said. Plain
// data, no I/O: the logs that make them (src/events/memory-log.ts, redis-log.ts) and the outlets that
// deliver them (src/events/webhook/) all speak this.

export const EVENT_TYPES = [
  'connection.opened',
  'connection.closed',
  'room.member_joined',
  'room.member_left',
  'room.occupied',
  'room.vacated',
  'message.published',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Why a member left a room: it asked (`left`), its socket closed (`closed`), its instance died (`instance_lost`). */
export type LeftReason = 'left' | 'closed' | 'instance_lost';

/**
 * One event as the backend receives it (a webhook batch's `events[i]`, or a stream entry's `data`
 * with the entry id as `id`). `id` is unique: a receiver that sees an id twice (delivery is at
 * least once) drops the repeat. Room events carry `seq`, which increases by one per event of the
 * room, so a receiver can order them and see a gap.
 */
export interface BackendEvent {
  id: string;
  type: EventType;
  /** When it happened, ISO 8601, the clock of Redis (or of the process, without Redis). */
  time: string;
  /** The instance whose socket it concerns (for `instance_lost`, the dead one). */
  instance: string;
  room?: string;
  seq?: number;
  /** The token's subject; absent in anonymous mode. */
  sub?: string;
  connId?: string;
  /** `connection.closed`: the close code. */
  code?: number;
  /** `room.member_left` and `connection.closed`. */
  reason?: LeftReason;
  /** `message.published`: the message's id in its room, its display name, and its text when EVENTS_INCLUDE_TEXT. */
  messageId?: string;
  /** `message.published` through the server API: `server` (and no connId). */
  sender?: 'server';
  from?: string;
  text?: string;
}

/** The body of one webhook POST: a batch of events, oldest first. */
export interface WebhookBatch {
  events: BackendEvent[];
}
