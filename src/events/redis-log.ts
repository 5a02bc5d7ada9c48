// Events with Redis: the events stream is both what the backend reads (with a consumer group) and
// the webhooks' queue. Each instance writes its events, with the membership they change, in one
// script call per batch (EVENTS_APPLY), holds a lease it renews, and watches the others' leases:
// when one lapses, one survivor (a lock) reports everything the dead instance held as gone,
// reason `instance_lost` (EVENTS_REAP). Events made while Redis is away wait in a bounded outbox.
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import type { EventMetrics } from '../metrics/events.ts';
import { EVENT_TYPES, type EventType } from '../protocol/backend-events.ts';
import type { EventConn, EventLog } from './log.ts';
import type { EventsRedis } from './redis-port.ts';
import { EVENTS_APPLY, EVENTS_CLAIM_DEAD, EVENTS_LEASE, EVENTS_REAP, runScript } from './redis-scripts.ts';
import { eventsKeys } from './keys.ts';

export interface RedisEventLogOptions {
  redis: EventsRedis;
  /** The broker's key prefix, with its hash tag. */
  prefix: string;
  /** The broker's instance id: its presence and roster are cleared with its events state. */
  instance: string;
  types: ReadonlySet<EventType>;
  includeText: boolean;
  maxLen: number;
  outboxMax: number;
  /** PRESENCE_TTL_MS: a lease not renewed for this long has lapsed. */
  leaseTtlMs: number;
  clock: Clock;
  logger: Logger;
  metrics: Pick<EventMetrics, 'eventEmitted' | 'eventsDropped'>;
  /** What this instance holds now, told again if a survivor reported it gone while it was still alive. */
  snapshot(): { conns: EventConn[]; members: Array<[string, EventConn]> };
}

const BATCH_OPS = 200;
const REAP_BATCH = 200;
/**
 * A room's sequence lasts as long as it has members, and an hour after its last one left: a room
 * vacated and occupied again within the hour goes on counting; later, it starts again at 1.
 */
const SEQ_TTL_MS = 3_600_000;

export function createRedisEventLog(options: RedisEventLogOptions): EventLog & { start(): void } {
  const { redis, instance, types, includeText, clock, logger, metrics } = options;
  const keys = eventsKeys(options.prefix, instance);
  const common = [instance, String(options.maxLen), [...types].join(','), options.prefix, String(SEQ_TTL_MS)];
  const tracksRooms = [...types].some((t) => t.startsWith('room.'));
  const tracksConns = [...types].some((t) => t.startsWith('connection.'));
  const known: ReadonlySet<string> = new Set(EVENT_TYPES);
  let outbox: string[][] = [];
  let flushing = false;
  let scheduled = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let timers: NodeJS.Timeout[] = [];
  let registered = false;
  let stopped = false;

  // One ISO string per millisecond: most events of a busy instance share theirs.
  let isoMs = -1;
  let iso = '';
  const time = (): string => {
    const ms = Math.floor(clock.now());
    if (ms !== isoMs) {
      isoMs = ms;
      iso = new Date(ms).toISOString();
    }
    return iso;
  };

  function counted(reply: unknown): void {
    if (!Array.isArray(reply)) return;
    for (const type of reply) if (typeof type === 'string' && known.has(type)) metrics.eventEmitted(type as EventType);
  }

  function queue(op: string[]): void {
    if (stopped) return;
    outbox.push(op);
    if (outbox.length > options.outboxMax) {
      const over = outbox.length - options.outboxMax;
      outbox = outbox.slice(over);
      metrics.eventsDropped(over);
      if (failures <= 1) logger.warn({ dropped: over, outboxMax: options.outboxMax }, 'events outbox full while Redis is away: oldest dropped');
    }
    schedule();
  }

  function schedule(): void {
    if (scheduled || flushing || retry) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      void flush();
    });
  }

  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      while (outbox.length > 0) {
        const batch = outbox.slice(0, BATCH_OPS);
        counted(await runScript(redis, EVENTS_APPLY, [keys.stream, keys.heldMembers, keys.heldConns], [...common, ...batch.flat()]));
        outbox = outbox.slice(batch.length);
        failures = 0;
      }
    } catch (err) {
      // Kept, in order, and tried again: capped, jittered backoff.
      if (failures++ === 0) logger.warn({ err: String(err), waiting: outbox.length }, 'events not stored yet: Redis unavailable, retrying');
      const cap = Math.min(5000, 100 * 2 ** Math.min(failures, 10));
      retry = setTimeout(() => {
        retry = undefined;
        schedule();
      }, cap / 2 + (cap / 2) * Math.random());
      retry.unref();
    } finally {
      flushing = false;
    }
    if (outbox.length > 0 && !retry) schedule();
  }

  /** One operation of EVENTS_APPLY: OP_FIELDS (8) strings. */
  const op = (kind: string, room: string, conn: EventConn, a = '', b = '', c = ''): string[] => [kind, time(), room, conn.connId, conn.sub ?? '', a, b, c];

  function retell(): void {
    const { conns, members } = options.snapshot();
    logger.warn({ connections: conns.length, memberships: members.length }, 'events lease had lapsed and this instance was reported gone: telling what it holds again');
    if (tracksConns) for (const conn of conns) queue(op('o', '', conn));
    if (tracksRooms) for (const [room, conn] of members) queue(op('j', room, conn));
  }

  async function renewLease(): Promise<void> {
    try {
      const kept = await runScript(redis, EVENTS_LEASE, [keys.leases], [instance, String(options.leaseTtlMs), registered ? '0' : '1']);
      if (registered && kept === 0) retell();
      registered = true;
    } catch (err) {
      logger.debug({ err: String(err) }, 'events lease not renewed');
    }
  }

  async function reapOne(): Promise<void> {
    try {
      const dead = await runScript(redis, EVENTS_CLAIM_DEAD, [keys.leases], [instance, String(options.leaseTtlMs), keys.reapLockPrefix]);
      if (typeof dead !== 'string') return;
      const theirs = eventsKeys(options.prefix, dead);
      let reported = 0;
      for (let reply: unknown = []; Array.isArray(reply); ) {
        reply = await runScript(redis, EVENTS_REAP, [keys.stream, theirs.heldMembers, theirs.heldConns, keys.leases], [...common, dead, time(), String(REAP_BATCH)]);
        counted(reply);
        if (Array.isArray(reply)) reported += reply.length;
      }
      logger.warn({ dead, events: reported }, 'instance lease lapsed: its members and connections reported gone (instance_lost)');
    } catch (err) {
      logger.warn({ err: String(err) }, 'reporting a lapsed instance failed: another pass will');
    }
  }

  return {
    start() {
      const every = Math.max(100, Math.floor(options.leaseTtlMs / 3));
      void renewLease();
      timers = [setInterval(() => void renewLease(), every), setInterval(() => void reapOne(), Math.min(1000, every))];
      for (const t of timers) t.unref();
    },
    opened: (conn) => tracksConns && queue(op('o', '', conn)),
    closed: (conn, code) => tracksConns && queue(op('c', '', conn, String(code))),
    joined: (room, conn) => tracksRooms && queue(op('j', room, conn)),
    left: (room, conn, reason) => tracksRooms && queue(op('l', room, conn, reason)),
    published(facts, conn) {
      // No connection: the server API's (an empty connId in the script).
      if (types.has('message.published')) queue(op('p', facts.room, conn ?? { connId: '', sub: undefined }, facts.messageId, facts.from, includeText ? facts.text : ''));
    },
    async close(timeoutMs) {
      for (const t of timers) clearInterval(t);
      const deadline = clock.now() + timeoutMs;
      while (outbox.length > 0 && clock.now() < deadline) {
        if (!flushing && !scheduled) void flush();
        await new Promise((r) => setTimeout(r, 20));
      }
      stopped = true;
      clearTimeout(retry);
      // Everything told: the lease goes, and no survivor reports this instance's sockets twice.
      if (outbox.length === 0) await redis.call(['ZREM', keys.leases, instance]).catch(() => {});
    },
  };
}
