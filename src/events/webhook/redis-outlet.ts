// Webhook delivery with Redis: the queue is the events stream itself, read through a consumer
// group that every instance joins with a consumer of its own. An entry leaves the group's pending
// list only when the receiver has answered 2xx (XACK) or it has gone to the dead-letter stream, so
// an instance that dies mid-batch loses nothing: its batch stays pending, and after claimIdleMs
// another instance takes it over (XAUTOCLAIM) and delivers it again. Hence at least once, and why
// a receiver dedupes by `id`. A holder that is still retrying keeps its claim fresh (XCLAIM), so
// nobody takes over a batch whose holder is alive.
import type { EventsRedis } from '../redis-port.ts';
import type { Logger } from '../../log/logger.ts';
import type { EventMetrics } from '../../metrics/events.ts';
import { createSleeper, retryDelayMs } from './backoff.ts';
import type { WebhookPoster } from './poster.ts';
import { groupBacklog, parseEntries, readEntries, type StreamEntry } from './stream-replies.ts';

export interface RedisOutletOptions {
  redis: EventsRedis;
  /** The events stream; entries carry `type` and `data` (the event's JSON without `id`). */
  stream: string;
  group: string;
  /** This instance's name in the group: unique per live instance. */
  consumer: string;
  /** Where given-up entries go, trimmed to about `deadLetterMaxLen` (WEBHOOK_DEAD_LETTER_MAXLEN). */
  deadLetters: string;
  deadLetterMaxLen: number;
  poster: Pick<WebhookPoster, 'post'>;
  batchSize: number;
  /** POSTs per batch by one holder before it is dead-lettered (WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  baseDelayMs: number;
  capDelayMs: number;
  /** A pending entry untouched this long is taken over. Keep it well above the POST timeout. */
  claimIdleMs: number;
  /** How long one XREADGROUP waits for new entries (at least 1: BLOCK 0 would wait forever). */
  blockMs: number;
  metrics: Pick<EventMetrics, 'webhookAttempt' | 'webhookDelivered' | 'webhookDeadLettered' | 'reportWebhookBacklog'>;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** How often the backlog is read from XINFO GROUPS; 5000 ms by default. */
  backlogEveryMs?: number;
  /** How long stop() waits for the batch in flight; 5000 ms by default (a POST at the default WEBHOOK_TIMEOUT_MS). */
  stopTimeoutMs?: number;
}

export interface RedisOutlet {
  start(): void;
  /** Ends delivery within stopTimeoutMs; a batch not acked by then stays pending for another instance. */
  stop(): Promise<void>;
  /** The group's last-read lag plus pending entries. */
  backlog(): number;
}

/**
 * XCLAIM ... JUSTID of each id still pending for this consumer, in one step. Only what is still ours
 * is claimed: with XCLAIM alone (min idle 0), a holder that stalled would take back a batch another
 * instance had just taken over, and both would deliver it. KEYS: stream; ARGV: group, consumer, ids.
 */
const KEEP_CLAIM = `
local kept = {}
for i = 3, #ARGV do
  if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) == 1
    and #redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID') == 1 then
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
`;

const textOf = (err: unknown): string => (err instanceof Error ? err.message || err.name : String(err));

export function createRedisOutlet(options: RedisOutletOptions): RedisOutlet {
  const { redis, stream, group, consumer, deadLetters, poster, metrics, logger, maxAttempts, baseDelayMs, capDelayMs } = options;
  const count = String(Math.max(1, options.batchSize));
  const block = String(Math.max(1, options.blockMs));
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  // Three refreshes per claimIdleMs: one late refresh still leaves the claim fresh.
  const refreshEveryMs = Math.max(50, Math.floor(options.claimIdleMs / 3));
  const sleeper = createSleeper();
  let stopping = false;
  let loopDone: Promise<void> | undefined;
  let backlogTimer: NodeJS.Timeout | undefined;
  let lastBacklog = 0;
  /** Where the next XAUTOCLAIM resumes its scan of the pending list. */
  let cursor = '0-0';
  /** Failures since Redis last answered: the first one of a burst is logged, the rest counted. */
  let failures = 0;

  metrics.reportWebhookBacklog(() => lastBacklog);

  function failed(op: string, err: unknown): void {
    if (failures++ === 0) logger.warn({ op, err: textOf(err), stream }, 'webhook outlet: redis command failed, retrying with backoff');
  }
  function answered(): void {
    if (failures > 0) logger.info({ failures, stream }, 'webhook outlet: redis answers again');
    failures = 0;
  }
  async function call(args: string[]): Promise<unknown> {
    const reply = await redis.call(args);
    answered();
    return reply;
  }

  /** Runs `op` until it succeeds (true) or the outlet stops (false): a lost ack or dead letter would mean a needless redelivery. */
  async function persist(name: string, op: () => Promise<unknown>): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        await op();
        return true;
      } catch (err) {
        failed(name, err);
        if (stopping) return false;
        await sleeper.sleep(retryDelayMs(tries, baseDelayMs, capDelayMs));
      }
    }
  }

  const ack = (ids: string[]): Promise<boolean> => (ids.length === 0 ? Promise.resolve(true) : persist('XACK', () => call(['XACK', stream, group, ...ids])));

  async function createGroup(): Promise<void> {
    try {
      await call(['XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM']);
    } catch (err) {
      if (!textOf(err).startsWith('BUSYGROUP')) throw err;
      answered();
    }
  }

  /** Batches another consumer left pending too long first, else new entries (waiting up to blockMs). */
  async function nextBatch(): Promise<StreamEntry[]> {
    const gone: string[] = [];
    const claimed = await call(['XAUTOCLAIM', stream, group, consumer, String(options.claimIdleMs), cursor, 'COUNT', count]);
    let entries: StreamEntry[] = [];
    if (Array.isArray(claimed)) {
      cursor = typeof claimed[0] === 'string' ? claimed[0] : '0-0';
      entries = parseEntries(claimed[1], gone);
      if (Array.isArray(claimed[2])) gone.push(...claimed[2].map(String));
    }
    if (entries.length === 0 && !stopping) {
      const read = await redis.block(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'BLOCK', block, 'STREAMS', stream, '>']);
      answered();
      entries = readEntries(read, gone);
    }
    // Trimmed before they were delivered: nothing left to send, so only the pending list is cleaned.
    await ack(gone);
    return entries;
  }

  /** Resets the idle time of the entries this consumer still holds; returns those (another may have taken some over). */
  async function keepClaim(held: StreamEntry[]): Promise<StreamEntry[]> {
    if (held.length === 0) return held;
    try {
      const kept = await call(['EVAL', KEEP_CLAIM, '1', stream, group, consumer, ...held.map((e) => e.id)]);
      const ids = new Set((Array.isArray(kept) ? kept : []).map(String));
      return held.filter((e) => ids.has(e.id));
    } catch (err) {
      // Most likely Redis is away for every instance, so nobody takes the batch over meanwhile; if
      // one did, the next refresh that gets through says so.
      failed('XCLAIM', err);
      return held;
    }
  }

  /** Waits `ms` before the next try, refreshing the claim before and during the wait. */
  async function waitHolding(held: StreamEntry[], ms: number): Promise<StreamEntry[]> {
    const until = Date.now() + ms;
    let mine = await keepClaim(held);
    // Bounded: each turn sleeps until the deadline or a refresh, and stop() ends the sleeps.
    for (let left = until - Date.now(); left > 0 && mine.length > 0 && !stopping; left = until - Date.now()) {
      await sleeper.sleep(Math.min(left, refreshEveryMs));
      mine = await keepClaim(mine);
    }
    return mine;
  }

  /** Moves `entries` to the dead-letter stream, then acks them: false when the outlet stopped first. */
  async function deadLetter(entries: StreamEntry[], attempts: number, status: string): Promise<boolean> {
    const written = new Set<string>();
    const max = String(options.deadLetterMaxLen);
    const wrote = await persist('XADD', async () => {
      const todo = entries.filter((e) => !written.has(e.id));
      const results = await Promise.allSettled(todo.map((e) => call(['XADD', deadLetters, 'MAXLEN', '~', max, '*', 'id', e.id, 'type', e.type, 'data', e.data, 'attempts', String(attempts), 'status', status])));
      let failure: unknown;
      results.forEach((r, i) => {
        if (r.status === 'rejected') failure ??= r.reason;
        else written.add(todo[i]?.id ?? '');
      });
      if (failure !== undefined) throw failure;
    });
    if (!wrote || !(await ack(entries.map((e) => e.id)))) return false;
    metrics.webhookDeadLettered(entries.length);
    // Ids only, never contents: a message's text must not end up in the logs.
    logger.warn({ events: entries.length, attempts, status, firstId: entries[0]?.id, lastId: entries.at(-1)?.id, deadLetters }, 'webhook batch dead-lettered');
    return true;
  }

  async function deliver(batch: StreamEntry[]): Promise<void> {
    const broken = batch.filter((e) => e.json === undefined);
    if (broken.length > 0 && !(await deadLetter(broken, 0, 'malformed'))) return;
    let held = batch.filter((e) => e.json !== undefined);
    let status = '';
    for (let attempt = 1; attempt <= maxAttempts && held.length > 0; attempt++) {
      const result = await poster.post(`{"events":[${held.map((e) => e.json).join(',')}]}`);
      metrics.webhookAttempt(result.outcome, result.seconds);
      if (result.outcome === 'ok') {
        // Counted once the receiver has them, whether or not the ack reaches Redis.
        metrics.webhookDelivered(held.length);
        await ack(held.map((e) => e.id));
        return;
      }
      status = result.status === undefined ? result.outcome : String(result.status);
      if (stopping) return; // abandoned: it stays pending, and another instance takes it over
      if (attempt < maxAttempts) held = await waitHolding(held, retryDelayMs(attempt, baseDelayMs, capDelayMs));
      if (stopping) return;
    }
    if (held.length > 0) await deadLetter(held, maxAttempts, status);
  }

  async function loop(): Promise<void> {
    let needGroup = true;
    // Bounded by stop(): every turn waits on Redis (BLOCK), the receiver, or a backoff.
    for (let tries = 1; !stopping; ) {
      try {
        if (needGroup) {
          await createGroup();
          needGroup = false;
        }
        const batch = await nextBatch();
        tries = 1;
        if (batch.length > 0 && !stopping) await deliver(batch);
      } catch (err) {
        if (stopping) return;
        failed('read', err);
        // The stream or group was deleted under us (FLUSHALL, a new Redis): make them again.
        if (textOf(err).startsWith('NOGROUP')) needGroup = true;
        await sleeper.sleep(retryDelayMs(tries++, baseDelayMs, capDelayMs));
      }
    }
  }

  async function readBacklog(): Promise<void> {
    lastBacklog = groupBacklog(await redis.call(['XINFO', 'GROUPS', stream]), group) ?? lastBacklog;
  }

  let reading = false;
  function refreshBacklog(): void {
    if (reading || stopping) return;
    reading = true;
    // A failed reading keeps the last value: the delivery loop meets the same failure and logs it.
    readBacklog()
      .catch(() => {})
      .finally(() => (reading = false));
  }

  return {
    start() {
      if (loopDone || stopping) return;
      loopDone = loop();
      refreshBacklog();
      backlogTimer = setInterval(refreshBacklog, options.backlogEveryMs ?? 5000);
      backlogTimer.unref();
    },
    async stop() {
      stopping = true;
      sleeper.wake();
      clearInterval(backlogTimer);
      if (!loopDone) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, stopTimeoutMs);
        timer.unref();
      });
      await Promise.race([loopDone, late]);
      clearTimeout(timer);
    },
    backlog: () => lastBacklog,
  };
}
