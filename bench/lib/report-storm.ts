// The connect storm's summary: each auth mode against anonymous on the same server (same run),
// targets from issue 13.
import type { Row } from './record.ts';
import { cell } from './report.ts';
import { spread, type Spread } from './stats.ts';

function values(rows: readonly Row[], scenario: string, metric: string): number[] {
  return rows.filter((r) => r.server === 'service' && r.scenario === scenario).map((r) => r.figures[metric] ?? Number.NaN);
}

const meets = (better: 'lower' | 'higher', value: number, bound: number): boolean => (better === 'lower' ? value <= bound : value >= bound);
const yesNo = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'yes' : 'NO');

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
    for (const m of MODES) modes[m] = spread(values(storm, `storm-${m}`, f.metric));
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

