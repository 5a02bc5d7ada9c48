// The scale-out summary: Socketship against Socket.IO, each as N instances sharing one Redis, for
// every instance count of the run (ratios Socketship / Socket.IO from the same run). Targets:
// issue 13 (p99, ceiling) and issue 23 (commands sent per message, at every instance count).
import type { ServerName } from './args.ts';
import type { Row } from './record.ts';
import { cell } from './report.ts';
import { spread, type Spread } from './stats.ts';

interface Target {
  /** Socketship / Socket.IO. */
  ratio?: number;
  /** An absolute bound on Socketship's own figure. */
  absolute?: number;
}

interface ScaleFigure {
  scenario: string;
  metric: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  target?: Target;
}

const B = 'redis-broadcast-1k';
const C = 'redis-ceiling';
const SCALE_FIGURES: ScaleFigure[] = [
  { scenario: B, metric: 'p50Ms', title: 'Cross-instance broadcast 1k x 10/s p50', unit: 'ms', better: 'lower' },
  { scenario: B, metric: 'p99Ms', title: 'Cross-instance broadcast 1k x 10/s p99', unit: 'ms', better: 'lower', target: { ratio: 0.8 } },
  { scenario: B, metric: 'farP99Ms', title: '... p99 of members on the other instances only', unit: 'ms', better: 'lower' },
  { scenario: B, metric: 'serverCpuPct', title: "... all instances' CPU", unit: '% of a core', better: 'lower' },
  { scenario: B, metric: 'sentPerMessage', title: 'Redis commands sent per message at 10/s (a script call once)', unit: 'commands', better: 'lower', target: { absolute: 1.5 } },
  { scenario: B, metric: 'opsPerMessage', title: 'Redis operations per message at 10/s (commandstats, script-inner included)', unit: 'operations', better: 'lower' },
  { scenario: B, metric: 'redisCpuUsPerMessage', title: 'Redis CPU per message at 10/s', unit: 'µs', better: 'lower' },
  { scenario: C, metric: 'ceilingPerSec', title: 'Throughput ceiling (p99 < 100 ms, 1k members)', unit: 'messages/s', better: 'higher', target: { ratio: 1.5 } },
  { scenario: C, metric: 'ceilingDeliveriesPerSec', title: '... deliveries at the ceiling', unit: 'deliveries/s', better: 'higher' },
  { scenario: C, metric: 'sentPerMessage', title: 'Redis commands sent per message at the ceiling', unit: 'commands', better: 'lower', target: { absolute: 1.5 } },
  { scenario: C, metric: 'opsPerMessage', title: 'Redis operations per message at the ceiling', unit: 'operations', better: 'lower' },
  { scenario: C, metric: 'redisCpuUsPerMessage', title: 'Redis CPU per message at the ceiling', unit: 'µs', better: 'lower' },
  { scenario: C, metric: 'serverCpuPct', title: "... all instances' CPU at the ceiling", unit: '% of a core', better: 'lower' },
  { scenario: 'redis-replay', metric: 'catchUpMs', title: 'Replay: 1k reconnect to the next instance, until all caught up', unit: 'ms', better: 'lower' },
  { scenario: 'redis-replay', metric: 'caughtUpPct', title: '... clients that got every missed message', unit: '%', better: 'higher' },
];

export interface ScaleSummary extends ScaleFigure {
  instances: number;
  servers: Partial<Record<ServerName, Spread>>;
  ratio?: number;
  met?: boolean;
}

function values(rows: readonly Row[], server: ServerName, instances: number, scenario: string, metric: string): number[] {
  return rows.filter((r) => r.server === server && r.instances === instances && r.scenario === scenario).map((r) => r.figures[metric] ?? Number.NaN);
}

const meets = (better: 'lower' | 'higher', value: number, bound: number): boolean => (better === 'lower' ? value <= bound : value >= bound);

/** The instance counts the rows measured, smallest first. */
export function instanceCounts(rows: readonly Row[]): number[] {
  return [...new Set(rows.filter((r) => r.scenario.startsWith('redis-') && r.instances !== undefined).map((r) => r.instances!))].sort((a, b) => a - b);
}

/** Figure by figure, one entry per instance count (so that a figure's growth reads down the table). */
export function summariseScale(rows: readonly Row[]): ScaleSummary[] {
  const out: ScaleSummary[] = [];
  const counts = instanceCounts(rows);
  for (const f of SCALE_FIGURES) {
    for (const instances of counts) {
      const service = spread(values(rows, 'service', instances, f.scenario, f.metric));
      const sio = spread(values(rows, 'sio', instances, f.scenario, f.metric));
      if (service.n === 0 && sio.n === 0) continue;
      const item: ScaleSummary = { ...f, instances, servers: { service, sio } };
      if (service.n && sio.n && sio.median > 0) item.ratio = service.median / sio.median;
      if (f.target?.ratio !== undefined && item.ratio !== undefined) item.met = meets(f.better, item.ratio, f.target.ratio);
      if (f.target?.absolute !== undefined && service.n) item.met = meets(f.better, service.median, f.target.absolute);
      out.push(item);
    }
  }
  return out;
}

function targetText(f: ScaleFigure): string {
  const op = f.better === 'lower' ? '<=' : '>=';
  if (f.target?.ratio !== undefined) return `${op} ${f.target.ratio.toFixed(2)}x`;
  if (f.target?.absolute !== undefined) return `${op} ${f.target.absolute} (Socketship)`;
  return '';
}

const yesNo = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'yes' : 'NO');

/** What the table measured, where each part ran: printed above it, since it changes how to read it. */
export function scaleHeading(counts: readonly number[], members: number, pinned: boolean): string {
  const where = pinned
    ? 'every instance of a run is pinned to core 0, so the instances share that one core (more instances split the same CPU, they add none); redis-server and the load generator are on core 1'
    : 'not pinned: the instances, redis-server and the load generator share all the cores (figures noisier)';
  return `Scale-out through one Redis at ${counts.join(', ')} instances of each server: ${where}. ${members} members spread evenly over the instances, publishers on the first; ratios Socketship / Socket.IO from this run. Commands sent and operations: from a counting window of their own after each latency window, same messages, MONITOR open (operations = commandstats calls, commands sent = those minus the script-inner commands MONITOR marks [0 lua]); latency and CPU: from the latency window, without MONITOR.`;
}

export function scaleTable(summary: readonly ScaleSummary[]): string {
  const lines = ['| figure (N instances + one Redis) | unit | instances | Socketship | Socket.IO + redis-streams-adapter | Socketship / Socket.IO | target | met |', '|---|---|---:|---:|---:|---:|---|---|'];
  for (const f of summary) {
    lines.push(`| ${f.title} | ${f.unit} | ${f.instances} | ${cell(f.servers.service)} | ${cell(f.servers.sio)} | ${f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : '-'} | ${targetText(f)} | ${yesNo(f.met)} |`);
  }
  return lines.join('\n');
}
