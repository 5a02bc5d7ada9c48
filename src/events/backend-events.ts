// The backend's events, put together from the settings: nothing at all without EVENTS; without
// Redis, events made here and POSTed from a bounded queue in memory; with Redis, the events stream
// (read by the backend's consumer group, and by every instance's webhook outlet when WEBHOOK_URL
// is set), leases, and the survivors' report of an instance that died.
import { entraIdCredentials } from '../broker/redis/entra.ts';
import type { Clock } from '../clock.ts';
import type { EventsConfig } from '../config/events.ts';
import type { WebhookConfig } from '../config/webhook.ts';
import type { Logger } from '../log/logger.ts';
import type { EventMetrics } from '../metrics/events.ts';
import { eventsKeys } from './keys.ts';
import { NO_EVENTS, type EventConn, type EventLog } from './log.ts';
import { createMemoryEventLog } from './memory-log.ts';
import { createEventsLink } from './redis-link.ts';
import { createRedisEventLog } from './redis-log.ts';
import { createMemoryOutlet } from './webhook/memory-outlet.ts';
import { createWebhookPoster } from './webhook/poster.ts';
import { createRedisOutlet } from './webhook/redis-outlet.ts';

export interface BackendEventsRedis {
  url: string;
  displayUrl: string;
  cluster: boolean;
  auth: 'password' | 'entra-id';
  azureClientId: string | undefined;
  prefix: string;
  /** PRESENCE_TTL_MS: the events' lease lapses as presence does. */
  leaseTtlMs: number;
}

export interface BackendEventsOptions {
  config: EventsConfig & WebhookConfig;
  /** Undefined: one instance, no Redis. */
  redis: BackendEventsRedis | undefined;
  /** The broker's instance id. */
  instance: string;
  clock: Clock;
  logger: Logger;
  metrics: EventMetrics;
  /** What this instance holds, should a survivor have reported it gone while it was alive. */
  snapshot(): { conns: EventConn[]; members: Array<[string, EventConn]> };
}

export interface BackendEvents {
  readonly log: EventLog;
  start(): void;
  /** After the sockets are drained: what is queued stored or sent within `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

/** The consumer group the webhook outlets share: each event is POSTed by one of them. */
export const WEBHOOK_GROUP = 'socketship-webhooks';

export function createBackendEvents(options: BackendEventsOptions): BackendEvents {
  const { config, redis, instance, clock, metrics } = options;
  const logger = options.logger.child({ component: 'events' });
  if (config.events.size === 0) return { log: NO_EVENTS, start: () => {}, close: () => Promise.resolve() };
  const retry = { maxAttempts: config.webhookMaxAttempts, baseDelayMs: config.webhookRetryBaseMs, capDelayMs: config.webhookRetryMaxMs, batchSize: config.webhookBatchSize };
  const poster = config.webhookUrl && config.webhookSecret
    ? createWebhookPoster({ url: config.webhookUrl, secret: config.webhookSecret, timeoutMs: config.webhookTimeoutMs, maxSockets: 4 })
    : undefined;
  logger.info({ types: [...config.events], store: redis ? 'redis' : 'memory', webhooks: poster !== undefined }, 'backend events on');

  if (!redis) {
    // parseEventsConfig refuses EVENTS without Redis or a webhook.
    if (!poster) throw new Error('EVENTS without REDIS_URL needs WEBHOOK_URL');
    const outlet = createMemoryOutlet({ poster, maxQueue: config.webhookQueueMax, ...retry, metrics, logger });
    const log = createMemoryEventLog({ types: config.events, includeText: config.eventsIncludeText, instance, clock, push: outlet.push, drain: outlet.drain, metrics });
    return {
      log,
      start: () => {},
      async close(timeoutMs) {
        await log.close(timeoutMs);
        outlet.close();
        poster.close();
      },
    };
  }

  const keys = eventsKeys(redis.prefix, instance);
  const link = createEventsLink({
    url: redis.url,
    displayUrl: redis.displayUrl,
    cluster: redis.cluster,
    instance,
    slotKey: keys.stream,
    credentials: redis.auth === 'entra-id' ? entraIdCredentials({ clientId: redis.azureClientId, logger }) : undefined,
    logger,
  });
  const log = createRedisEventLog({
    redis: link,
    prefix: redis.prefix,
    instance,
    types: config.events,
    includeText: config.eventsIncludeText,
    maxLen: config.eventsStreamMaxLen,
    outboxMax: config.eventsOutboxMax,
    leaseTtlMs: redis.leaseTtlMs,
    clock,
    logger,
    metrics,
    snapshot: options.snapshot,
  });
  const outlet = poster
    ? createRedisOutlet({
        redis: link,
        stream: keys.stream,
        group: WEBHOOK_GROUP,
        consumer: instance,
        deadLetters: keys.deadLetters,
        deadLetterMaxLen: config.webhookDeadLetterMaxLen,
        poster,
        ...retry,
        // A holder renews its claim while it waits to retry: a batch idle this long has no holder
        // (its instance died mid-POST), and is taken over by another instance.
        claimIdleMs: Math.max(60_000, 2 * config.webhookTimeoutMs),
        // Within the drain's budget (app.ts): a POST in flight is given this long, then left pending.
        stopTimeoutMs: 3_000,
        blockMs: 5_000,
        metrics,
        logger,
      })
    : undefined;
  return {
    log,
    start() {
      log.start();
      outlet?.start();
    },
    async close(timeoutMs) {
      await log.close(timeoutMs);
      await outlet?.stop();
      poster?.close();
      await link.close();
    },
  };
}
