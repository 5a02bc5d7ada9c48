// pino's JSON lines, unchanged on stdout (App Service → Log Analytics) but for the active trace's
// ids, and copied to Application Insights as log records (the `traces` table; lines with an `err`
// become `exceptions`). Emitted in the caller's context, so a line logged while handling a request
// carries that request's operation id: logs and requests correlate in both places.
import type { ContextAPI, TraceAPI } from '@opentelemetry/api';
import type { AnyValueMap, Logger as OtelLogger, SeverityNumber } from '@opentelemetry/api-logs';

export interface LineSink {
  write(line: string): unknown;
}

export interface LogBridgeDeps {
  readonly out: LineSink;
  readonly otelLogger: OtelLogger;
  readonly trace: TraceAPI;
  readonly context: ContextAPI;
}

// pino level labels (the logger formats `level` as its label) to OpenTelemetry severities.
const SEVERITY: Readonly<Record<string, SeverityNumber>> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };
const OWN_KEYS = new Set(['level', 'time', 'msg', 'service', 'trace_id', 'span_id']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The structured fields of one pino line as log-record attributes (an `err` as exception.*). */
export function recordAttributes(fields: Record<string, Json>): AnyValueMap {
  const out: AnyValueMap = {};
  for (const [key, value] of Object.entries(fields)) {
    if (OWN_KEYS.has(key)) continue;
    // pino's serialized Error, or the broker's message-only form: either way an exception record.
    if (key === 'err' && (isObject(value) || typeof value === 'string')) {
      out['exception.type'] = isObject(value) ? String(value.type ?? 'Error') : 'Error';
      out['exception.message'] = isObject(value) ? String(value.message ?? '') : value;
      if (isObject(value) && typeof value.stack === 'string') out['exception.stacktrace'] = value.stack;
      continue;
    }
    out[key] = typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
  }
  return out;
}

/** A pino destination (`write(line)`) that tees each line as described above. */
export function createLogBridge(deps: LogBridgeDeps): LineSink {
  return {
    write(line: string): void {
      const span = deps.trace.getActiveSpan()?.spanContext();
      const traced = span !== undefined && deps.trace.isSpanContextValid(span);
      deps.out.write(traced ? line.replace(/\}\s*$/, `,"trace_id":"${span.traceId}","span_id":"${span.spanId}"}\n`) : line);
      let fields: Json;
      try {
        fields = JSON.parse(line) as Json;
      } catch {
        return; // not one of pino's lines: stdout only
      }
      if (!isObject(fields)) return;
      const level = String(fields.level ?? 'info');
      deps.otelLogger.emit({
        severityNumber: SEVERITY[level] ?? 9,
        severityText: level.toUpperCase(),
        body: typeof fields.msg === 'string' ? fields.msg : '',
        attributes: recordAttributes(fields),
        context: deps.context.active(),
      });
    },
  };
}
