// Process edge: environment in, signals handled, exit codes out. Everything else is createApp.
// First: Application Insights, when configured, must hook modules before the others load them.
import { telemetry } from './telemetry/preload.ts';
import dotenv from 'dotenv';
import { createApp } from './app.ts';
import { ConfigError, parseConfig, type Config } from './config/config.ts';
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
const app = createApp(config, { logger });
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
