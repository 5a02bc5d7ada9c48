// Two connections to Redis: one for commands, one for the blocking XREAD (a blocked connection
// can run nothing else). Both reconnect forever with capped, jittered exponential backoff.
import { ClientClosedError, ClientOfflineError, ErrorReply, createClient } from 'redis';
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisConnectionOptions {
  url: string;
  /** The same URL without its password, for logs and /readyz. */
  displayUrl: string;
  instanceId: string;
  logger: Logger;
  metrics: BrokerMetrics;
  /** Called each time both connections are ready again (first connect included). */
  onReady(): void;
}

export interface RedisConnection {
  readonly cmd: RedisClient;
  readonly reader: RedisClient;
  /** Both connections are ready. */
  isReady(): boolean;
  /** Resolves when both connections are ready, or after `ms`. */
  untilReady(ms: number): Promise<void>;
  /** Why Redis cannot be used now, or undefined when it can. */
  unavailableReason(): string | undefined;
  /** Stops reconnecting and closes both connections. */
  close(): Promise<void>;
}

/** Capped exponential backoff with jitter, so a fleet does not reconnect in lockstep. */
export function reconnectDelay(retries: number, random = Math.random): number {
  const cap = Math.min(5000, 100 * 2 ** Math.min(retries, 10));
  return Math.round(cap / 2 + (cap / 2) * random());
}

/** The error was answered by Redis, or the command never left this process: the write surely did not happen. */
export function surelyNotStored(err: unknown): boolean {
  return err instanceof ErrorReply || err instanceof ClientOfflineError || err instanceof ClientClosedError;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  const { logger, metrics, displayUrl, instanceId } = options;
  const clientOptions = {
    url: options.url,
    // Commands fail at once while disconnected instead of queueing unseen: the publisher's outbox
    // decides what waits and for how long.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5000, reconnectStrategy: (retries: number) => reconnectDelay(retries) },
  };
  const cmd: RedisClient = createClient({ ...clientOptions, name: `socketship-${instanceId}` });
  const reader: RedisClient = createClient({ ...clientOptions, name: `socketship-${instanceId}-reader` });
  let closing = false;
  let lastError: string | undefined;
  let everReady = false;
  let waiters: (() => void)[] = [];

  const isReady = (): boolean => cmd.isReady && reader.isReady;
  function wake(): void {
    for (const done of waiters.splice(0)) done();
  }

  for (const [client, role] of [[cmd, 'commands'], [reader, 'reader']] as const) {
    client.on('error', (err: unknown) => {
      lastError = errorText(err);
      metrics.brokerConnected(false);
      if (!closing) logger.warn({ role, err: lastError, redis: displayUrl }, 'redis error');
    });
    client.on('reconnecting', () => {
      if (role === 'commands') metrics.brokerReconnect();
    });
    client.on('ready', () => {
      if (!isReady()) return;
      lastError = undefined;
      metrics.brokerConnected(true);
      logger.info({ redis: displayUrl, instance: instanceId, reconnect: everReady }, 'redis ready');
      everReady = true;
      wake();
      options.onReady();
    });
  }
  metrics.brokerConnected(false);
  void cmd.connect().catch((err: unknown) => logger.error({ err: errorText(err) }, 'redis connection given up'));
  void reader.connect().catch((err: unknown) => logger.error({ err: errorText(err) }, 'redis reader connection given up'));

  return {
    cmd,
    reader,
    isReady,
    untilReady(ms) {
      if (isReady() || closing) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done(): void {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== done);
          resolve();
        }
        waiters.push(done);
      });
    },
    unavailableReason() {
      if (closing) return 'broker closing';
      if (isReady()) return undefined;
      return `redis unavailable (${displayUrl}): ${lastError ?? (everReady ? 'reconnecting' : 'connecting')}`;
    },
    async close() {
      closing = true;
      wake();
      reader.destroy();
      try {
        await cmd.close();
      } catch {
        cmd.destroy();
      }
    },
  };
}
