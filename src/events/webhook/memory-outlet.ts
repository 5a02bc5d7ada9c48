// Webhook delivery without Redis: the events wait in this process's memory, bounded, and one
// batch at a time goes to the receiver, so they arrive in the order they were made. A crash or a
// restart loses what was waiting (docs/events.md says so); a receiver that is down only delays
// delivery, up to WEBHOOK_MAX_ATTEMPTS tries per batch, after which the batch is given up.
import type { BackendEvent } from '../../protocol/backend-events.ts';
import type { Logger } from '../../log/logger.ts';
import type { EventMetrics } from '../../metrics/events.ts';
import { createSleeper, retryDelayMs } from './backoff.ts';
import type { PostResult, WebhookPoster } from './poster.ts';

export interface MemoryOutletOptions {
  poster: Pick<WebhookPoster, 'post'>;
  /** Events held at most, the batch in flight included (WEBHOOK_QUEUE_MAX); past it the oldest waiting go. */
  maxQueue: number;
  /** Events per POST at most (WEBHOOK_BATCH_SIZE). */
  batchSize: number;
  /** POSTs per batch in all before it is given up (WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  baseDelayMs: number;
  capDelayMs: number;
  metrics: Pick<EventMetrics, 'webhookAttempt' | 'webhookDelivered' | 'webhookDeadLettered' | 'eventsDropped' | 'reportWebhookBacklog'>;
  logger: Pick<Logger, 'warn'>;
}

export interface MemoryOutlet {
  /** Queues `event` for delivery; never blocks and never throws. */
  push(event: BackendEvent): void;
  /** Events not yet delivered, the batch in flight included. */
  depth(): number;
  /** Resolves once every queued event is delivered or given up, or after `timeoutMs`, whichever is first. */
  drain(timeoutMs: number): Promise<void>;
  /** Stops delivering: the wait between retries ends, and what is still queued is dropped. */
  close(): void;
}

export function createMemoryOutlet(options: MemoryOutletOptions): MemoryOutlet {
  const { poster, metrics, logger, maxAttempts, baseDelayMs, capDelayMs } = options;
  const maxQueue = Math.max(1, options.maxQueue);
  const batchSize = Math.max(1, options.batchSize);
  const sleeper = createSleeper();
  /** Oldest first; `head` is the first not yet taken, so dropping the oldest is O(1). */
  let queue: BackendEvent[] = [];
  let head = 0;
  let inFlight = 0;
  let running = false;
  let closed = false;
  /** Set while the queue is full, so a burst of drops is one log line, not one per event. */
  let overflowing = false;
  let idle: (() => void)[] = [];

  const waiting = (): number => queue.length - head;
  const depth = (): number => waiting() + inFlight;
  metrics.reportWebhookBacklog(depth);

  /** Forgets the taken and dropped entries now and then, not at every step: the array stays under 2 × maxQueue + 1024. */
  function compact(): void {
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  function take(): BackendEvent[] {
    const batch = queue.slice(head, head + batchSize);
    head += batch.length;
    compact();
    return batch;
  }

  async function deliver(batch: BackendEvent[]): Promise<void> {
    const body = JSON.stringify({ events: batch });
    let last = { outcome: 'network', status: undefined as number | undefined };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      // Signed afresh per attempt (the poster signs at send time), so a late retry is not stale.
      // post() never rejects by contract; should one, it is a failed attempt, not a stopped outlet.
      const result = await poster.post(body).catch((): PostResult => ({ outcome: 'network', seconds: 0 }));
      metrics.webhookAttempt(result.outcome, result.seconds);
      if (result.outcome === 'ok') {
        metrics.webhookDelivered(batch.length);
        return;
      }
      last = { outcome: result.outcome, status: result.status };
      if (closed) return;
      if (attempt < maxAttempts) await sleeper.sleep(retryDelayMs(attempt, baseDelayMs, capDelayMs));
      if (closed) return;
    }
    metrics.webhookDeadLettered(batch.length);
    // Ids only, never contents: a message's text must not end up in the logs.
    logger.warn(
      { events: batch.length, attempts: maxAttempts, outcome: last.outcome, status: last.status, firstId: batch[0]?.id, lastId: batch.at(-1)?.id },
      'webhook batch given up after WEBHOOK_MAX_ATTEMPTS: its events are dropped',
    );
  }

  async function run(): Promise<void> {
    running = true;
    try {
      // Bounded: every turn takes at least one event off the queue, and close() ends it.
      while (!closed && waiting() > 0) {
        const batch = take();
        inFlight = batch.length;
        try {
          await deliver(batch);
        } finally {
          inFlight = 0;
        }
        if (waiting() * 2 <= maxQueue) overflowing = false;
      }
    } finally {
      running = false;
      for (const done of idle.splice(0)) done();
    }
  }

  function start(): void {
    if (running || closed) return;
    running = true;
    // After the current task: a burst of pushes in one tick goes out as one batch.
    queueMicrotask(() => void run());
  }

  return {
    push(event) {
      if (closed) return;
      queue.push(event);
      let dropped = 0;
      // Room is made among the events that wait; the batch in flight cannot be taken back.
      while (depth() > maxQueue && waiting() > 0) {
        head++;
        dropped++;
      }
      if (dropped > 0) {
        compact();
        metrics.eventsDropped(dropped);
        if (!overflowing) logger.warn({ maxQueue }, 'webhook queue full (WEBHOOK_QUEUE_MAX): the oldest events are dropped');
        overflowing = true;
      }
      start();
    },
    depth,
    drain(timeoutMs) {
      if (!running && depth() === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          idle = idle.filter((d) => d !== done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        timer.unref();
        idle.push(done);
      });
    },
    close() {
      closed = true;
      sleeper.wake();
      queue = [];
      head = 0;
      inFlight = 0;
      for (const done of idle.splice(0)) done();
    },
  };
}
