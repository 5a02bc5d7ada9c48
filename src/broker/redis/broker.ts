// The broker for several instances: chat messages, history, presence and typing in Redis.
//
// A stream per room (XADD ... MAXLEN = HISTORY_SIZE + margin) is at once the bounded history, the
// source of the per-room increasing id (the entry id) and the record every delivery is checked
// against: a client that reconnects elsewhere replays from its own last id with XRANGE. The one
// script call that stores a message (publish.ts) also pushes it, with the id of the entry before
// it, on the room's channel; every instance subscribed to the rooms it has members in delivers
// the pushes in order and reads from the stream whatever a gap in the ids says it missed
// (feed.ts). So live delivery costs one command a message whatever the number of instances, and
// pub/sub's fire-and-forget (a reconnect, a restart, a slot moving) loses nothing: the stream
// still has it. The sender's own copy (its acknowledgement) comes by the same path as everyone
// else's, so it can never arrive before the message is in Redis. Presence: presence.ts.
// Ephemeral publications and control events ride the events stream (events.ts), each entry with
// a `kind`; a kind this version does not know (a newer instance in a rolling deploy) is logged and
// counted, never taken for another.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import { NO_LISTENER, type Broker, type History, type HistorySizeOf } from '../broker.ts';
import { createRedisConnection, errorText } from './connection.ts';
import { entraIdCredentials } from './entra.ts';
import { createEventsReader } from './events.ts';
import { createRoomFeed } from './feed.ts';
import { DEFAULT_KEY_PREFIX, redisKeys } from './keys.ts';
import { createPresence } from './presence.ts';
import { createPublisher } from './publish.ts';
import { createReplay } from './replay.ts';
import { createRosters } from './roster.ts';
import { timed } from './timed.ts';

export interface RedisBrokerOptions {
  url: string;
  /** The same URL without its password, for logs and /readyz. */
  displayUrl: string;
  historySize: number;
  /** Per room, overriding `historySize` (latest-value rooms keep 1). Default: `historySize` everywhere. */
  historySizeOf?: HistorySizeOf;
  presenceTtlMs: number;
  /** A room's stream expires this long after its last message (HISTORY_TTL_MS). Default 24 h. */
  historyTtlMs?: number;
  logger: Logger;
  metrics: BrokerMetrics;
  /** Prefix of every key, with a hash tag so that every key lands in one cluster slot. Default `{socketship}:`. */
  keyPrefix?: string;
  /** A Redis Cluster (OSS cluster API), discovered from `url`. Default false. */
  cluster?: boolean;
  /** `entra-id`: a Microsoft Entra ID token from the managed identity instead of a password. Default `password` (the URL's, if any). */
  auth?: 'password' | 'entra-id';
  /** With `entra-id`: the client id of a user-assigned managed identity; else the system-assigned one. */
  azureClientId?: string | undefined;
  /** This instance's name in Redis (presence, rosters; the events' lease uses the same). Default: random. */
  instanceId?: string;
  /** A message Redis cannot take within this long is refused (the sender gets 1013). Default 10 s. */
  publishTimeoutMs?: number;
}

/**
 * A room's stream keeps HISTORY_SIZE messages for replay plus this many more, so that an
 * instance whose reader is a burst behind (a backlog written at once after a Redis outage)
 * still finds every message it has not delivered yet.
 */
const DELIVERY_MARGIN = 1000;
const CLOSE_FLUSH_MS = 3000;
const EVENTS_MAXLEN = 1000;

export function createRedisBroker(options: RedisBrokerOptions): Broker {
  const { logger, metrics, historySize } = options;
  const historySizeOf = options.historySizeOf ?? (() => historySize);
  const keys = redisKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const retentionOf = (room: string): number => historySizeOf(room) + DELIVERY_MARGIN;
  const TRIM = { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: EVENTS_MAXLEN } } as const;
  let unknownKinds = 0;
  const instanceId = options.instanceId ?? randomBytes(6).toString('hex');
  let listener = NO_LISTENER;
  let closing = false;

  const conn = createRedisConnection({
    url: options.url,
    displayUrl: options.displayUrl,
    instanceId,
    logger,
    metrics,
    cluster: options.cluster ?? false,
    slotKey: keys.events,
    credentials: options.auth === 'entra-id' ? entraIdCredentials({ clientId: options.azureClientId, logger }) : undefined,
    onReady: () => void resync(),
  });
  const rosters = createRosters(conn, keys, instanceId, options.presenceTtlMs, logger, metrics);
  const presence = createPresence({ conn, keys, instanceId, ttlMs: options.presenceTtlMs, logger, metrics, announce: (room, total) => listener.presence(room, total) });
  const feed = createRoomFeed({ conn, keys, logger, metrics, onMessage: (message) => listener.message(message) });
  const events = createEventsReader({
    conn,
    keys,
    logger,
    metrics,
    onEvent(entry) {
      const { room, kind, type, data } = entry.fields;
      if (kind === 'presence' && room !== undefined) return presence.othersChanged(room);
      if (kind === 'ephemeral' && room !== undefined && type !== undefined && data !== undefined) return listener.ephemeral(room, type, data);
      if (kind === 'control' && type !== undefined && data !== undefined) return listener.control(type, data);
      metrics.brokerError('event');
      // At most one line per thousand: a flood of unknown entries must not flood the log.
      if (unknownKinds++ % 1000 === 0) logger.warn({ kind, id: entry.id, seen: unknownKinds }, 'events stream entry of an unknown kind or shape ignored');
    },
  });
  const publisher = createPublisher({
    conn,
    keys,
    instanceId,
    retentionOf,
    ttlMs: options.historyTtlMs ?? 86_400_000,
    push: options.cluster ? 'SPUBLISH' : 'PUBLISH',
    timeoutMs: options.publishTimeoutMs ?? 10_000,
    logger,
    metrics,
    follow: (rooms) => Promise.all(rooms.map((room) => feed.follow(room))).then(() => {}),
  });

  let needResync = false;
  /** After (re)connecting: this instance's counts written whole, unknown cursors fetched, the outbox resumed. */
  async function resync(): Promise<void> {
    try {
      await events.resync();
      feed.resync();
      await presence.resync();
      await rosters.rewrite();
    } catch (err) {
      logger.warn({ err: errorText(err) }, 'redis resync failed; retried at the next sweep');
      needResync = true;
    }
    publisher.pump();
  }

  async function sweep(): Promise<void> {
    if (closing) return;
    publisher.expire();
    for (const room of feed.sweep((r) => presence.hasLocal(r))) presence.forget(room);
    if (!conn.cmdReady()) return;
    if (needResync) {
      needResync = false;
      return resync();
    }
    await presence.refresh().catch((err: unknown) => logger.debug({ err: errorText(err) }, 'presence refresh failed'));
    await feed.check().catch((err: unknown) => logger.debug({ err: errorText(err) }, 'room feed check failed'));
  }
  const sweepTimer = setInterval(() => void sweep(), Math.max(250, Math.floor(options.presenceTtlMs / 3)));
  sweepTimer.unref();
  void events.run();

  const replay = createReplay({ conn, keys, feed, historySizeOf, retentionOf });

  return {
    publish: (draft, options) => (closing ? Promise.reject(new Error('broker closed')) : publisher.publish(draft, options)),
    subscribe(next) {
      listener = next;
    },
    presence(room, localMembers, members) {
      if (localMembers > 0) {
        if (conn.isReady()) void feed.follow(room).catch(() => {});
        else feed.touch(room);
      } else {
        feed.linger(room);
      }
      presence.setLocal(room, localMembers);
      if (members) rosters.set(room, members);
    },
    emit(room, type, data) {
      if (!conn.cmdReady()) return; // ephemeral: nothing waits for Redis
      void timed(metrics, 'emit', conn.cmd.xAdd(keys.events, '*', { kind: 'ephemeral', room, type, data }, TRIM)).catch(() => {});
    },
    members(room) {
      if (!conn.cmdReady()) return Promise.reject(new Error('redis unavailable'));
      return timed(metrics, 'presence', rosters.get(room));
    },
    async control(type, data) {
      if (!conn.cmdReady()) throw new Error('redis unavailable');
      await timed(metrics, 'control', conn.cmd.xAdd(keys.events, '*', { kind: 'control', type, data }, TRIM));
    },
    async history(room, since): Promise<History> {
      if (since === undefined) {
        // From now on: the room is read from its current end (or from when Redis is back).
        if (conn.isReady()) await feed.follow(room).catch(() => {});
        else feed.touch(room);
        // Unknown while Redis is away: '0-0' then replays what is kept, which errs on the side of repeats the client drops by id.
        return { messages: [], truncated: false, last: feed.cursorOf(room) ?? '0-0' };
      }
      if (!conn.cmdReady()) throw new Error('redis unavailable');
      return timed(metrics, 'history', replay(room, since));
    },
    unavailableReason: () => (closing ? 'broker closing' : conn.unavailableReason()),
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(sweepTimer);
      presence.stop();
      // Whatever senders are still waiting for gets its chance to be stored.
      await publisher.drain(Date.now() + CLOSE_FLUSH_MS);
      if (conn.cmdReady()) {
        await presence.leave().catch((err: unknown) => logger.warn({ err: errorText(err) }, 'could not remove presence on close; it expires by itself'));
      }
      feed.stop();
      events.stop();
      await conn.close();
    },
  };
}
