import type { ChatMessage } from '../realtime/protocol.ts';

export type { ChatMessage };

/** A chat message before the broker gives it its per-room id. */
export type ChatDraft = Omit<ChatMessage, 'id'>;

export type Delivery = (message: ChatMessage) => void;

/**
 * Carries chat messages between the sockets of a room, wherever they are connected.
 * The realtime code talks only to this; it does not know whether the room lives in
 * this process (memory) or across instances.
 */
export interface Broker {
  /** Stores the message, gives it an id that increases within its room, and delivers it to every subscriber. */
  publish(draft: ChatDraft): Promise<ChatMessage>;
  /** Called for every published message, in order within a room. One subscriber per process. */
  subscribe(delivery: Delivery): void;
  /** Why the broker cannot take messages now, or undefined when it can. */
  unavailableReason(): string | undefined;
  close(): Promise<void>;
}
