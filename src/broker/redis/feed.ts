// The room feed: every message of the rooms this instance follows, in id order within each room,
// no message twice. Messages come pushed on each room's channel by the script that stored them
// (scripts.ts): one PUBLISH a message, however many instances listen, where a read of the stream
// by every instance cost one command per instance per message. The stream stays the source of
// truth. Each push names the entry before it (`prev`): a push whose `prev` is past the last id
// delivered here means pushes were missed (a reconnect, a slot that moved, an instance of an older
// version that only appends), and the gap is read from the stream before anything newer is
// delivered. A push lost at the very end of a room's traffic has no later push to reveal it: the
// sweep's check (one script for every room, not a command per room) finds an entry that stayed
// undelivered for a whole sweep and reads it.
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import { compareIdText, nextId, parseId } from '../../protocol/ids.ts';
import type { ChatMessage } from '../broker.ts';
import { errorText, type RedisConnection } from './connection.ts';
import type { RedisKeys } from './keys.ts';
import { parseEntries, parseLastIds, parsePush, toChatMessage, type Push, type StreamEntry } from './replies.ts';
import { evalScript, LAST_IDS } from './scripts.ts';

const REPAIR_COUNT = 500;
/** Pushes held while a gap is read; past this they are dropped, and read from the stream as well. */
const HOLD_MAX = 10_000;
/** A room with no local member stays followed this long, so a join that is replaying history keeps its feed. */
const LINGER_MS = 30_000;
const CATCH_UP_WAIT_MS = 5000;
const CHECK_BATCH = 256;

export interface RoomFeedOptions {
  conn: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: BrokerMetrics;
  /** A chat message of a followed room, in id order within the room. */
  onMessage(message: ChatMessage): void;
}

export interface RoomFeed {
  /** Follows `room` from its current end (if not yet followed); resolves once its pushes are received here. */
  follow(room: string): Promise<void>;
  /** Keeps `room` followed for a while (a join is under way); starts following it once Redis is back. */
  touch(room: string): void;
  /** Keeps `room`, if followed, followed for a while longer (its last local member left). */
  linger(room: string): void;
  /** The last id delivered for `room`, once followed. */
  cursorOf(room: string): string | undefined;
  /** Resolves once every message up to `target` of `room` has been delivered here. */
  delivered(room: string, target: string): Promise<void>;
  /** Forgets (and unsubscribes from) rooms nobody here needs any more; returns them. */
  sweep(needed: (room: string) => boolean): string[];
  /** Every connection is back: rooms not yet followed are, and every room's gap is read. */
  resync(): void;
  /** Once a sweep: an entry that stayed undelivered since the last check is read from the stream. */
  check(): Promise<void>;
  stop(): void;
}

interface Watch {
  /** Last id delivered for this room; undefined until it is known (not subscribed, or Redis away). */
  cursor: string | undefined;
  lingerUntil: number;
  starting?: Promise<void> | undefined;
  /** While the cursor is not known or a gap is read: the pushes that came, to apply after, in order. */
  held: Push[] | undefined;
  overflow: boolean;
  /** Reading a gap failed: read again at the next check or reconnect. */
  behind: boolean;
  /** The stream's last id at the previous check, when it was past the cursor then. */
  suspect: string | undefined;
  waiters: { target: string; resolve(): void }[];
}

export function createRoomFeed(options: RoomFeedOptions): RoomFeed {
  const { conn, keys, logger, metrics } = options;
  const watched = new Map<string, Watch>();
  let malformed = 0;
  let stopped = false;

  function touch(room: string): Watch {
    let w = watched.get(room);
    if (!w) watched.set(room, (w = { cursor: undefined, lingerUntil: 0, held: undefined, overflow: false, behind: false, suspect: undefined, waiters: [] }));
    w.lingerUntil = Date.now() + LINGER_MS;
    return w;
  }

  function settle(w: Watch): void {
    if (w.waiters.length === 0 || w.cursor === undefined) return;
    const cursor = w.cursor;
    w.waiters = w.waiters.filter((waiter) => {
      if (compareIdText(cursor, waiter.target) < 0) return true;
      waiter.resolve();
      return false;
    });
  }

  function deliver(room: string, w: Watch, entries: readonly StreamEntry[]): void {
    for (const entry of entries) {
      if (w.cursor !== undefined && compareIdText(entry.id, w.cursor) <= 0) continue;
      w.cursor = entry.id;
      const chat = toChatMessage(room, entry);
      if (chat) options.onMessage(chat);
      else logger.warn({ room, id: entry.id }, 'ignored a malformed entry in a room stream');
    }
    settle(w);
  }

  /** Reads everything after the cursor from the stream, then applies the pushes held meanwhile. Called with `held` set. */
  async function repair(room: string, w: Watch): Promise<void> {
    const started = performance.now();
    try {
      do {
        w.overflow = false;
        let entries: StreamEntry[];
        do {
          const from = nextId(parseId(w.cursor ?? '0-0') ?? [0n, 0n]);
          entries = parseEntries(await conn.history.xRange(keys.room(room), from, '+', { COUNT: REPAIR_COUNT }));
          deliver(room, w, entries);
        } while (entries.length === REPAIR_COUNT);
      } while (w.overflow);
      w.behind = false;
      metrics.brokerLatency('repair', performance.now() - started);
    } catch (err) {
      // The pushes held are in the stream too: the next check or reconnect reads them, in order.
      Object.assign(w, { held: undefined, overflow: false, behind: true });
      metrics.brokerError('read');
      if (!stopped) logger.debug({ room, err: errorText(err) }, 'redis read of a missed range failed; retried at the next check');
      return;
    }
    const held = w.held ?? [];
    w.held = undefined;
    for (const [i, push] of held.entries()) {
      // Another gap among them: the repair it started applies the rest.
      const again = apply(room, w, push);
      if (again) return void again.push(...held.slice(i + 1));
    }
  }

  /** Starts reading the gap after the cursor, unless it is being read; returns where pushes are held meanwhile. */
  function startRepair(room: string, w: Watch): Push[] | undefined {
    if (w.held || w.cursor === undefined) return w.held;
    const held: Push[] = [];
    w.held = held;
    void repair(room, w);
    return held;
  }

  /** Delivers the push, or holds it; returns the held pushes when it started reading a gap. */
  function apply(room: string, w: Watch, push: Push): Push[] | undefined {
    if (w.held) {
      if (w.held.length < HOLD_MAX) w.held.push(push);
      else w.overflow = true;
      return undefined;
    }
    if (w.cursor === undefined || compareIdText(push.entry.id, w.cursor) <= 0) return undefined;
    if (compareIdText(push.prev, w.cursor) <= 0) return void deliver(room, w, [push.entry]);
    const held = startRepair(room, w);
    held?.push(push);
    return held;
  }

  function onPush(message: string, channel: string): void {
    const room = keys.roomOfChannel(channel);
    const w = room === undefined ? undefined : watched.get(room);
    if (room === undefined || !w) return;
    const push = parsePush(message);
    if (push) return void apply(room, w, push);
    metrics.brokerError('read');
    // At most one line per thousand; what the push should have carried is read from the stream.
    if (malformed++ % 1000 === 0) logger.warn({ room, seen: malformed }, 'malformed push on a room channel ignored');
    startRepair(room, w);
  }

  async function start(room: string, w: Watch): Promise<void> {
    if (w.cursor !== undefined) return void startRepair(room, w);
    w.held ??= [];
    try {
      // Subscribed first: whatever is stored after the cursor is read below is pushed here too.
      await conn.subscribe(keys.channel(room), onPush);
      const last = parseEntries(await conn.cmd.xRevRange(keys.room(room), '+', '-', { COUNT: 1 }))[0];
      w.cursor = last?.id ?? '0-0';
    } catch (err) {
      w.held = undefined;
      throw err;
    }
    await repair(room, w);
  }

  function follow(room: string): Promise<void> {
    const w = touch(room);
    if (w.cursor !== undefined && !w.behind) return Promise.resolve();
    w.starting ??= start(room, w).finally(() => {
      w.starting = undefined;
    });
    return w.starting;
  }

  async function checkBatch(rooms: [string, Watch][]): Promise<void> {
    const last = parseLastIds(await evalScript(conn.cmd, LAST_IDS, rooms.map(([room]) => keys.room(room)), []), rooms.length);
    if (!last) throw new Error('unexpected reply to the last-ids script');
    rooms.forEach(([room, w], i) => {
      const id = last[i];
      if (w.held || w.cursor === undefined) return;
      if (w.behind || (w.suspect !== undefined && compareIdText(w.cursor, w.suspect) < 0)) void startRepair(room, w);
      w.suspect = id !== undefined && id !== '' && compareIdText(id, w.cursor) > 0 ? id : undefined;
    });
  }

  return {
    follow,
    touch(room) {
      touch(room);
    },
    linger(room) {
      const w = watched.get(room);
      if (w) w.lingerUntil = Date.now() + LINGER_MS;
    },
    cursorOf: (room) => watched.get(room)?.cursor,
    delivered(room, target) {
      const w = touch(room);
      if (w.cursor !== undefined && compareIdText(w.cursor, target) >= 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const waiter = {
          target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          w.waiters = w.waiters.filter((x) => x !== waiter);
          reject(new Error(`room ${room} not caught up to ${target} within ${CATCH_UP_WAIT_MS} ms`));
        }, CATCH_UP_WAIT_MS);
        w.waiters.push(waiter);
      });
    },
    sweep(needed) {
      const now = Date.now();
      const dropped: string[] = [];
      for (const [room, w] of watched) {
        if (!needed(room) && w.lingerUntil < now && w.waiters.length === 0 && !w.starting && !w.held) {
          watched.delete(room);
          dropped.push(room);
          conn.unsubscribe(keys.channel(room)).catch(() => {});
        }
      }
      return dropped;
    },
    resync() {
      for (const [room, w] of watched) {
        if (w.cursor === undefined) void follow(room).catch(() => {});
        else void startRepair(room, w);
      }
    },
    async check() {
      const rooms = [...watched].filter(([, w]) => w.cursor !== undefined && !w.held);
      for (let i = 0; i < rooms.length; i += CHECK_BATCH) await checkBatch(rooms.slice(i, i + CHECK_BATCH));
    },
    stop() {
      stopped = true;
      for (const w of watched.values()) w.waiters.splice(0);
    },
  };
}
