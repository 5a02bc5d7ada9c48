// The backend events' share of /metrics (issue 20): events made, webhook deliveries, the queue
// behind them, dead letters, and the publish hook. Made once by createMetrics with its registry;
// every label value is from a closed set, so no client can mint series.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EVENT_TYPES, type EventType } from '../protocol/backend-events.ts';

/** How one webhook POST ended: a 2xx, another status, no answer in time, or no connection. */
export type WebhookOutcome = 'ok' | 'http_error' | 'timeout' | 'network';

/** How the publish hook decided a `say`, or why it could not (`error`, `timeout`), or `busy` (its concurrency and queue full). */
export type PublishHookOutcome = 'accepted' | 'rejected' | 'replaced' | 'error' | 'timeout' | 'busy';

export interface EventMetrics {
  /** An event made (memory) or written to the events stream (Redis). */
  eventEmitted(type: EventType): void;
  /** Events lost before they were stored: the outbox was full while Redis was away, or the memory queue was full. */
  eventsDropped(count: number): void;
  webhookAttempt(outcome: WebhookOutcome, seconds: number): void;
  webhookDelivered(events: number): void;
  /** Events given up on after WEBHOOK_MAX_ATTEMPTS: kept in the dead-letter stream (Redis) or dropped (memory). */
  webhookDeadLettered(events: number): void;
  /** Events waiting for delivery, read when /metrics is scraped (with Redis: this instance's last reading of the group's lag plus pending). */
  reportWebhookBacklog(events: () => number): void;
  publishHook(outcome: PublishHookOutcome, seconds: number): void;
}

export function createEventMetrics(registry: Registry, p: string): EventMetrics {
  // Counted on the hot path as plain additions, handed to prom-client when /metrics is read.
  const made = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>;
  new Counter({
    name: `${p}events_emitted_total`,
    help: 'Backend events made, by type (EVENTS)',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      for (const type of EVENT_TYPES) {
        this.labels(type).inc(made[type]);
        made[type] = 0;
      }
    },
  });
  const dropped = new Counter({ name: `${p}events_dropped_total`, help: 'Backend events lost before they were stored (outbox or memory queue full)', registers: [registry] });
  const attempts = new Counter({ name: `${p}webhook_attempts_total`, help: 'Webhook POSTs by outcome', labelNames: ['outcome'], registers: [registry] });
  const seconds = new Histogram({
    name: `${p}webhook_attempt_seconds`,
    help: 'Webhook POST latency, answered or not',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const delivered = new Counter({ name: `${p}webhook_events_delivered_total`, help: 'Events the webhook receiver acknowledged (2xx)', registers: [registry] });
  const dead = new Counter({ name: `${p}webhook_dead_letters_total`, help: 'Events given up on after WEBHOOK_MAX_ATTEMPTS', registers: [registry] });
  let backlog = (): number => 0;
  new Gauge({
    name: `${p}webhook_backlog_events`,
    help: 'Events waiting for webhook delivery',
    registers: [registry],
    collect() {
      this.set(backlog());
    },
  });
  const hook = new Histogram({
    name: `${p}publish_hook_seconds`,
    help: 'Publish hook (PUBLISH_HOOK_URL) latency by outcome',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    eventEmitted(type) {
      made[type]++;
    },
    eventsDropped: (count) => dropped.inc(count),
    webhookAttempt(outcome, s) {
      attempts.labels(outcome).inc();
      seconds.observe(s);
    },
    webhookDelivered: (n) => delivered.inc(n),
    webhookDeadLettered: (n) => dead.inc(n),
    reportWebhookBacklog(events) {
      backlog = events;
    },
    publishHook: (outcome, s) => hook.labels(outcome).observe(s),
  };
}
