// The scale-out summary: Socketship against Socket.IO, both as two instances sharing one Redis
// (ratios Socketship / Socket.IO, same run), and the connect storm: each auth mode against
// anonymous on the same server (same run). Targets from issue 13.
import type { ServerName } from './args.ts';
import type { Row } from './record.ts';
import { spread, type Spread } from './stats.ts';
import { cell } from './report.ts';

interface Target {
  /** Socketship / Socket.IO (scale-out) or mode / anonymous (storm). */
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

const SCALE_FIGURES: ScaleFigure[] = [
  { scenario: 'redis-broadcast-1k', metric: 'p50Ms', title: 'Cross-instance broadcast 1k x 10/s p50', unit: 'ms', better: 'lower' },
  { scenario: 'redis-broadcast-1k', metric: 'p99Ms', title: 'Cross-instance broadcast 1k x 10/s p99', unit: 'ms', better: 'lower', target: { ratio: 0.8 } },
  { scenario: 'redis-broadcast-1k', metric: 'maxMs', title: 'Cross-instance broadcast 1k x 10/s max', unit: 'ms', better: 'lower' },
  { scenario: 'redis-broadcast-1k', metric: 'farP99Ms', title: '... p99 of members on the other instance only', unit: 'ms', better: 'lower' },
  { scenario: 'redis-broadcast-1k', metric: 'serverCpuPct', title: '... both instances\' CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'redis-broadcast-1k', metric: 'commandsPerMessage', title: 'Redis commands per message at 10/s', unit: 'commands', better: 'lower', target: { absolute: 2 } },
  { scenario: 'redis-broadcast-1k', metric: 'redisCpuPct', title: 'Redis CPU at 10/s', unit: '% of a core', better: 'lower' },
  { scenario: 'redis-ceiling', metric: 'ceilingPerSec', title: 'Throughput ceiling (p99 < 100 ms, 1k members)', unit: 'messages/s', better: 'higher', target: { ratio: 1.5 } },
  { scenario: 'redis-ceiling', metric: 'ceilingDeliveriesPerSec', title: '... deliveries at the ceiling', unit: 'deliveries/s', better: 'higher' },
  { scenario: 'redis-ceiling', metric: 'commandsPerMessage', title: 'Redis commands per message at the ceiling', unit: 'commands', better: 'lower', target: { absolute: 2 } },
  { scenario: 'redis-ceiling', metric: 'redisCpuUsPerMessage', title: 'Redis CPU per message at the ceiling', unit: 'µs', better: 'lower' },
  { scenario: 'redis-ceiling', metric: 'serverCpuPct', title: '... both instances\' CPU at the ceiling', unit: '% of a core', better: 'lower' },
  { scenario: 'redis-replay', metric: 'catchUpMs', title: 'Replay: 1k reconnect to the other instance, until all caught up', unit: 'ms', better: 'lower' },
  { scenario: 'redis-replay', metric: 'caughtUpPct', title: '... clients that got every missed message', unit: '%', better: 'higher' },
];

export interface ScaleSummary extends ScaleFigure {
  servers: Partial<Record<ServerName, Spread>>;
  ratio?: number;
  met?: boolean;
}

function values(rows: readonly Row[], server: ServerName, scenario: string, metric: string): number[] {
  return rows.filter((r) => r.server === server && r.scenario === scenario).map((r) => r.figures[metric] ?? Number.NaN);
}

function meets(better: 'lower' | 'higher', value: number, bound: number): boolean {
  return better === 'lower' ? value <= bound : value >= bound;
}

export function summariseScale(rows: readonly Row[]): ScaleSummary[] {
  const out: ScaleSummary[] = [];
  for (const f of SCALE_FIGURES) {
    const service = spread(values(rows, 'service', f.scenario, f.metric));
    const sio = spread(values(rows, 'sio', f.scenario, f.metric));
    if (service.n === 0 && sio.n === 0) continue;
    const item: ScaleSummary = { ...f, servers: { service, sio } };
    if (service.n && sio.n && sio.median > 0) item.ratio = service.median / sio.median;
    if (f.target?.ratio !== undefined && item.ratio !== undefined) item.met = meets(f.better, item.ratio, f.target.ratio);
    if (f.target?.absolute !== undefined && service.n) item.met = meets(f.better, service.median, f.target.absolute);
    out.push(item);
  }
  return out;
}

function targetText(f: { better: 'lower' | 'higher'; target?: Target }, unit = 'x'): string {
  const op = f.better === 'lower' ? '<=' : '>=';
  if (f.target?.ratio !== undefined) return `${op} ${f.target.ratio.toFixed(2)}${unit}`;
  if (f.target?.absolute !== undefined) return `${op} ${f.target.absolute} (Socketship)`;
  return '';
}

const yesNo = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'yes' : 'NO');

export function scaleTable(summary: readonly ScaleSummary[]): string {
  const lines = ['| figure (two instances + Redis) | unit | Socketship | Socket.IO + redis-streams-adapter | Socketship / Socket.IO | target | met |', '|---|---|---:|---:|---:|---|---|'];
  for (const f of summary) {
    lines.push(`| ${f.title} | ${f.unit} | ${cell(f.servers.service)} | ${cell(f.servers.sio)} | ${f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : '-'} | ${targetText(f)} | ${yesNo(f.met)} |`);
  }
  return lines.join('\n');
}

// ---- connect storm ---------------------------------------------------------------------------
const MODES = ['anonymous', 'hs256', 'rs256'] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = { anonymous: 'anonymous', hs256: 'HS256', rs256: 'RS256 (JWKS)' };

interface StormFigure {
  metric: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  /** Ratio to anonymous, per mode. */
  targets?: Partial<Record<Mode, number>>;
}

const STORM_FIGURES: StormFigure[] = [
  { metric: 'connectsPerSec', title: 'Connect storm rate (64 at a time)', unit: 'connects/s', better: 'higher', targets: { hs256: 0.8, rs256: 0.6 } },
  { metric: 'serverCpuUsPerConnect', title: 'Server CPU per connect', unit: 'µs', better: 'lower' },
  { metric: 'serverCpuPct', title: 'Server CPU during the storm', unit: '% of a core', better: 'lower' },
];

export interface StormSummary extends StormFigure {
  modes: Partial<Record<Mode, Spread>>;
  ratio: Partial<Record<Mode, number>>;
  met: Partial<Record<Mode, boolean>>;
  /** False when the server accepted a bad token: the auth figures are then anonymous ones. */
  authEnforced: boolean;
}

export function summariseStorm(rows: readonly Row[]): StormSummary[] {
  const storm = rows.filter((r) => r.scenario.startsWith('storm-'));
  if (storm.length === 0) return [];
  const authEnforced = storm.every((r) => r.figures.authEnforced !== 0);
  return STORM_FIGURES.map((f) => {
    const modes: Partial<Record<Mode, Spread>> = {};
    for (const m of MODES) modes[m] = spread(values(storm, 'service', `storm-${m}`, f.metric));
    const base = modes.anonymous?.median;
    const ratio: Partial<Record<Mode, number>> = {};
    const met: Partial<Record<Mode, boolean>> = {};
    for (const m of MODES) {
      const v = modes[m];
      if (!v?.n || !base) continue;
      ratio[m] = v.median / base;
      const t = f.targets?.[m];
      if (t !== undefined) met[m] = meets(f.better, ratio[m], t);
    }
    return { ...f, modes, ratio, met, authEnforced };
  });
}

export function stormTable(summary: readonly StormSummary[]): string {
  const lines = ['| figure (one instance) | unit | anonymous | HS256 | RS256 (JWKS) | HS256 / anon | RS256 / anon | target | met |', '|---|---|---:|---:|---:|---:|---:|---|---|'];
  for (const f of summary) {
    const r = (m: Mode): string => (f.ratio[m] !== undefined ? `${f.ratio[m].toFixed(2)}x` : '-');
    const op = f.better === 'lower' ? '<=' : '>=';
    const target = f.targets ? Object.entries(f.targets).map(([m, t]) => `${MODE_LABEL[m as Mode].split(' ')[0]} ${op} ${t.toFixed(2)}x`).join(', ') : '';
    let met = f.targets ? (['hs256', 'rs256'] as const).map((m) => yesNo(f.met[m])).join(', ') : '';
    if (f.targets && !f.authEnforced) met = 'n/a: auth not enforced by this build';
    lines.push(`| ${f.title} | ${f.unit} | ${cell(f.modes.anonymous)} | ${cell(f.modes.hs256)} | ${cell(f.modes.rs256)} | ${r('hs256')} | ${r('rs256')} | ${target} | ${met} |`);
  }
  return lines.join('\n');
}

