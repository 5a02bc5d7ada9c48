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

/** What the broker calls back with, on every instance. */
export interface BrokerListener {
  /** Every published message of a room this instance has members in (or is replaying), in id order within the room. */
  message(message: ChatMessage): void;
  /** The number of members `room` has now, counted over every instance. */
  presence(room: string, members: number): void;
  /** `names` typed in `room` just now (on this instance or another). Ephemeral: never stored. */
  typing(room: string, names: readonly string[]): void;
  /** Close every socket of user `sub` (the server API asked, on this instance or another). */
  disconnect(sub: string): void;
}

export const NO_LISTENER: BrokerListener = { message: () => {}, presence: () => {}, typing: () => {}, disconnect: () => {} };

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
 * Carries chat messages, presence and typing between the sockets of a room, wherever they are
 * connected. The realtime code talks only to this; it does not know whether the room lives in
 * this process (memory) or across instances (redis).
 */
export interface Broker {
  /**
   * Stores the message, gives it an id that increases within its room, and delivers it to every
   * subscriber. Resolves once the message is stored (for Redis: written to Redis), which is also
   * before the sender's own copy, its acknowledgement, is delivered.
   */
  publish(draft: ChatDraft): Promise<ChatMessage>;
  /** One listener per process. */
  subscribe(listener: BrokerListener): void;
  /** This instance now has `localMembers` sockets in `room`; the total comes back through `listener.presence`. */
  presence(room: string, localMembers: number): void;
  /** `names` typed in `room` on this instance; comes back to every instance through `listener.typing`. Best effort. */
  typing(room: string, names: readonly string[]): void;
  /** Who this instance has in `room` now (identity mode only: the server API lists them). */
  roster(room: string, members: readonly Member[]): void;
  /** The room's members over every instance. */
  members(room: string): Promise<Roster>;
  /** Asks every instance (this one included, through `listener.disconnect`) to close the sockets of `sub`. */
  disconnect(sub: string): Promise<void>;
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
