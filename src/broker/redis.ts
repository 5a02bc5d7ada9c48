// The broker for several instances: chat messages, history and presence in Redis.
//
// Why Streams and not pub/sub. Pub/sub is fire-and-forget: a message published while an
// instance is reconnecting, restarting or busy is gone for it, there is no id to resume from
// and no history to replay. A stream per room (XADD ... MAXLEN = HISTORY_SIZE) is at once the
// bounded history, the source of the per-room increasing id (the entry id), and the delivery
// log: every instance reads the streams of the rooms it has members in with a blocking XREAD
// from the last id it delivered, so after a Redis hiccup it resumes exactly where it was, and a
// client that reconnects elsewhere replays from its own last id with XRANGE. The write that
// gives the message its id is the one that makes it durable, and the sender's own copy (its
// acknowledgement) is delivered by the same read path as everyone else's, so it can never
// arrive before the message is in Redis. Consumer groups (XREADGROUP) are not used: every
// instance must see every message of its rooms, which plain XREAD gives without
// per-instance group state to create and clean up.
//
// Presence: each instance keeps its own member counts in a hash whose TTL it refreshes, and a
// sorted set of live instances scored by the time (Redis's clock) their refresh expires. A
// room's size is the sum over live instances, so a crashed instance stops counting at most
// PRESENCE_TTL_MS after its last refresh. Changes are announced on a small presence-event stream
// that every instance also reads.
//
// Connections: one for commands, one for the blocking XREAD (a blocked connection can run
// nothing else); both reconnect forever with capped, jittered exponential backoff. Keys of one
// deployment share a prefix; the scripts touch keys they compute, so this needs a single Redis
// (primary/replica is fine), not Redis Cluster.
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientClosedError, ClientOfflineError, ErrorReply, createClient } from 'redis';
import type { Logger } from '../log/logger.ts';
import type { Broker, BrokerListener, BrokerMetrics, BrokerOp, ChatDraft, ChatMessage, History } from './broker.ts';
import { compareIdText, nextId, parseId } from './ids.ts';
import { parseCounts, parseEntries, parseHistoryReply, parseInteger, parseStreamId, parseXRead, toChatMessage } from './redis-replies.ts';

export interface RedisBrokerOptions {
  url: string;
  /** The same URL without its password, for logs and /readyz. */
  displayUrl: string;
  historySize: number;
  presenceTtlMs: number;
  logger: Logger;
  /** Prefix of every key. Default `socketship:`. */
  keyPrefix?: string;
  /** A message Redis cannot take within this long is refused (the sender gets 1013). Default 10 s. */
  publishTimeoutMs?: number;
}

type Client = ReturnType<typeof createClient>;

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: own hash, instances, events. ARGV: instance id, ttl ms, replace (1/0), then room, count pairs. */
const PRESENCE_SET = script(`${NOW_MS}
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
for i = 4, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  if n > 0 then redis.call('HSET', KEYS[1], ARGV[i], n) else redis.call('HDEL', KEYS[1], ARGV[i]) end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'room', ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 3600000)
return now`);

/** KEYS: instances. ARGV: hash key prefix, then rooms. The member count of each room over live instances. */
const PRESENCE_COUNT = script(`${NOW_MS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local totals = {}
for j = 2, #ARGV do totals[j - 1] = 0 end
for _, id in ipairs(ids) do
  local counts = redis.call('HMGET', ARGV[1] .. id, unpack(ARGV, 2))
  for j = 1, #counts do
    if counts[j] then totals[j] = totals[j] + tonumber(counts[j]) end
  end
end
return totals`);

/** KEYS: own hash, instances, events. ARGV: instance id, then rooms. A clean exit: stop counting at once. */
const PRESENCE_LEAVE = script(`redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 2, #ARGV do redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'room', ARGV[i]) end
return 1`);

/**
 * KEYS: room stream. ARGV: range end (the id after since), count. Existence, last id, max deleted id
 * and the newest `count` entries after since (newest first), atomically.
 */
const HISTORY = script(`if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, deleted = '0-0', ''
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
end
return {1, last, deleted, redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', ARGV[2])}`);

/**
 * KEYS: room stream. ARGV: maxlen, publish id, from, text, ts. A retry after an unknown outcome
 * (the connection dropped before the reply): the entry is added only if it is not already there.
 */
const PUBLISH_ONCE = script(`local recent = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])
for _, e in ipairs(recent) do
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'pid' and f[i + 1] == ARGV[2] then return e[1] end
  end
end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'from', ARGV[3], 'text', ARGV[4], 'ts', ARGV[5], 'pid', ARGV[2])`);

/**
 * A room's stream keeps HISTORY_SIZE messages for replay plus this many more, so that an
 * instance whose reader is a burst behind (a backlog written at once after a Redis outage)
 * still finds every message it has not delivered yet.
 */
const DELIVERY_MARGIN = 1000;
const READ_BLOCK_MS = 2000;
const READ_COUNT = 500;
const PUBLISH_BATCH = 256;
const COUNT_BATCH = 500;
/** A room with no local member stays read this long, so a join that is replaying history keeps its feed. */
const LINGER_MS = 30_000;
const HISTORY_WAIT_MS = 5000;
const CLOSE_FLUSH_MS = 3000;

interface Outgoing {
  draft: ChatDraft;
  /** Publish id: lets a retry find the entry if the first attempt did store it. */
  pid: string;
  queuedAt: number;
  /** The last attempt may have reached Redis; it is retried (idempotently) and never given up on. */
  uncertain: boolean;
  resolve(message: ChatMessage): void;
  reject(err: Error): void;
}

interface Watch {
  /** Last id delivered for this room; undefined until it is known (Redis unreachable so far). */
  cursor: string | undefined;
  lingerUntil: number;
  starting?: Promise<void>;
  waiters: { target: string; resolve(): void }[];
}

const NO_LISTENER: BrokerListener = { message: () => {}, presence: () => {} };
const NO_METRICS: BrokerMetrics = { brokerLatency: () => {}, brokerError: () => {}, brokerReconnect: () => {}, brokerConnected: () => {} };

/** The error was answered by Redis, or the command never left this process: the message is surely not stored. */
function surelyNotStored(err: unknown): boolean {
  return err instanceof ErrorReply || err instanceof ClientOfflineError || err instanceof ClientClosedError;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** Capped exponential backoff with jitter, so a fleet does not reconnect in lockstep. */
export function reconnectDelay(retries: number, random = Math.random): number {
  const cap = Math.min(5000, 100 * 2 ** Math.min(retries, 10));
  return Math.round(cap / 2 + (cap / 2) * random());
}

export function createRedisBroker(options: RedisBrokerOptions): Broker {
  const { logger, historySize, presenceTtlMs, displayUrl } = options;
  const prefix = options.keyPrefix ?? 'socketship:';
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  const retention = historySize + DELIVERY_MARGIN;
  const instanceId = randomBytes(6).toString('hex');
  const roomKeyPrefix = `${prefix}room:`;
  const roomKey = (room: string): string => roomKeyPrefix + room;
  const eventsKey = `${prefix}presence:events`;
  const instancesKey = `${prefix}presence:instances`;
  const hashPrefix = `${prefix}presence:instance:`;
  const ownHash = hashPrefix + instanceId;

  let listener = NO_LISTENER;
  let metrics = NO_METRICS;
  let closing = false;
  let closed = false;
  let lastError: string | undefined;
  let everReady = false;

  const clientOptions = {
    url: options.url,
    // Commands fail at once while disconnected instead of queueing unseen: the outbox below
    // decides what waits and for how long.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5000, reconnectStrategy: (retries: number) => reconnectDelay(retries) },
  };
  const cmd: Client = createClient({ ...clientOptions, name: `socketship-${instanceId}` });
  const reader: Client = createClient({ ...clientOptions, name: `socketship-${instanceId}-reader` });

  // ---- connection state ---------------------------------------------------------------------

  let readyWaiters: (() => void)[] = [];
  function wakeReadyWaiters(): void {
    for (const wake of readyWaiters.splice(0)) wake();
  }
  /** Resolves when both connections are ready, or after `ms`. */
  function untilReady(ms: number): Promise<void> {
    if (cmd.isReady && reader.isReady) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        readyWaiters = readyWaiters.filter((w) => w !== done);
        resolve();
      }
      readyWaiters.push(done);
    });
  }

  let readerId: number | undefined;
  for (const [client, role] of [[cmd, 'commands'], [reader, 'reader']] as const) {
    client.on('error', (err: unknown) => {
      lastError = message(err);
      metrics.brokerConnected(false);
      if (!closing) logger.warn({ role, err: lastError, redis: displayUrl }, 'redis error');
    });
    client.on('reconnecting', () => {
      if (role === 'commands') metrics.brokerReconnect();
    });
    client.on('ready', () => {
      if (role === 'reader') readerId = undefined;
      if (!(cmd.isReady && reader.isReady)) return;
      lastError = undefined;
      metrics.brokerConnected(true);
      logger.info({ redis: displayUrl, instance: instanceId, reconnect: everReady }, 'redis ready');
      everReady = true;
      wakeReadyWaiters();
      void resync();
    });
  }

  async function evalScript(s: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await cmd.evalSha(s.sha, { keys, arguments: args });
    } catch (err) {
      if (err instanceof ErrorReply && err.message.startsWith('NOSCRIPT')) return cmd.eval(s.source, { keys, arguments: args });
      throw err;
    }
  }

  function timed<T>(op: BrokerOp, work: Promise<T>): Promise<T> {
    const started = performance.now();
    return work.then(
      (value) => {
        metrics.brokerLatency(op, performance.now() - started);
        return value;
      },
      (err: unknown) => {
        metrics.brokerError(op);
        throw err;
      },
    );
  }

  // ---- watched rooms and the reader -----------------------------------------------------------

  const watched = new Map<string, Watch>();
  let eventsCursor: string | undefined;
  let readGeneration = 0;
  let reading = false;

  /** Makes the reader start over with the current set of rooms (CLIENT UNBLOCK ends its XREAD at once). */
  function unblockReader(): void {
    const generation = readGeneration;
    const unblock = (): void => {
      if (!reading || readGeneration !== generation || readerId === undefined || !cmd.isReady) return;
      cmd.clientUnblock(readerId, 'TIMEOUT').catch(() => {});
    };
    unblock();
    // The XREAD may not have reached Redis yet when the first UNBLOCK does; try once more.
    setTimeout(unblock, 25).unref();
  }

  function watch(room: string): Watch {
    let w = watched.get(room);
    if (!w) watched.set(room, (w = { cursor: undefined, lingerUntil: 0, waiters: [] }));
    w.lingerUntil = Date.now() + LINGER_MS;
    return w;
  }

  /** Reads the room from its current end on; resolves when the reader includes it. */
  function startWatch(room: string): Promise<void> {
    const w = watch(room);
    if (w.cursor !== undefined) return Promise.resolve();
    w.starting ??= (async () => {
      try {
        const last = parseEntries(await cmd.xRevRange(roomKey(room), '+', '-', { COUNT: 1 }))[0];
        w.cursor ??= last?.id ?? '0-0';
        unblockReader();
      } finally {
        w.starting = undefined;
      }
    })();
    return w.starting;
  }

  function settleWaiters(w: Watch): void {
    if (w.waiters.length === 0 || w.cursor === undefined) return;
    const cursor = w.cursor;
    w.waiters = w.waiters.filter((waiter) => {
      if (compareIdText(cursor, waiter.target) < 0) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once every message up to `target` of `room` has been delivered here. */
  function delivered(room: string, target: string): Promise<void> {
    const w = watch(room);
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
        reject(new Error(`room ${room} not caught up to ${target} within ${HISTORY_WAIT_MS} ms`));
      }, HISTORY_WAIT_MS);
      w.waiters.push(waiter);
    });
  }

  async function readLoop(): Promise<void> {
    while (!closed) {
      if (!reader.isReady) {
        await untilReady(1000);
        continue;
      }
      try {
        readerId ??= parseInteger(await reader.clientId());
      } catch {
        await sleep(100);
        continue;
      }
      const streams = [{ key: eventsKey, id: eventsCursor ?? '$' }];
      for (const [room, w] of watched) if (w.cursor !== undefined) streams.push({ key: roomKey(room), id: w.cursor });
      readGeneration++;
      reading = true;
      let reply: unknown;
      try {
        reply = await reader.xRead(streams, { BLOCK: READ_BLOCK_MS, COUNT: READ_COUNT });
      } catch (err) {
        reading = false;
        if (closed) return;
        metrics.brokerError('read');
        logger.debug({ err: message(err) }, 'redis read failed');
        await sleep(100);
        continue;
      } finally {
        reading = false;
      }
      for (const batch of parseXRead(reply)) {
        if (batch.key === eventsKey) {
          for (const entry of batch.entries) {
            eventsCursor = entry.id;
            const room = entry.fields.room;
            if (room !== undefined && localCounts.has(room)) recount.add(room);
          }
          continue;
        }
        if (!batch.key.startsWith(roomKeyPrefix)) continue;
        const room = batch.key.slice(roomKeyPrefix.length);
        const w = watched.get(room);
        if (!w) continue;
        for (const entry of batch.entries) {
          if (w.cursor !== undefined && compareIdText(entry.id, w.cursor) <= 0) continue;
          w.cursor = entry.id;
          const chat = toChatMessage(room, entry);
          if (chat) listener.message(chat);
          else logger.warn({ room, id: entry.id }, 'ignored a malformed entry in a room stream');
        }
        settleWaiters(w);
      }
      if (recount.size > 0) schedulePresenceFlush();
    }
  }

  // ---- presence -----------------------------------------------------------------------------

  const localCounts = new Map<string, number>();
  /** Rooms whose local count changed since the last write. */
  const changed = new Set<string>();
  /** Rooms another instance changed: count again, announce only if the total moved. */
  const recount = new Set<string>();
  const lastTotals = new Map<string, number>();
  /** Members on other instances at the last count, for an estimate while Redis is away. */
  const remote = new Map<string, number>();
  let flushScheduled = false;
  let flushing = false;

  function announce(room: string, total: number, always: boolean): void {
    const before = lastTotals.get(room);
    if (localCounts.has(room)) lastTotals.set(room, total);
    else lastTotals.delete(room);
    if (always || before !== total) listener.presence(room, total);
  }

  function schedulePresenceFlush(): void {
    if (flushScheduled || closed) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      void flushPresence();
    });
  }

  async function countRooms(rooms: string[]): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    for (let i = 0; i < rooms.length; i += COUNT_BATCH) {
      const part = rooms.slice(i, i + COUNT_BATCH);
      const counts = parseCounts(await evalScript(PRESENCE_COUNT, [instancesKey], [hashPrefix, ...part]), part.length);
      if (!counts) throw new Error('unexpected reply to the presence count');
      part.forEach((room, j) => totals.set(room, counts[j] ?? 0));
    }
    return totals;
  }

  async function flushPresence(): Promise<void> {
    if (flushing) {
      schedulePresenceFlush();
      return;
    }
    flushing = true;
    const mine = [...changed];
    const theirs = [...recount].filter((room) => !changed.has(room));
    changed.clear();
    recount.clear();
    try {
      if (mine.length > 0) {
        const pairs = mine.flatMap((room) => [room, String(localCounts.get(room) ?? 0)]);
        await timed('presence', evalScript(PRESENCE_SET, [ownHash, instancesKey, eventsKey], [instanceId, String(presenceTtlMs), '0', ...pairs]));
      }
      const totals = await timed('presence', countRooms([...mine, ...theirs]));
      for (const [room, total] of totals) {
        const local = localCounts.get(room) ?? 0;
        remote.set(room, Math.max(0, total - local));
        announce(room, Math.max(total, local), mine.includes(room));
      }
    } catch (err) {
      // Redis away: the rooms are written again on reconnect (resync); meanwhile an estimate.
      for (const room of mine) {
        const local = localCounts.get(room) ?? 0;
        announce(room, local + (remote.get(room) ?? 0), true);
      }
      if (!closing) logger.debug({ err: message(err) }, 'presence update deferred');
    } finally {
      flushing = false;
    }
  }

  /** After (re)connecting: this instance's counts written whole, unknown cursors fetched, the outbox resumed. */
  async function resync(): Promise<void> {
    try {
      if (eventsCursor === undefined) eventsCursor = parseEntries(await cmd.xRevRange(eventsKey, '+', '-', { COUNT: 1 }))[0]?.id ?? '0-0';
      const pairs = [...localCounts].flatMap(([room, n]) => [room, String(n)]);
      await evalScript(PRESENCE_SET, [ownHash, instancesKey, eventsKey], [instanceId, String(presenceTtlMs), '1', ...pairs]);
      for (const [room, w] of watched) if (w.cursor === undefined) void startWatch(room).catch(() => {});
      for (const room of localCounts.keys()) recount.add(room);
      schedulePresenceFlush();
    } catch (err) {
      logger.warn({ err: message(err) }, 'redis resync failed; retried at the next sweep');
      needResync = true;
    }
    void pump();
  }

  let needResync = false;
  async function sweep(): Promise<void> {
    if (closing) return;
    expireOutbox();
    const now = Date.now();
    for (const [room, w] of watched) {
      if (!localCounts.has(room) && w.lingerUntil < now && w.waiters.length === 0 && !w.starting) {
        watched.delete(room);
        remote.delete(room);
      }
    }
    if (!cmd.isReady) return;
    if (needResync) {
      needResync = false;
      await resync();
      return;
    }
    try {
      await timed('presence', evalScript(PRESENCE_SET, [ownHash, instancesKey, eventsKey], [instanceId, String(presenceTtlMs), '0']));
      for (const room of localCounts.keys()) recount.add(room);
      schedulePresenceFlush();
    } catch (err) {
      logger.debug({ err: message(err) }, 'presence refresh failed');
    }
  }
  const sweepTimer = setInterval(() => void sweep(), Math.max(250, Math.floor(presenceTtlMs / 3)));
  sweepTimer.unref();

  // ---- publishing ---------------------------------------------------------------------------

  let outbox: Outgoing[] = [];
  let pumping = false;
  let published = 0;

  function expireOutbox(): void {
    const now = performance.now();
    const expired = outbox.filter((o) => !o.uncertain && now - o.queuedAt > publishTimeoutMs);
    if (expired.length === 0) return;
    outbox = outbox.filter((o) => !expired.includes(o));
    for (const o of expired) o.reject(new Error(`redis unavailable for ${publishTimeoutMs} ms: message not stored`));
  }

  async function store(o: Outgoing): Promise<string> {
    const { room, from, text, ts } = o.draft;
    const reply = o.uncertain
      ? await evalScript(PUBLISH_ONCE, [roomKey(room)], [String(retention), o.pid, from, text, String(ts)])
      : await cmd.xAdd(roomKey(room), '*', { from, text, ts: String(ts), pid: o.pid }, { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: retention } });
    const id = parseStreamId(reply);
    if (id === undefined) throw new Error('unexpected reply to XADD');
    return id;
  }

  /** Writes the outbox in order, a pipelined batch at a time; failed entries stay at the front and are retried. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (outbox.length > 0 && !closed) {
        if (!cmd.isReady) {
          expireOutbox();
          await untilReady(250);
          continue;
        }
        const batch = outbox.slice(0, PUBLISH_BATCH);
        // The reader must follow a room before its first message is written there, or it would
        // start after it and the sender's own copy (the acknowledgement) would never come.
        const unread = [...new Set(batch.map((o) => o.draft.room))].filter((room) => watch(room).cursor === undefined);
        const results = await Promise.all(unread.map(startWatch)).then(
          () => Promise.allSettled(batch.map(store)),
          (err: unknown) => batch.map(() => ({ status: 'rejected', reason: err }) as const),
        );
        const done = new Set<Outgoing>();
        let failure: unknown;
        results.forEach((result, i) => {
          const o = batch[i];
          if (!o) return;
          if (result.status === 'fulfilled') {
            done.add(o);
            metrics.brokerLatency('publish', performance.now() - o.queuedAt);
            o.resolve({ id: result.value, ...o.draft });
          } else {
            failure = result.reason;
            metrics.brokerError('publish');
            if (!surelyNotStored(result.reason)) o.uncertain = true;
          }
        });
        outbox = outbox.filter((o) => !done.has(o));
        if (failure !== undefined) {
          logger.warn({ err: message(failure), waiting: outbox.length }, 'redis write failed; retrying');
          expireOutbox();
          await sleep(100);
        }
      }
    } finally {
      pumping = false;
    }
  }

  // ---- the Broker ---------------------------------------------------------------------------

  void cmd.connect().catch((err: unknown) => logger.error({ err: message(err) }, 'redis connection given up'));
  void reader.connect().catch((err: unknown) => logger.error({ err: message(err) }, 'redis reader connection given up'));
  void readLoop();

  return {
    publish(draft) {
      if (closing) return Promise.reject(new Error('broker closed'));
      return new Promise<ChatMessage>((resolve, reject) => {
        outbox.push({ draft, pid: `${instanceId}-${(published++).toString(36)}`, queuedAt: performance.now(), uncertain: false, resolve, reject });
        void pump();
      });
    },
    subscribe(next) {
      listener = next;
    },
    presence(room, localMembers) {
      if (localMembers > 0) {
        localCounts.set(room, localMembers);
        if (cmd.isReady) void startWatch(room).catch(() => {});
        else watch(room);
      } else {
        localCounts.delete(room);
        const w = watched.get(room);
        if (w) w.lingerUntil = Date.now() + LINGER_MS;
      }
      changed.add(room);
      schedulePresenceFlush();
    },
    async history(room, since): Promise<History> {
      if (since === undefined) {
        // From now on: the room is read from its current end (or from when Redis is back).
        if (cmd.isReady) await startWatch(room).catch(() => {});
        else watch(room);
        return { messages: [], truncated: false };
      }
      if (!cmd.isReady) throw new Error('redis unavailable');
      return timed('history', (async () => {
        await startWatch(room);
        const sinceId = parseId(since);
        const end = sinceId ? nextId(sinceId) : '-';
        // One more than HISTORY_SIZE: if it comes back, the client missed more than is replayed.
        const reply = parseHistoryReply(await evalScript(HISTORY, [roomKey(room)], [end, String(historySize + 1)]));
        if (!reply) throw new Error('unexpected reply to the history script');
        const anythingSeen = sinceId !== undefined && (sinceId[0] > 0n || sinceId[1] > 0n);
        let entries = reply.entries.reverse();
        let truncated: boolean;
        if (!reply.exists) {
          // The client saw messages of a room Redis no longer has: they are gone.
          truncated = anythingSeen;
        } else if (compareIdText(since, reply.lastId) > 0) {
          // An id newer than any this stream gave: Redis lost its data since. Everything kept is new to the client.
          entries = parseEntries(await cmd.xRevRange(roomKey(room), '+', '-', { COUNT: historySize })).reverse();
          truncated = true;
        } else if (entries.length > historySize) {
          entries = entries.slice(entries.length - historySize);
          truncated = true;
        } else if (reply.maxDeletedId !== undefined) {
          truncated = reply.maxDeletedId !== '0-0' && compareIdText(reply.maxDeletedId, since) > 0;
        } else {
          // Redis 6 does not report trimmed ids: a stream at its length limit may have lost some after since.
          truncated = anythingSeen && entries.length > 0 && (await cmd.xLen(roomKey(room))) >= retention;
        }
        await delivered(room, entries.at(-1)?.id ?? reply.lastId);
        const messages: ChatMessage[] = [];
        for (const entry of entries) {
          const chat = toChatMessage(room, entry);
          if (chat) messages.push(chat);
        }
        return { messages, truncated };
      })());
    },
    unavailableReason() {
      if (closing) return 'broker closing';
      if (cmd.isReady && reader.isReady) return undefined;
      return `redis unavailable (${displayUrl}): ${lastError ?? (everReady ? 'reconnecting' : 'connecting')}`;
    },
    instrument(next) {
      metrics = next;
      metrics.brokerConnected(cmd.isReady && reader.isReady);
    },
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(sweepTimer);
      // Whatever senders are still waiting for gets its chance to be stored.
      const deadline = Date.now() + CLOSE_FLUSH_MS;
      while (outbox.length > 0 && Date.now() < deadline && cmd.isReady) {
        void pump();
        await sleep(20);
      }
      for (const o of outbox.splice(0)) o.reject(new Error('broker closed'));
      if (cmd.isReady) {
        const rooms = [...new Set([...localCounts.keys(), ...lastTotals.keys(), ...changed])];
        await evalScript(PRESENCE_LEAVE, [ownHash, instancesKey, eventsKey], [instanceId, ...rooms]).catch((err: unknown) => {
          logger.warn({ err: message(err) }, 'could not remove presence on close; it expires by itself');
        });
      }
      closed = true;
      wakeReadyWaiters();
      for (const w of watched.values()) w.waiters.splice(0);
      reader.destroy();
      try {
        await cmd.close();
      } catch {
        cmd.destroy();
      }
    },
  };
}
