// The typing indicator: who in a room is typing now. Ephemeral (never stored or replayed) and
// coalesced at both ends, so its cost is bounded however many type at once:
// - out: the names typed on this instance go to the broker once per room per TYPING_FLUSH_MS;
// - in: each room's members get one `typing` frame per TYPING_FLUSH_MS at most, and only when the
//   list of typists changed (someone started, or stopped for TYPING_TTL_MS).
// A client sends `typing` while its user types (the page: at most once a second); every one
// counts toward the socket's rate limit like any other message. Across instances the names of a
// flush travel as one ephemeral publication of kind `typing` (a JSON list of names).
import type { Broker } from '../../broker/broker.ts';
import type { Clock } from '../../clock.ts';
import { TYPING_FLUSH_MS, TYPING_NAMES_MAX, TYPING_REPORT_MAX, TYPING_TTL_MS } from '../../protocol/limits.ts';
import { encode } from '../../protocol/messages.ts';
import { parsed, roomField, type Parsed } from '../../protocol/parse.ts';
import { isPersonalRoom } from '../../protocol/rooms.ts';
import type { Rooms } from '../rooms.ts';
import { inbound, targetRoom, type Feature, type FeatureDeps } from './feature.ts';

/** The ephemeral kind typists travel under between instances. */
export const TYPING_KIND = 'typing';

/** The frame each room's members get: who types now (at most TYPING_NAMES_MAX names, `others` more). Empty when nobody does. */
// A type, not an interface: it is a Frame, which takes any JSON field.
export type TypingFrame = {
  type: 'typing';
  room: string;
  names: string[];
  others: number;
};

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
    const typing: TypingFrame = { type: 'typing', room, names: names.slice(0, TYPING_NAMES_MAX), others: Math.max(0, names.length - TYPING_NAMES_MAX) };
    return encode(typing);
  }

  function flush(): void {
    timer = undefined;
    for (const [room, names] of outgoing) broker.emit(room, TYPING_KIND, JSON.stringify([...names].slice(0, TYPING_REPORT_MAX)));
    outgoing.clear();
    const now = clock.now();
    for (const [room, names] of typists) {
      for (const [name, until] of names) {
        if (until > now) continue;
        names.delete(name);
        changed.add(room);
      }
      if (changed.has(room)) rooms.sendAtTickEnd(room, frame(room, [...names.keys()]), 'typing');
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

/** The names of a typing publication (a JSON list of strings, from any instance: untrusted); anything else is dropped. */
export function parseTypingNames(data: string, max: number): string[] {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.filter((name): name is string => typeof name === 'string').slice(0, max);
}

export function parseTypingMessage(fields: Record<string, unknown>): Parsed<{ room: string | undefined }> {
  const room = roomField(fields.room, false);
  return room.ok ? parsed({ room: room.message }) : room;
}

/** The feature: `typing` in, `typing` frames out, one ephemeral kind between instances. */
export function createTypingFeature(deps: FeatureDeps, options: Partial<Pick<TypingOptions, 'flushMs' | 'ttlMs'>> = {}): Feature {
  const typing = createTyping({ broker: deps.broker, rooms: deps.rooms, clock: deps.clock, ...options });
  return {
    name: 'typing',
    inbound: {
      typing: inbound(parseTypingMessage, (socket, { room: wire }) => {
        // Typing in no room at all is a hint with nowhere to go, ignored as it always was.
        if (wire === undefined && socket.session.current === undefined) return;
        const target = targetRoom(socket.session, wire);
        if ('reason' in target) return deps.deny(socket, target.reason, wire);
        if (isPersonalRoom(target.room)) return deps.deny(socket, 'forbidden', wire ?? '@me');
        // Only members type: a socket still subscribing has no room to show it in yet.
        if (deps.rooms.isMember(socket, target.room)) typing.typed(target.room, socket.session.name);
      }),
    },
    ephemeral: { [TYPING_KIND]: (room, data) => typing.heard(room, parseTypingNames(data, TYPING_REPORT_MAX)) },
    stop: () => typing.stop(),
  };
}
