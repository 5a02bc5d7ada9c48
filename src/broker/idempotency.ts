// The in-process broker's memory of idempotency keys: which message a key stored, until the
// key's time to live passes. Bounded per room and over all rooms, oldest forgotten first, so a
// flood of distinct keys costs a fixed amount whoever sends it.
import type { ChatMessage } from './broker.ts';
import { IDEMPOTENCY_KEYS_MAX, IDEMPOTENCY_KEYS_PER_ROOM } from '../protocol/limits.ts';

interface Remembered {
  message: ChatMessage;
  until: number;
}

export interface IdempotencyStore {
  /** The message stored under `key` in `room`, if the key is still remembered. */
  seen(room: string, key: string, now: number): ChatMessage | undefined;
  remember(room: string, key: string, message: ChatMessage, until: number): void;
  /** Keys remembered now, over every room. */
  size(): number;
}

export function createIdempotencyStore(perRoom = IDEMPOTENCY_KEYS_PER_ROOM, max = IDEMPOTENCY_KEYS_MAX): IdempotencyStore {
  /** By room, then key, each in insertion order (the oldest first). */
  const rooms = new Map<string, Map<string, Remembered>>();
  /** Every key over all rooms, oldest first, for the global bound. */
  const order = new Map<string, string>();
  const id = (room: string, key: string): string => `${room}\n${key}`;

  function forget(room: string, key: string): void {
    const keys = rooms.get(room);
    keys?.delete(key);
    if (keys?.size === 0) rooms.delete(room);
    order.delete(id(room, key));
  }

  return {
    seen(room, key, now) {
      const found = rooms.get(room)?.get(key);
      if (!found) return undefined;
      if (found.until > now) return found.message;
      forget(room, key);
      return undefined;
    },
    remember(room, key, message, until) {
      let keys = rooms.get(room);
      if (!keys) rooms.set(room, (keys = new Map()));
      keys.delete(key); // re-inserted: the newest
      keys.set(key, { message, until });
      order.delete(id(room, key));
      order.set(id(room, key), room);
      while (keys.size > perRoom) forget(room, keys.keys().next().value ?? '');
      while (order.size > max) {
        const [oldest, oldestRoom] = order.entries().next().value ?? ['', ''];
        forget(oldestRoom, oldest.slice(oldestRoom.length + 1));
      }
    },
    size: () => order.size,
  };
}
