import { compareIdText, parseId } from '../protocol/ids.ts';
import { ROSTER_MAX } from '../protocol/limits.ts';
import { NO_LISTENER, type Broker, type ChatDraft, type ChatMessage, type History, type Member } from './broker.ts';

export interface MemoryBrokerOptions {
  /** Messages kept per room for replay (HISTORY_SIZE). Default 100. */
  historySize?: number;
}

/**
 * One process: a per-room counter gives ids, delivery is a direct call, the last
 * `historySize` messages of each room stay in memory. A restart forgets them and starts the
 * ids again at 1, which a `since` from before the restart shows as truncated history.
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): Broker {
  const historySize = options.historySize ?? 100;
  const sequences = new Map<string, number>();
  const histories = new Map<string, ChatMessage[]>();
  const counts = new Map<string, number>();
  const rosters = new Map<string, readonly Member[]>();
  let listener = NO_LISTENER;
  return {
    publish(draft: ChatDraft): Promise<ChatMessage> {
      const seq = (sequences.get(draft.room) ?? 0) + 1;
      sequences.set(draft.room, seq);
      const message: ChatMessage = { id: String(seq), ...draft };
      let kept = histories.get(draft.room);
      if (!kept) histories.set(draft.room, (kept = []));
      kept.push(message);
      if (kept.length > historySize) kept.splice(0, kept.length - historySize);
      listener.message(message);
      return Promise.resolve(message);
    },
    subscribe(next) {
      listener = next;
    },
    presence(room, localMembers) {
      if (localMembers > 0) counts.set(room, localMembers);
      else counts.delete(room);
      listener.presence(room, localMembers);
    },
    roster(room, members) {
      if (members.length > 0) rosters.set(room, members.slice(0, ROSTER_MAX));
      else rosters.delete(room);
    },
    members(room) {
      const count = counts.get(room) ?? 0;
      const members = [...(rosters.get(room) ?? [])];
      return Promise.resolve({ count, members, truncated: members.length < count });
    },
    disconnect(sub) {
      listener.disconnect(sub);
      return Promise.resolve();
    },
    typing(room, names) {
      listener.typing(room, names);
    },
    history(room, since): Promise<History> {
      const sinceId = since === undefined ? undefined : parseId(since);
      const last = String(sequences.get(room) ?? 0);
      if (since === undefined || !sinceId) return Promise.resolve({ messages: [], truncated: false, last });
      const kept = histories.get(room) ?? [];
      if (compareIdText(since, last) > 0) {
        // An id this process never gave: it is from before a restart, and what came between is gone.
        return Promise.resolve({ messages: [...kept], truncated: true, last });
      }
      const messages = kept.filter((m) => compareIdText(m.id, since) > 0);
      const oldestKept = kept[0];
      // Ids are consecutive, so a gap between `since` and the oldest kept message was trimmed.
      const truncated = oldestKept !== undefined && BigInt(oldestKept.id) - 1n > sinceId[0];
      return Promise.resolve({ messages, truncated, last });
    },
    unavailableReason: () => undefined,
    close: () => Promise.resolve(),
  };
}
