import type { ChatMessage } from '../realtime/protocol.ts';

export type { ChatMessage };

/** A chat message before the broker gives it its per-room id. */
export type ChatDraft = Omit<ChatMessage, 'id'>;

export type Delivery = (message: ChatMessage) => void;

/** What the broker calls back with: published messages, and room sizes across every instance. */
export interface BrokerListener {
  /** Every published message of a room this instance has members in (or is replaying), in id order within the room. */
  message: Delivery;
  /** The number of members `room` has now, counted over every instance. */
  presence(room: string, members: number): void;
}

/** Messages of a room after a client's `since`, oldest first. */
export interface History {
  messages: ChatMessage[];
  /** Some messages after `since` are no longer kept (HISTORY_SIZE passed, or the broker lost its data). */
  truncated: boolean;
}

export type BrokerOp = 'publish' | 'history' | 'presence' | 'read';

/** The broker's share of /metrics, implemented by src/metrics. */
export interface BrokerMetrics {
  brokerLatency(op: BrokerOp, ms: number): void;
  brokerError(op: BrokerOp): void;
  brokerReconnect(): void;
  brokerConnected(up: boolean): void;
}

/**
 * Carries chat messages and presence between the sockets of a room, wherever they are
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
  /** Where latency, errors and reconnects go; called once by createApp. */
  instrument(metrics: BrokerMetrics): void;
  close(): Promise<void>;
}
