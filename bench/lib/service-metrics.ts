// The service's own counters of its backend events, read from its /metrics before and after a
// window: how many events it made, dropped and had delivered, and how the publish hook decided.
// They show that a variant did what it says (events made, hook called) and what the figures
// cost in delivery (an events-on run that drops events would be cheaper than one that sends them).

/** Counter totals by metric name (summed over its labels) and by series (name and labels as written, e.g. `x_count{outcome="accepted"}`). */
export type Counters = Record<string, number>;

export const EVENT_COUNTERS = {
  emitted: 'ws_events_emitted_total',
  dropped: 'ws_events_dropped_total',
  delivered: 'ws_webhook_events_delivered_total',
  deadLetters: 'ws_webhook_dead_letters_total',
  /** Every say the hook decided, any outcome (the histogram's count). */
  hookDecided: 'ws_publish_hook_seconds_count',
} as const;

const WANTED: ReadonlySet<string> = new Set([...Object.values(EVENT_COUNTERS), 'ws_webhook_attempts_total']);

/** Prometheus text format: the sum of each wanted series over its labels. */
export function parseCounters(text: string): Counters {
  const out: Counters = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !WANTED.has(m[1]!)) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    out[m[1]!] = (out[m[1]!] ?? 0) + v;
    if (m[2]) out[`${m[1]!}${m[2]}`] = v;
  }
  return out;
}

/** The counters of the service on `port`, within `timeoutMs`. */
export async function readCounters(port: number, timeoutMs = 5_000): Promise<Counters> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseCounters(await res.text());
}

/** after - before, per counter (a counter absent before counts from 0). */
export function delta(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const [name, v] of Object.entries(after)) out[name] = v - (before[name] ?? 0);
  return out;
}
