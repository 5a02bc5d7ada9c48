// Four connections to Redis: one for commands (publishes among them), one for the reads of
// history (replays, and the gaps the feed repairs: a burst of large replies must not hold up the
// publishes behind it), one for the blocking XREAD of the events stream (a blocked connection can
// run nothing else), one subscribed to the channels of the rooms this instance follows. All reconnect forever with capped, jittered exponential backoff. Each is a
// single client, or a cluster client when REDIS_CLUSTER is set (clients.ts).
import { ClientClosedError, ClientOfflineError, ErrorReply } from 'redis';
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import { createLink, type ChannelListener, type CredentialsProvider, type RedisClient } from './clients.ts';

export type { ChannelListener, CredentialsProvider, NodeClient, RedisClient } from './clients.ts';

export interface RedisConnectionOptions {
  url: string;
  /** The same URL without its password, for logs and /readyz. */
  displayUrl: string;
  instanceId: string;
  logger: Logger;
  metrics: BrokerMetrics;
  /** A Redis Cluster (OSS cluster API): follow MOVED/ASK, discover the nodes from `url`. */
  cluster: boolean;
  /** A key of the deployment (they all share one hash slot): its node is the one the broker uses. */
  slotKey: string;
  /** Credentials instead of the URL's password (Microsoft Entra ID): a provider for each client. */
  credentials?: ((client: { oneConnection: boolean }) => CredentialsProvider) | undefined;
  /** Called each time every connection is ready again (first connect included). */
  onReady(): void;
}

export interface RedisConnection {
  /** Commands, routed by key. */
  readonly cmd: RedisClient;
  /** Reads of room history: replays and repairs. */
  readonly history: RedisClient;
  /** The blocking XREAD, and nothing else. */
  readonly reader: RedisClient;
  /** The room channels: SUBSCRIBE (SSUBSCRIBE on a cluster), resolved once Redis confirmed it. */
  subscribe(channel: string, listener: ChannelListener): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  cmdReady(): boolean;
  readerReady(): boolean;
  /** Every connection is ready. */
  isReady(): boolean;
  /** Resolves when every connection is ready, or after `ms`. */
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
  const text = err instanceof Error ? err.message || err.name : String(err);
  // A single client talking to a cluster gets MOVED for every key of another node's slots.
  return text.startsWith('MOVED ') ? `${text} (a clustered Redis: set REDIS_CLUSTER=true)` : text;
}

export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  const { logger, metrics, displayUrl, instanceId } = options;
  const linkOptions = { url: options.url, cluster: options.cluster, slotKey: options.slotKey, credentials: options.credentials, reconnectDelay: (retries: number) => reconnectDelay(retries) };
  const cmd = createLink({ ...linkOptions, name: `socketship-${instanceId}` });
  const history = createLink({ ...linkOptions, name: `socketship-${instanceId}-history` });
  const reader = createLink({ ...linkOptions, name: `socketship-${instanceId}-reader` });
  const subscriber = createLink({ ...linkOptions, name: `socketship-${instanceId}-subscriber`, resp3: true });
  let closing = false;
  let lastError: string | undefined;
  let everReady = false;
  let waiters: (() => void)[] = [];

  const links = [cmd, history, reader, subscriber];
  const isReady = (): boolean => links.every((link) => link.isReady());
  function wake(): void {
    for (const done of waiters.splice(0)) done();
  }

  for (const [link, role] of [[cmd, 'commands'], [history, 'history'], [reader, 'reader'], [subscriber, 'subscriber']] as const) {
    link.on('error', (err: unknown) => {
      lastError = errorText(err);
      metrics.brokerConnected(false);
      if (!closing) logger.warn({ role, err: lastError, redis: displayUrl }, 'redis error');
    });
    link.on('reconnecting', () => {
      if (role === 'commands') metrics.brokerReconnect();
    });
    link.on('ready', () => {
      if (!isReady()) return;
      lastError = undefined;
      metrics.brokerConnected(true);
      logger.info({ redis: displayUrl, instance: instanceId, cluster: options.cluster, reconnect: everReady }, 'redis ready');
      everReady = true;
      wake();
      options.onReady();
    });
  }
  metrics.brokerConnected(false);
  void cmd.connect().catch((err: unknown) => logger.error({ err: errorText(err) }, 'redis connection given up'));
  void history.connect().catch((err: unknown) => logger.error({ err: errorText(err) }, 'redis history connection given up'));
  void reader.connect().catch((err: unknown) => logger.error({ err: errorText(err) }, 'redis reader connection given up'));
  void subscriber.connect().catch((err: unknown) => logger.error({ err: errorText(err) }, 'redis subscriber connection given up'));

  return {
    cmd: cmd.commands,
    history: history.commands,
    reader: reader.commands,
    subscribe: (channel, listener) => subscriber.subscribe(channel, listener),
    unsubscribe: (channel) => subscriber.unsubscribe(channel),
    cmdReady: () => cmd.isReady(),
    readerReady: () => reader.isReady(),
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
      subscriber.destroy();
      history.destroy();
      try {
        await cmd.close();
      } catch {
        cmd.destroy();
      }
    },
  };
}
