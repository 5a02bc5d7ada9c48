// Presence across instances. Each instance keeps its own member counts in a hash whose TTL it
// refreshes, and a sorted set of live instances scored by the time (Redis's clock) their refresh
// expires. A room's size is the sum over live instances, so a crashed instance stops counting at
// most PRESENCE_TTL_MS after its last refresh. Changes are announced on the events stream that
// every instance reads.
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import { errorText, type RedisConnection } from './connection.ts';
import type { RedisKeys } from './keys.ts';
import { parseCounts } from './replies.ts';
import { evalScript, PRESENCE_COUNT, PRESENCE_LEAVE, PRESENCE_REFRESH, PRESENCE_SET } from './scripts.ts';
import { timed } from './timed.ts';

const COUNT_BATCH = 500;

export interface PresenceOptions {
  conn: RedisConnection;
  keys: RedisKeys;
  instanceId: string;
  ttlMs: number;
  logger: Logger;
  metrics: BrokerMetrics;
  /** The room's size over every instance; `always` when this instance's own count changed. */
  announce(room: string, total: number): void;
}

export interface Presence {
  /** This instance has `members` sockets in `room` now. */
  setLocal(room: string, members: number): void;
  hasLocal(room: string): boolean;
  /** Another instance changed `room`: count it again, announce only if the total moved. */
  othersChanged(room: string): void;
  /** Writes this instance's counts whole (after a reconnect). Throws when Redis fails. */
  resync(): Promise<void>;
  /** Extends this instance's lease and recounts its rooms, in one script call for up to 500 rooms. */
  refresh(): Promise<void>;
  /** Forgets what other instances had in `room` (nobody here follows it any more). */
  forget(room: string): void;
  /** A clean exit: this instance stops counting at once. */
  leave(): Promise<void>;
  stop(): void;
}

export function createPresence(options: PresenceOptions): Presence {
  const { conn, keys, instanceId, logger, metrics } = options;
  const ownHash = keys.instanceHashPrefix + instanceId;
  const ownRoster = keys.rosterHashPrefix + instanceId;
  const ttl = String(options.ttlMs);
  const localCounts = new Map<string, number>();
  /** Rooms whose local count changed since the last write. */
  const changed = new Set<string>();
  /** Rooms another instance changed. */
  const recount = new Set<string>();
  const lastTotals = new Map<string, number>();
  /** Members on other instances at the last count, for an estimate while Redis is away. */
  const remote = new Map<string, number>();
  let scheduled = false;
  let flushing = false;
  /** The sweep asked for the lease to be extended: the next count does it in the same call. */
  let leaseDue = false;
  let stopped = false;

  function announce(room: string, total: number, always: boolean): void {
    const before = lastTotals.get(room);
    if (localCounts.has(room)) lastTotals.set(room, total);
    else lastTotals.delete(room);
    if (always || before !== total) options.announce(room, total);
  }

  function schedule(): void {
    if (scheduled || stopped) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      void flush();
    });
  }

  function writeCounts(replace: boolean, pairs: string[]): Promise<unknown> {
    return evalScript(conn.cmd, PRESENCE_SET, [ownHash, keys.instances, keys.events, ownRoster], [instanceId, ttl, replace ? '1' : '0', ...pairs]);
  }

  /** With `lease`, the first call extends this instance's lease as well (even for no room at all). */
  async function countRooms(rooms: string[], lease: boolean): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    for (let i = 0; i < rooms.length || (lease && i === 0); i += COUNT_BATCH) {
      const part = rooms.slice(i, i + COUNT_BATCH);
      const reply = lease && i === 0
        ? await evalScript(conn.cmd, PRESENCE_REFRESH, [ownHash, keys.instances, ownRoster], [instanceId, ttl, keys.instanceHashPrefix, ...part])
        : await evalScript(conn.cmd, PRESENCE_COUNT, [keys.instances], [keys.instanceHashPrefix, ...part]);
      const counts = parseCounts(reply, part.length);
      if (!counts) throw new Error('unexpected reply to the presence count');
      part.forEach((room, j) => totals.set(room, counts[j] ?? 0));
    }
    return totals;
  }

  async function flush(): Promise<void> {
    if (flushing) return schedule();
    flushing = true;
    const mine = [...changed];
    const theirs = [...recount].filter((room) => !changed.has(room));
    changed.clear();
    recount.clear();
    // Writing counts extends the lease too.
    const lease = leaseDue && mine.length === 0;
    leaseDue = false;
    try {
      if (mine.length > 0) await timed(metrics, 'presence', writeCounts(false, mine.flatMap((room) => [room, String(localCounts.get(room) ?? 0)])));
      const totals = await timed(metrics, 'presence', countRooms([...mine, ...theirs], lease));
      for (const [room, total] of totals) {
        const local = localCounts.get(room) ?? 0;
        remote.set(room, Math.max(0, total - local));
        announce(room, Math.max(total, local), mine.includes(room));
      }
    } catch (err) {
      // Redis away: the counts are written again on reconnect (resync); meanwhile an estimate.
      for (const room of mine) announce(room, (localCounts.get(room) ?? 0) + (remote.get(room) ?? 0), true);
      if (!stopped) logger.debug({ err: errorText(err) }, 'presence update deferred');
    } finally {
      flushing = false;
    }
  }

  function recountAll(): void {
    for (const room of localCounts.keys()) recount.add(room);
    schedule();
  }

  return {
    setLocal(room, members) {
      if (members > 0) localCounts.set(room, members);
      else localCounts.delete(room);
      changed.add(room);
      schedule();
    },
    hasLocal: (room) => localCounts.has(room),
    othersChanged(room) {
      if (!localCounts.has(room)) return;
      recount.add(room);
      schedule();
    },
    async resync() {
      await writeCounts(true, [...localCounts].flatMap(([room, n]) => [room, String(n)]));
      recountAll();
    },
    async refresh() {
      leaseDue = true;
      recountAll();
    },
    forget(room) {
      remote.delete(room);
    },
    async leave() {
      const rooms = [...new Set([...localCounts.keys(), ...lastTotals.keys(), ...changed])];
      await evalScript(conn.cmd, PRESENCE_LEAVE, [ownHash, keys.instances, keys.events, ownRoster], [instanceId, ...rooms]);
    },
    stop() {
      stopped = true;
    },
  };
}
