// createApp(config, deps) builds the whole service without touching process state, so
// tests can run many on port 0 side by side; main.ts is the only place that does I/O setup.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { JwksTimings } from './auth/jwks.ts';
import { createTokenVerifier } from './auth/verify.ts';
import type { Broker } from './broker/broker.ts';
import { createMemoryBroker } from './broker/memory.ts';
import { createRedisBroker } from './broker/redis/broker.ts';
import { DEFAULT_KEY_PREFIX } from './broker/redis/keys.ts';
import { createBackendEvents } from './events/backend-events.ts';
import { createPublishHook } from './events/publish-hook.ts';
import { systemClock, type Clock } from './clock.ts';
import { redactUrl, type Config } from './config/config.ts';
import { createApi } from './http/api/api.ts';
import { createHttpConnections } from './http/connections.ts';
import { createHttpHandler } from './http/handler.ts';
import { createHttpRefusals } from './http/refusals.ts';
import { clientAddress } from './request/hosts.ts';
import type { Logger } from './log/logger.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { inRoomSet } from './protocol/rooms.ts';
import type { FeatureFactory } from './realtime/features/feature.ts';
import { createRealtime } from './realtime/server.ts';

export interface AppDeps {
  logger: Logger;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: the repository's public/ folder. */
  publicDir?: string;
  /** Default: the repository's client/ folder (the client library, served under /client/). */
  clientDir?: string;
  /** Cut off clients that take longer than this to send their request headers (slowloris). Default HTTP_HEADERS_TIMEOUT_MS. */
  headersTimeoutMs?: number;
  /** How the JWKS (AUTH_JWKS_URL) is refetched: cooldown, cache life, backoff cap, timeout. Default JWKS_TIMINGS (src/auth/jwks.ts). */
  jwksTimings?: Partial<JwksTimings>;
  /** Node process metrics in /metrics. Default true. */
  processMetrics?: boolean;
  /** The features the realtime server speaks. Default: every registered one (src/realtime/features/index.ts). */
  features?: readonly FeatureFactory[];
}

export interface App {
  readonly server: Server;
  readonly metrics: Metrics;
  /** Listens on config.host:config.port and starts the heartbeat. */
  start(): Promise<AddressInfo>;
  /** Graceful shutdown: not ready, drain sockets (1001), close the HTTP server and the broker. */
  stop(): Promise<void>;
}

/**
 * REDIS_URL unset: one instance, rooms in this process. Set: rooms, history and presence in
 * Redis, shared by every instance. The service starts either way; until Redis answers, /readyz
 * says 503 with the reason.
 */
function createBroker(config: Config, logger: Logger, metrics: Metrics, instanceId: string): Broker {
  const { redisUrl, historySize, historyMaxBytes, historyTtlMs, latestRooms } = config;
  // Latest-value rooms (LATEST_ROOMS) keep only their newest message: a subscriber wants the
  // current value at once, not the updates that led to it.
  const historySizeOf = (room: string): number => (inRoomSet(latestRooms, room) ? 1 : historySize);
  logger.info({ broker: redisUrl ? 'redis' : 'memory', ...(redisUrl ? { redis: redactUrl(redisUrl), cluster: config.redisCluster, auth: config.redisAuth } : {}), historySize, historyTtlMs }, 'broker');
  if (!redisUrl) return createMemoryBroker({ historySize, historySizeOf, maxBytes: historyMaxBytes, ttlMs: historyTtlMs });
  return createRedisBroker({
    url: redisUrl,
    displayUrl: redactUrl(redisUrl),
    historySize,
    historySizeOf,
    presenceTtlMs: config.presenceTtlMs,
    historyTtlMs,
    cluster: config.redisCluster,
    auth: config.redisAuth,
    azureClientId: config.azureClientId,
    logger: logger.child({ component: 'broker' }),
    metrics,
    instanceId,
  });
}

const DEFAULT_PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));
const DEFAULT_CLIENT_DIR = fileURLToPath(new URL('../client', import.meta.url));

export function createApp(config: Config, deps: AppDeps): App {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  let stopping: Promise<void> | undefined;

  const metrics = createMetrics({ processMetrics: deps.processMetrics ?? true });
  // One name for this instance in Redis: its presence, its rosters and its events' lease.
  const instanceId = randomBytes(6).toString('hex');
  const broker = createBroker(config, logger, metrics, instanceId);
  const backendEvents = createBackendEvents({
    config,
    redis: config.redisUrl ? { url: config.redisUrl, displayUrl: redactUrl(config.redisUrl), cluster: config.redisCluster, auth: config.redisAuth, azureClientId: config.azureClientId, prefix: DEFAULT_KEY_PREFIX, leaseTtlMs: config.presenceTtlMs } : undefined,
    instance: instanceId,
    clock,
    logger,
    metrics,
    snapshot: () => realtime.holdings(),
  });
  const { auth } = config.identity;
  if (auth) logger.info({ hs256: auth.secret !== undefined, jwks: auth.jwksUrl?.href, issuer: auth.issuer, audience: auth.audience }, 'authentication on: every upgrade needs a token');
  else logger.warn('authentication is off: anyone can connect, join any room and take any name (set AUTH_JWT_SECRET or AUTH_JWKS_URL)');
  // Behind a trusted proxy the client address comes from X-Forwarded-For; reached directly, any
  // client writes that header and picks its own address (and its own rate-limit budget).
  if (config.trustProxy) logger.warn('TRUST_PROXY is on: client addresses come from X-Forwarded-For, which any client can set; the service must be reachable only through your proxy (docs/security.md)');
  const jwksDeps = { ...deps.jwksTimings, maxStaleMs: config.jwksMaxStaleMs, logger: logger.child({ component: 'jwks' }), metrics, clock };
  const refusals = createHttpRefusals({ logger, metrics, perSecond: config.refusalLogPerSec, trustProxy: config.trustProxy });
  const connections = createHttpConnections({ maxConnections: config.maxHttpConnections, bodyTimeoutMs: config.httpBodyTimeoutMs, refusals });
  // PUBLISH_HOOK_URL: the backend judges every say before it is stored (config/publish-hook.ts requires WEBHOOK_SECRET with it).
  const publishHook = config.publishHookUrl !== undefined && config.webhookSecret !== undefined
    ? createPublishHook({ url: config.publishHookUrl, secret: config.webhookSecret, timeoutMs: config.publishHookTimeoutMs, onError: config.publishHookOnError, concurrency: config.publishHookConcurrency, queue: config.publishHookQueue, metrics, logger: logger.child({ component: 'publish-hook' }) })
    : undefined;
  const realtime = createRealtime(config, { logger, metrics, clock, broker, events: backendEvents.log, publishHook, onUpgraded: connections.upgraded, ...(deps.features ? { features: deps.features } : {}), ...(auth ? { verifyToken: createTokenVerifier(auth, jwksDeps) } : {}) });

  // Past the memory budget the instance sheds load: a load balancer that reads /readyz takes it out meanwhile.
  const notReadyReason = (): string | undefined => (stopping ? 'shutting down' : (broker.unavailableReason() ?? realtime.memory.pressure()));
  metrics.reportReadiness(() => notReadyReason() === undefined);
  const headersTimeout = deps.headersTimeoutMs ?? config.httpHeadersTimeoutMs;
  const server = createServer(
    {
      headersTimeout,
      // The body's own deadline (HTTP_BODY_TIMEOUT_MS from the end of the headers, in
      // src/http/connections.ts) answers first, under its own reason; Node's, counted from the
      // request's first byte and checked once a second, is only its backstop.
      requestTimeout: headersTimeout + config.httpBodyTimeoutMs + 1_000,
      // An idle keep-alive socket holds one of MAX_HTTP_CONNECTIONS: it is closed after 5 s.
      keepAliveTimeout: 5_000,
      // Node checks the two timeouts above only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
    },
    connections.handler(createHttpHandler({
      publicDir: deps.publicDir ?? DEFAULT_PUBLIC_DIR,
      clientDir: deps.clientDir ?? DEFAULT_CLIENT_DIR,
      registry: metrics.registry,
      logger,
      refusals,
      allowedHosts: config.allowedHosts,
      trustProxy: config.trustProxy,
      readiness: {
        notReadyReason,
        openConnections: realtime.openConnections,
      },
      authRequired: auth !== undefined,
      ...(config.identity.apiKey
        ? {
            api: createApi({
              apiKey: config.identity.apiKey,
              broker,
              logger,
              clock,
              metrics,
              rateLimitPerSec: config.identity.apiRateLimitPerSec,
              identityMode: auth !== undefined,
              refusalLogPerSec: config.refusalLogPerSec,
              clientAddress: (req) => clientAddress(req, config.trustProxy),
              events: backendEvents.log,
            }),
          }
        : {}),
    })),
  );
  // Every new connection is counted (or refused past MAX_HTTP_CONNECTIONS); a refused one is answered 503 and served nothing.
  server.on('connection', connections.connection);
  server.on('upgrade', connections.upgrade(realtime.handleUpgrade));
  server.on('clientError', refusals.clientError);
  server.on('connect', connections.upgrade(refusals.connect));

  return {
    server,
    metrics,
    start() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          realtime.start();
          backendEvents.start();
          const address = server.address() as AddressInfo;
          logger.info({ host: address.address, port: address.port }, 'listening');
          resolve(address);
        });
      });
    },
    stop() {
      stopping ??= (async () => {
        logger.info({ connections: realtime.openConnections(), timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
        await realtime.drain(config.shutdownTimeoutMs);
        // Says still waiting for the backend get PUBLISH_HOOK_ON_ERROR now, while the broker can still store them.
        publishHook?.close();
        // The drain's closes made their events (member_left, connection.closed): stored or sent before the lease goes.
        await backendEvents.close(Math.min(5_000, config.shutdownTimeoutMs + 1_000));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await broker.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
