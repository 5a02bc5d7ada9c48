// Imported FIRST by main.ts, before anything that loads `redis` or serves HTTP, so the
// instrumentations are in place when those modules load (see start.ts). Reads .env itself because
// main.ts's dotenv call runs only after every import has been evaluated.
import dotenv from 'dotenv';
import { TelemetryConfigError } from './connection-string.ts';
import { startTelemetry, type Telemetry } from './start.ts';

dotenv.config({ quiet: true });

function start(): Telemetry | undefined {
  try {
    return startTelemetry(process.env);
  } catch (err) {
    if (!(err instanceof TelemetryConfigError)) throw err;
    console.error(`Configuration error: ${err.message}`);
    process.exit(1);
  }
}

/** Undefined unless APPLICATIONINSIGHTS_CONNECTION_STRING is set. */
export const telemetry: Telemetry | undefined = start();
