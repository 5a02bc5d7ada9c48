import type { BrokerMetrics } from '../metrics/metrics.ts';
import type { ChatMessage, Member } from '../protocol/messages.ts';

export type { BrokerMetrics, ChatMessage, Member };

/** A room's members over every instance: the count always, and (identity mode) who they are. */
export interface Roster {
  count: number;
  /** At most ROSTER_MAX per instance; `truncated` when some were left out. */
  members: Member[];
  truncated: boolean;
}

/** A chat message before the broker gives it its per-room id. */
export type ChatDraft = Omit<ChatMessage, 'id'>;

/** How a publication is stored. */
export interface PublishOptions {
  /**
   * A publication with the same key in the same room within `ttlMs` is not stored again: the
   * broker answers with the first one (`suppressed`) and delivers nothing. A client that lost
   * the acknowledgement in a drop retries with its key and is stored once.
   */
  idempotency?: { key: string; ttlMs: number };
}

/** What `publish` stored, or, for a repeated idempotency key, what it had stored the first time. */
export interface PublishResult {
  message: ChatMessage;
  /** True when the key was seen before: nothing was stored or delivered this time. */
  suppressed: boolean;
}

/**
 * What the broker calls back with, on every instance. The broker knows no feature: ephemeral
 * publications and control events carry a `kind` the realtime layer's feature registry owns, and
 * `data` is opaque text the feature parses as untrusted input.
 */
export interface BrokerListener {
  /** Every stored publication of a room this instance follows (or is replaying), in id order within the room. */
  message(message: ChatMessage): void;
  /** The number of members `room` has now, counted over every instance. */
  presence(room: string, members: number): void;
  /** An ephemeral publication of `kind` into `room` (on this instance or another). Never stored. */
  ephemeral(room: string, kind: string, data: string): void;
  /** A control event for every instance (this one included). */
  control(kind: string, data: string): void;
}

export const NO_LISTENER: BrokerListener = { message: () => {}, presence: () => {}, ephemeral: () => {}, control: () => {} };

/** Messages of a room after a client's `since`, oldest first. */
export interface History {
  messages: ChatMessage[];
  /** Some messages after `since` are no longer kept (HISTORY_SIZE passed, or the broker lost its data). */
  truncated: boolean;
  /**
   * The newest id of the room when following started (or the newest replayed): a client that saw
   * nothing after joining can still rejoin with it as `since` and miss nothing.
   */
  last: string;
}

/**
 * Carries a room's publications between its sockets, wherever they are connected, plus one
 * channel of control events between instances. The realtime code talks only to this; it does not
 * know whether the room lives in this process (memory) or across instances (redis). A new feature
 * adds no method here: it publishes an ephemeral kind, or a control kind, of its own.
 */
export interface Broker {
  /**
   * Stores the message, gives it an id that increases within its room, and delivers it to every
   * subscriber. Resolves once the message is stored (for Redis: written to Redis), which is also
   * before the sender's own copy, its acknowledgement, is delivered.
   */
  publish(draft: ChatDraft, options?: PublishOptions): Promise<PublishResult>;
  /** One listener per process. */
  subscribe(listener: BrokerListener): void;
  /**
   * This instance now has `localMembers` sockets in `room` (and, identity mode, these members, for
   * the server API); the total comes back through `listener.presence`.
   */
  presence(room: string, localMembers: number, members?: readonly Member[]): void;
  /** The room's members over every instance. */
  members(room: string): Promise<Roster>;
  /** An ephemeral publication: back to every instance through `listener.ephemeral`. Best effort, never stored. */
  emit(room: string, kind: string, data: string): void;
  /** A control event: back to every instance (this one included) through `listener.control`. Resolves once sent. */
  control(kind: string, data: string): Promise<void>;
  /**
   * Starts following `room` and returns its kept messages with an id after `since` (none without
   * `since`). Every message published after those is delivered through `listener.message` from
   * the moment this resolves (or earlier), so a caller that buffers deliveries while it waits
   * loses none and can drop repeats by id. Without `since` it does not fail: while the broker is
   * unavailable the room is followed from when it comes back.
   */
  history(room: string, since: string | undefined): Promise<History>;
  /** Why the broker cannot take messages now, or undefined when it can. */
  unavailableReason(): string | undefined;
  close(): Promise<void>;
}

/**
 * How many messages a room keeps: HISTORY_SIZE, or 1 for a latest-value room (LATEST_ROOMS).
 * Given to both brokers by the composition root.
 */
export type HistorySizeOf = (room: string) => number;
