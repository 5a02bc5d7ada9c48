// Azure Monitor (Application Insights) through Microsoft's OpenTelemetry distro, started only
// when APPLICATIONINSIGHTS_CONNECTION_STRING is set. Without it nothing below the first `if` runs
// and the distro (about 160 packages) is never loaded: no memory, no start-up time, no hooks.
//
// Why require() and not `await import()`: the instrumentations patch modules as they load
// (require-in-the-middle), so they must be in place before main.ts's other imports load `redis`.
// Sibling ES modules do not wait for each other's top-level await, so an async start in the first
// import would lose that race; a synchronous require (Node loads the distro's CommonJS build) wins
// it with no `--import` flag or loader in the start command (the distro's ESM loader hooks ES
// modules, and everything it instruments here, `redis` and `node:http`, is CommonJS or built in).
// Measured on Node 26: requests, Redis dependencies, logs and metrics all arrive
// (test/integration/telemetry.test.ts; Redis dependencies: test/e2e/telemetry-redis.test.ts).
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type * as OtelLogsApi from '@opentelemetry/api-logs';
import type * as Distro from '@azure/monitor-opentelemetry';
import type * as Pino from 'pino';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { CONNECTION_STRING_VAR, parseConnectionString } from './connection-string.ts';
import { createLogBridge } from './log-bridge.ts';
import { bridgeRegistry } from './metrics-bridge.ts';

export interface Telemetry {
  /** A pino destination: stdout as before (plus trace ids), and Application Insights. */
  logDestination(): DestinationStream;
  /** Export the service's own metrics (connections, closes by code, messages, ping RTT...). */
  observe(registry: Registry): Promise<void>;
  /** Flush what is queued and stop; bounded so a dead ingestion endpoint cannot hold up exit. */
  shutdown(timeoutMs?: number): Promise<void>;
}

const SCOPE = 'socketship';

/**
 * Redis commands as dependencies named by the command alone: the default serializer would put
 * keys (room names) and, for EVALSHA, every argument, chat text included, into Application Insights.
 */
const redisStatement = (command: string): string => command;

export function startTelemetry(env: NodeJS.ProcessEnv): Telemetry | undefined {
  const raw = env[CONNECTION_STRING_VAR];
  if (raw === undefined || raw.trim() === '') return undefined;
  parseConnectionString(raw); // throws TelemetryConfigError naming the variable

  const require = createRequire(import.meta.url);
  const distro = require('@azure/monitor-opentelemetry') as typeof Distro;
  const redis: Distro.InstrumentationOptions['redis'] & { dbStatementSerializer: typeof redisStatement } = { enabled: true, dbStatementSerializer: redisStatement };
  distro.useAzureMonitor({
    azureMonitorExporterOptions: { connectionString: raw },
    instrumentationOptions: {
      http: { enabled: true },
      redis,
      redis4: redis,
      // Clients this service does not use: not patched at all.
      azureSdk: { enabled: false },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      postgreSql: { enabled: false },
    },
  });
  // `import ... from 'node:http'` (ESM) does not pass through require(), so the http
  // instrumentation's hook only patches (http.Server.prototype.emit, shared with the ESM binding)
  // when something require()s http after this point. The exporter's own lazy requires do so
  // today (measured); these two lines make it not depend on that.
  require('node:http');
  require('node:https');

  const api = require('@opentelemetry/api') as typeof OtelApi;
  const logsApi = require('@opentelemetry/api-logs') as typeof OtelLogsApi;
  const pino = require('pino') as typeof Pino;

  return {
    logDestination() {
      const out = pino.destination({ dest: 1, sync: true });
      const bridge = createLogBridge({ out, otelLogger: logsApi.logs.getLogger(SCOPE), trace: api.trace, context: api.context });
      return bridge as DestinationStream;
    },
    async observe(registry) {
      await bridgeRegistry(registry, api.metrics.getMeter(SCOPE));
    },
    async shutdown(timeoutMs = 5_000) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([distro.shutdownAzureMonitor().catch(() => undefined), limit]);
      clearTimeout(timer);
    },
  };
}
