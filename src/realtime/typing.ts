// The typing indicator: who in a room is typing now. Ephemeral (never stored or replayed) and
// coalesced at both ends, so its cost is bounded however many type at once:
// - out: the names typed on this instance go to the broker once per room per TYPING_FLUSH_MS;
// - in: each room's members get one `typing` frame per TYPING_FLUSH_MS at most, and only when the
//   list of typists changed (someone started, or stopped for TYPING_TTL_MS).
// A client sends `typing` while its user types (the page: at most once a second); every one
// counts toward the socket's rate limit like any other message.
import type { Broker } from '../broker/broker.ts';
import type { Clock } from '../clock.ts';
import { TYPING_FLUSH_MS, TYPING_NAMES_MAX, TYPING_REPORT_MAX, TYPING_TTL_MS } from '../protocol/limits.ts';
import { encode } from '../protocol/messages.ts';
import type { Rooms } from './rooms.ts';

export interface Typing {
  /** `name` typed in `room` on this instance. */
  typed(room: string, name: string): void;
  /** The broker delivered names that typed in `room` (on any instance, this one included). */
  heard(room: string, names: readonly string[]): void;
  stop(): void;
}

export interface TypingOptions {
  broker: Broker;
  rooms: Rooms;
  clock: Clock;
  flushMs?: number;
  ttlMs?: number;
}

export function createTyping(options: TypingOptions): Typing {
  const { broker, rooms, clock } = options;
  const flushMs = options.flushMs ?? TYPING_FLUSH_MS;
  const ttlMs = options.ttlMs ?? TYPING_TTL_MS;
  /** Names typed here since the last flush, by room. */
  const outgoing = new Map<string, Set<string>>();
  /** Who is typing in each room with members here: name -> until when. */
  const typists = new Map<string, Map<string, number>>();
  /** Rooms whose list of typists changed since it was last sent. */
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  function schedule(): void {
    timer ??= setTimeout(flush, flushMs).unref();
  }

  function frame(room: string, names: string[]): Buffer {
    return encode({ type: 'typing', room, names: names.slice(0, TYPING_NAMES_MAX), others: Math.max(0, names.length - TYPING_NAMES_MAX) });
  }

  function flush(): void {
    timer = undefined;
    for (const [room, names] of outgoing) broker.typing(room, [...names].slice(0, TYPING_REPORT_MAX));
    outgoing.clear();
    const now = clock.now();
    for (const [room, names] of typists) {
      for (const [name, until] of names) {
        if (until > now) continue;
        names.delete(name);
        changed.add(room);
      }
      if (changed.has(room)) rooms.broadcast(room, frame(room, [...names.keys()]), 'typing');
      if (names.size === 0 || !rooms.has(room)) typists.delete(room);
    }
    changed.clear();
    if (typists.size > 0) schedule();
  }

  return {
    typed(room, name) {
      let names = outgoing.get(room);
      if (!names) outgoing.set(room, (names = new Set()));
      names.add(name);
      schedule();
    },
    heard(room, names) {
      if (!rooms.has(room) || names.length === 0) return;
      let known = typists.get(room);
      if (!known) typists.set(room, (known = new Map()));
      const until = clock.now() + ttlMs;
      for (const name of names) {
        if (!known.has(name)) changed.add(room);
        known.set(name, until);
      }
      schedule();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
