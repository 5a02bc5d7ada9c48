import type { Broker, ChatDraft, ChatMessage, Delivery } from './broker.ts';

/** One process: a per-room counter gives ids, delivery is a direct call. */
export function createMemoryBroker(): Broker {
  const sequences = new Map<string, number>();
  let delivery: Delivery = () => {};
  return {
    publish(draft: ChatDraft): Promise<ChatMessage> {
      const seq = (sequences.get(draft.room) ?? 0) + 1;
      sequences.set(draft.room, seq);
      const message: ChatMessage = { id: String(seq), ...draft };
      delivery(message);
      return Promise.resolve(message);
    },
    subscribe(next) {
      delivery = next;
    },
    unavailableReason: () => undefined,
    close: () => Promise.resolve(),
  };
}
