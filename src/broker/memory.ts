import { compareIdText, parseId } from '../protocol/ids.ts';
import { ROSTER_MAX } from '../protocol/limits.ts';
import { NO_LISTENER, type Broker, type ChatDraft, type ChatMessage, type History, type HistorySizeOf, type Member } from './broker.ts';
import { createIdempotencyStore } from './idempotency.ts';

export interface MemoryBrokerOptions {
  /** Messages kept per room for replay (HISTORY_SIZE). Default 100. */
  historySize?: number;
  /** Per room, overriding `historySize` (latest-value rooms keep 1). Default: `historySize` everywhere. */
  historySizeOf?: HistorySizeOf;
  /** Estimated bytes of history kept over all rooms (HISTORY_MAX_BYTES). Default 16 MiB. */
  maxBytes?: number;
  /** A room is forgotten this long after its last message (HISTORY_TTL_MS). Default 24 h. */
  ttlMs?: number;
  /** Default: performance.now. */
  now?: () => number;
}

interface Room {
  /** Id of the room's last message. */
  seq: number;
  /** Ids up to this one belong to an earlier life of the room (forgotten), or were trimmed. */
  trimmedUpTo: number;
  messages: ChatMessage[];
  bytes: number;
  lastActive: number;
}

/**
 * What a kept message costs, over-estimated: two bytes a UTF-16 unit (V8 stores Latin-1 strings
 * in one) plus the object, its fields and its array slot. Counted in the budget, not measured.
 */
export function messageCost(m: ChatMessage): number {
  return 2 * (m.id.length + m.room.length + m.from.length + m.text.length + (m.key?.length ?? 0)) + 160;
}

/**
 * One process: a per-room counter gives ids, delivery is a direct call, the last `historySize`
 * messages of each room stay in memory, within `maxBytes` over all rooms: past it the least
 * recently active rooms are forgotten first, and a room is forgotten `ttlMs` after its last
 * message, so whatever clients do, history holds at most about `maxBytes`. A forgotten room that
 * comes back counts on from above every id given before, so a `since` from its earlier life
 * shows as truncated history, as does one from before a restart.
 */
export interface MemoryBroker extends Broker {
  /** The estimated bytes of history kept now, over all rooms. */
  keptBytes(): number;
  /** Rooms with history kept now. */
  keptRooms(): number;
  /** Idempotency keys remembered now, over all rooms. */
  keptKeys(): number;
}

export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  const historySize = options.historySize ?? 100;
  const historySizeOf = options.historySizeOf ?? (() => historySize);
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const ttlMs = options.ttlMs ?? 86_400_000;
  const now = options.now ?? (() => performance.now());
  // Least recently active first (Map keeps insertion order; activity re-inserts).
  const rooms = new Map<string, Room>();
  let bytes = 0;
  // The highest id any forgotten room reached: rooms made after that start above it.
  let forgottenUpTo = 0;
  const counts = new Map<string, number>();
  const rosters = new Map<string, readonly Member[]>();
  let listener = NO_LISTENER;
  const idempotency = createIdempotencyStore();

  function forget(name: string, room: Room): void {
    rooms.delete(name);
    bytes -= room.bytes;
    forgottenUpTo = Math.max(forgottenUpTo, room.seq);
  }

  function dropOldest(room: Room): void {
    const dropped = room.messages.shift();
    if (!dropped) return;
    const cost = messageCost(dropped);
    room.bytes -= cost;
    bytes -= cost;
    room.trimmedUpTo = Number(dropped.id);
  }

  /** Forgets idle rooms, then the least recently active ones while over budget (never `keep`). */
  function bound(keep?: Room): void {
    const oldestAllowed = now() - ttlMs;
    for (const [name, room] of rooms) {
      if (room === keep) break;
      if (room.lastActive >= oldestAllowed && bytes <= maxBytes) break;
      forget(name, room);
    }
    // One room alone over the budget (a huge HISTORY_SIZE): it keeps what fits.
    while (keep && bytes > maxBytes && keep.messages.length > 1) dropOldest(keep);
  }

  function roomFor(name: string): Room {
    let room = rooms.get(name);
    if (room) rooms.delete(name);
    else room = { seq: forgottenUpTo, trimmedUpTo: forgottenUpTo, messages: [], bytes: 0, lastActive: 0 };
    room.lastActive = now();
    rooms.set(name, room); // now the most recently active
    return room;
  }

  const sweep = setInterval(() => bound(), Math.min(ttlMs, 60_000));
  sweep.unref();

  return {
    publish(draft: ChatDraft, options = {}) {
      const { idempotency: once } = options;
      const first = once && idempotency.seen(draft.room, once.key, now());
      if (first) return Promise.resolve({ message: first, suppressed: true });
      const room = roomFor(draft.room);
      room.seq++;
      const message: ChatMessage = { id: String(room.seq), ...draft };
      room.messages.push(message);
      const cost = messageCost(message);
      room.bytes += cost;
      bytes += cost;
      const keep = historySizeOf(draft.room);
      while (room.messages.length > keep) dropOldest(room);
      bound(room);
      if (once) idempotency.remember(draft.room, once.key, message, now() + once.ttlMs);
      listener.message(message);
      return Promise.resolve({ message, suppressed: false });
    },
    subscribe(next) {
      listener = next;
    },
    presence(room, localMembers, members) {
      if (localMembers > 0) counts.set(room, localMembers);
      else counts.delete(room);
      if (members && members.length > 0) rosters.set(room, members.slice(0, ROSTER_MAX));
      else rosters.delete(room);
      listener.presence(room, localMembers);
    },
    members(room) {
      const count = counts.get(room) ?? 0;
      const members = [...(rosters.get(room) ?? [])];
      return Promise.resolve({ count, members, truncated: members.length < count });
    },
    emit(room, kind, data) {
      listener.ephemeral(room, kind, data);
    },
    control(kind, data) {
      listener.control(kind, data);
      return Promise.resolve();
    },
    history(name, since): Promise<History> {
      const sinceId = since === undefined ? undefined : parseId(since);
      bound();
      const room = rooms.get(name);
      const last = String(room?.seq ?? forgottenUpTo);
      if (since === undefined || !sinceId) return Promise.resolve({ messages: [], truncated: false, last });
      const kept = room?.messages ?? [];
      if (compareIdText(since, last) > 0) {
        // An id this process never gave: it is from before a restart, and what came between is gone.
        return Promise.resolve({ messages: [...kept], truncated: true, last });
      }
      const messages = kept.filter((m) => compareIdText(m.id, since) > 0);
      // Messages after `since` were trimmed, or belonged to a life of the room that was forgotten.
      const seen = sinceId[0] > 0n || sinceId[1] > 0n;
      const trimmedUpTo = room?.trimmedUpTo ?? forgottenUpTo;
      return Promise.resolve({ messages, truncated: seen && BigInt(trimmedUpTo) > sinceId[0], last });
    },
    keptBytes: () => bytes,
    keptRooms: () => rooms.size,
    keptKeys: () => idempotency.size(),
    unavailableReason: () => undefined,
    close: () => {
      clearInterval(sweep);
      return Promise.resolve();
    },
  };
}
