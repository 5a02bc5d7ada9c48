// Process edge: environment in, signals handled, exit codes out. Everything else is createApp.
// First: Application Insights, when configured, must hook modules before the others load them.
import { telemetry } from './telemetry/preload.ts';
import dotenv from 'dotenv';
import { createApp } from './app.ts';
import type { Broker } from './broker/broker.ts';
import { createMemoryBroker } from './broker/memory.ts';
import { createRedisBroker } from './broker/redis.ts';
import { ConfigError, parseConfig, redactUrl, type Config } from './config/config.ts';
import { createLogger } from './log/logger.ts';

// A .env file fills in what the real environment does not set (real variables win).
dotenv.config({ quiet: true });

let config: Config;
try {
  config = parseConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`Configuration error: ${err.message}`);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, ...(telemetry ? { destination: telemetry.logDestination() } : {}) });
// REDIS_URL unset: one instance, rooms in this process. Set: rooms, history and presence in
// Redis, shared by every instance. The service starts either way; until Redis answers, /readyz
// says 503 with the reason.
const broker: Broker = config.redisUrl
  ? createRedisBroker({
      url: config.redisUrl,
      displayUrl: redactUrl(config.redisUrl),
      historySize: config.historySize,
      presenceTtlMs: config.presenceTtlMs,
      logger: logger.child({ component: 'broker' }),
    })
  : createMemoryBroker({ historySize: config.historySize });
logger.info({ broker: config.redisUrl ? 'redis' : 'memory', ...(config.redisUrl ? { redis: redactUrl(config.redisUrl) } : {}), historySize: config.historySize }, 'broker');
const app = createApp(config, { logger, broker });
await telemetry?.observe(app.metrics.registry);

process.on('uncaughtException', (err) => {
  logger.fatal({ err }, 'uncaught exception');
  logger.flush();
  process.exit(1);
});

let signalled = false;
function shutdown(signal: NodeJS.Signals): void {
  if (signalled) {
    logger.warn({ signal }, 'second signal: exiting at once');
    logger.flush();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  }
  signalled = true;
  logger.info({ signal }, 'signal received');
  app.stop().then(
    async () => {
      await telemetry?.shutdown();
      logger.flush();
      process.exit(0);
    },
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      logger.flush();
      process.exit(1);
    },
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

try {
  await app.start();
} catch (err) {
  logger.fatal({ err }, 'cannot listen');
  logger.flush();
  process.exit(1);
}
