// The Application Insights connection string, checked before anything is loaded, so a typo stops
// start-up with the variable's name instead of a stack trace from inside the exporter (or, worse,
// telemetry silently going nowhere). Format: `Key=Value` pairs separated by `;`
// (https://learn.microsoft.com/azure/azure-monitor/app/connection-strings).

export const CONNECTION_STRING_VAR = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

export class TelemetryConfigError extends Error {
  override readonly name = 'TelemetryConfigError';
}

export interface ConnectionString {
  readonly instrumentationKey: string;
  /** Where telemetry is posted (`<IngestionEndpoint>/v2.1/track`); the exporter's default when absent. */
  readonly ingestionEndpoint?: string;
  /** Live Metrics endpoint; the exporter's default when absent. */
  readonly liveEndpoint?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function endpoint(key: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TelemetryConfigError(`${CONNECTION_STRING_VAR}: ${key} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TelemetryConfigError(`${CONNECTION_STRING_VAR}: ${key} must be http(s)`);
  return value;
}

/** Parse and validate; never echoes the value (it identifies the Application Insights resource). */
export function parseConnectionString(raw: string): ConnectionString {
  const fields = new Map<string, string>();
  for (const part of raw.split(';')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) throw new TelemetryConfigError(`${CONNECTION_STRING_VAR}: expected Key=Value pairs separated by ";"`);
    fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const instrumentationKey = fields.get('instrumentationkey') ?? '';
  if (!GUID.test(instrumentationKey)) throw new TelemetryConfigError(`${CONNECTION_STRING_VAR}: InstrumentationKey must be a GUID`);
  const ingestionEndpoint = endpoint('IngestionEndpoint', fields.get('ingestionendpoint'));
  const liveEndpoint = endpoint('LiveEndpoint', fields.get('liveendpoint'));
  return { instrumentationKey, ...(ingestionEndpoint ? { ingestionEndpoint } : {}), ...(liveEndpoint ? { liveEndpoint } : {}) };
}
