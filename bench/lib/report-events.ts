// The backend events summary: each variant's figures over the repetitions, and the ratios of
// the same run that issue 20 sets targets on: events on (webhooks, in memory or through Redis)
// over events off on the same footing, and the publish hook over no hook.
import { settings } from './args.ts';
import type { Row } from './record.ts';
import { cell } from './report.ts';
import { spread, type Spread } from './stats.ts';

const VARIANTS = ['off', 'webhook', 'hook', 'redis-off', 'redis-webhook'] as const;
type Variant = (typeof VARIANTS)[number];

/** Each comparison: a variant over its baseline. */
const PAIRS = [
  { name: 'webhook / off', of: 'webhook', base: 'off' },
  { name: 'hook / off', of: 'hook', base: 'off' },
  { name: 'redis-webhook / redis-off', of: 'redis-webhook', base: 'redis-off' },
] as const;
type PairName = (typeof PAIRS)[number]['name'];

interface EventsFigure {
  scenario: string;
  metric: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  /** Issue 20's bound on the events-on ratios (webhook / off, redis-webhook / redis-off). */
  target?: number;
  /** A count or share of the events themselves: zero with events off, so no ratio. */
  noRatio?: true;
}

const ACK = `${settings.eventsAckRate}/s over ${settings.echoConns} sockets`;
// The run's own sizes (a smoke run has a few sockets).
const B = `${settings.smallN >= 1000 ? `${settings.smallN / 1000}k` : settings.smallN} x ${settings.b1kRate}/s`;

const EVENTS_FIGURES: EventsFigure[] = [
  { scenario: 'events-echo', metric: 'roundTripsPerSec', title: `Chat echo throughput (${settings.echoConns} x ${settings.inflight} in flight)`, unit: 'round trips/s', better: 'higher', target: 0.9 },
  { scenario: 'events-echo', metric: 'p50Ms', title: '... p50 (say to acknowledgement, saturated)', unit: 'ms', better: 'lower' },
  { scenario: 'events-echo', metric: 'p99Ms', title: '... p99 (say to acknowledgement, saturated)', unit: 'ms', better: 'lower' },
  { scenario: 'events-echo', metric: 'serverCpuPct', title: '... server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'events-echo', metric: 'serverCpuUsPerRoundTrip', title: '... server CPU per round trip', unit: 'µs', better: 'lower' },
  { scenario: 'events-echo', metric: 'sideCpuPct', title: '... backend peer (and Redis) CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'events-echo', metric: 'eventsEmitted', title: '... events made (warm-up, window, drain)', unit: 'events', better: 'higher', noRatio: true },
  { scenario: 'events-echo', metric: 'eventsDroppedPct', title: '... events dropped (queue full)', unit: '% of made', better: 'lower', noRatio: true },
  { scenario: 'events-echo', metric: 'eventsReceivedPct', title: '... events the receiver had when the echo ended', unit: '% of made', better: 'higher', noRatio: true },
  { scenario: 'events-echo', metric: 'eventsReceivedAfterDrainPct', title: '... and once the backlog was delivered', unit: '% of made', better: 'higher', noRatio: true },
  { scenario: 'events-echo', metric: 'backlogDrainMs', title: '... time to deliver the backlog after the echo', unit: 'ms', better: 'lower', noRatio: true },
  { scenario: 'events-echo', metric: 'hookCalls', title: '... publish hook calls', unit: 'calls', better: 'higher', noRatio: true },
  { scenario: 'events-ack', metric: 'p50Ms', title: `Say to acknowledgement p50 (${ACK}, open loop)`, unit: 'ms', better: 'lower' },
  { scenario: 'events-ack', metric: 'p99Ms', title: '... p99', unit: 'ms', better: 'lower' },
  { scenario: 'events-ack', metric: 'maxMs', title: '... max', unit: 'ms', better: 'lower' },
  { scenario: 'events-ack', metric: 'ackedPct', title: '... says acknowledged', unit: '%', better: 'higher' },
  { scenario: 'events-ack', metric: 'serverCpuPct', title: '... server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'events-b1k', metric: 'p50Ms', title: `Broadcast ${B} p50`, unit: 'ms', better: 'lower' },
  { scenario: 'events-b1k', metric: 'p99Ms', title: `Broadcast ${B} p99`, unit: 'ms', better: 'lower', target: 1.1 },
  { scenario: 'events-b1k', metric: 'maxMs', title: '... max', unit: 'ms', better: 'lower' },
  { scenario: 'events-b1k', metric: 'arrivedPct', title: '... deliveries of the window that arrived', unit: '%', better: 'higher' },
  { scenario: 'events-b1k', metric: 'serverCpuPct', title: '... server CPU', unit: '% of a core', better: 'lower' },
];

export interface EventsSummary extends EventsFigure {
  variants: Partial<Record<Variant, Spread>>;
  /** Medians over medians, same run. */
  ratio: Partial<Record<PairName, number>>;
  /** Against `target`, for the events-on pairs measured. */
  met: Partial<Record<PairName, boolean>>;
}

const meets = (better: 'lower' | 'higher', value: number, bound: number): boolean => (better === 'lower' ? value <= bound : value >= bound);

export function summariseEvents(rows: readonly Row[]): EventsSummary[] {
  const mine = rows.filter((r) => r.scenario.startsWith('events-'));
  if (mine.length === 0) return [];
  const out: EventsSummary[] = [];
  for (const f of EVENTS_FIGURES) {
    const variants: Partial<Record<Variant, Spread>> = {};
    for (const v of VARIANTS) {
      const values = mine.filter((r) => r.variant === v && r.scenario === f.scenario).map((r) => r.figures[f.metric] ?? Number.NaN);
      if (values.length) variants[v] = spread(values);
    }
    const ratio: Partial<Record<PairName, number>> = {};
    const met: Partial<Record<PairName, boolean>> = {};
    for (const p of f.noRatio ? [] : PAIRS) {
      const a = variants[p.of]?.median;
      const b = variants[p.base]?.median;
      if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) continue;
      const r = a / b;
      ratio[p.name] = r;
      if (f.target !== undefined && p.of !== 'hook') met[p.name] = meets(f.better, r, f.target);
    }
    out.push({ ...f, variants, ratio, met });
  }
  return out;
}

export function eventsTable(summary: readonly EventsSummary[]): string {
  const present = VARIANTS.filter((v) => summary.some((f) => f.variants[v]?.n));
  const pairs = PAIRS.filter((p) => present.includes(p.of) && present.includes(p.base));
  const lines = [
    `| figure (one instance, backend events) | unit | ${present.join(' | ')} | ${pairs.map((p) => p.name).join(' | ')} | target (events on / off) | met |`,
    `|---|---|${present.map(() => '---:').join('|')}|${pairs.map(() => '---:').join('|')}|---|---|`,
  ];
  for (const f of summary) {
    const ratios = pairs.map((p) => (f.ratio[p.name] !== undefined ? `${f.ratio[p.name]!.toFixed(2)}x` : '-'));
    const target = f.target !== undefined ? `${f.better === 'lower' ? '<=' : '>='} ${f.target.toFixed(2)}x` : '';
    const met = pairs.filter((p) => f.met[p.name] !== undefined).map((p) => `${p.of}: ${f.met[p.name] ? 'yes' : 'NO'}`).join(', ');
    lines.push(`| ${f.title} | ${f.unit} | ${present.map((v) => cell(f.variants[v])).join(' | ')} | ${ratios.join(' | ')} | ${target} | ${met} |`);
  }
  return lines.join('\n');
}
