// The summary of a run: each figure's spread per server over the repetitions, its ratio to bare
// ws in the same run, whether Socketship met its target, and the markdown table of it all.
import { FULL, SERVERS, type ServerName } from './args.ts';
import type { Row } from './record.ts';
import { fmt, spread, type Spread } from './stats.ts';

export interface Figure {
  scenario: string;
  metric: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  /** Target for Socketship as a ratio to bare ws. */
  target?: number;
}

export const FIGURES: Figure[] = [
  { scenario: 'idle-memory', metric: 'bytesPerConn', title: `Idle memory per connection (RSS, ${FULL.bigN / 1000}k)`, unit: 'bytes', better: 'lower', target: 1.1 },
  { scenario: 'idle-memory', metric: 'heapBytesPerConn', title: 'Idle heap per connection', unit: 'bytes', better: 'lower' },
  { scenario: 'idle-memory', metric: 'connectMs', title: `Time to open ${FULL.bigN / 1000}k sockets (64 at a time, presence on)`, unit: 'ms', better: 'lower' },
  { scenario: 'heartbeat', metric: 'serverCpuPct', title: 'Heartbeat CPU, 1 s ping', unit: '% of a core', better: 'lower', target: 0.85 },
  { scenario: 'heartbeat', metric: 'serverSysPct', title: 'Heartbeat CPU in the kernel (stime)', unit: '% of a core', better: 'lower' },
  { scenario: 'heartbeat', metric: 'machineBusyPct', title: 'Heartbeat machine busy (server + clients)', unit: '% of machine', better: 'lower' },
  { scenario: 'echo', metric: 'roundTripsPerSec', title: 'Chat echo throughput (100 x 8 in flight)', unit: 'round trips/s', better: 'higher', target: 0.9 },
  { scenario: 'echo', metric: 'p99Ms', title: 'Chat echo p99', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-1k', metric: 'p50Ms', title: 'Broadcast 1k x 10/s p50', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-1k', metric: 'p99Ms', title: 'Broadcast 1k x 10/s p99', unit: 'ms', better: 'lower', target: 0.9 },
  { scenario: 'broadcast-1k', metric: 'maxMs', title: 'Broadcast 1k x 10/s max', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-1k', metric: 'serverCpuPct', title: 'Broadcast 1k x 10/s server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'broadcast-10k', metric: 'p50Ms', title: 'Broadcast 10k x 2/s p50', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-10k', metric: 'p99Ms', title: 'Broadcast 10k x 2/s p99', unit: 'ms', better: 'lower', target: 0.9 },
  { scenario: 'broadcast-10k', metric: 'maxMs', title: 'Broadcast 10k x 2/s max', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-10k', metric: 'serverCpuPct', title: 'Broadcast 10k x 2/s server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'fanout-10k', metric: 'deliveriesPerSec', title: 'Fan-out capacity at 10k (overloaded)', unit: 'deliveries/s', better: 'higher', target: 1.3 },
  { scenario: 'fanout-10k', metric: 'serverCpuPct', title: 'Fan-out server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'fanout-10k', metric: 'clientCpuPct', title: 'Fan-out load generator CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'echo-via-nginx', metric: 'roundTripsPerSec', title: 'Chat echo through nginx', unit: 'round trips/s', better: 'higher' },
];

export interface Summary extends Figure {
  servers: Partial<Record<ServerName, Spread>>;
  /** Median of the server / median of bare ws, same run. */
  ratio: Partial<Record<ServerName, number>>;
  /** Through nginx / direct, same server. */
  viaNginxRatio?: Partial<Record<ServerName, number>>;
  met?: boolean;
  beatsSocketIo?: boolean;
}

export function summarise(rows: readonly Row[], servers: readonly ServerName[]): Summary[] {
  const out: Summary[] = [];
  for (const f of FIGURES) {
    const per: Partial<Record<ServerName, Spread>> = {};
    for (const s of servers) {
      const v = rows.filter((r) => r.server === s && r.scenario === f.scenario).map((r) => r.figures[f.metric] ?? Number.NaN);
      if (v.length) per[s] = spread(v);
    }
    if (Object.keys(per).length === 0) continue;
    const ratio: Partial<Record<ServerName, number>> = {};
    const base = per.ws?.median;
    for (const s of servers) if (per[s] && base) ratio[s] = per[s].median / base;
    const item: Summary = { ...f, servers: per, ratio };
    if (f.scenario === 'echo-via-nginx') {
      item.viaNginxRatio = {};
      for (const s of servers) {
        const direct = spread(rows.filter((r) => r.server === s && r.scenario === 'echo').map((r) => r.figures.roundTripsPerSec ?? Number.NaN)).median;
        if (per[s]) item.viaNginxRatio[s] = per[s].median / direct;
      }
    }
    const r = ratio.service;
    if (f.target !== undefined && r !== undefined && Number.isFinite(r)) item.met = f.better === 'lower' ? r <= f.target : r >= f.target;
    const sio = per.sio?.median;
    const svc = per.service?.median;
    if (f.target !== undefined && sio !== undefined && svc !== undefined) item.beatsSocketIo = f.better === 'lower' ? svc < sio : svc > sio;
    out.push(item);
  }
  return out;
}

export function cell(s: Spread | undefined): string {
  if (!s || s.n === 0) return '-';
  return s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})` : fmt(s.median);
}

export function table(summary: readonly Summary[], servers: readonly ServerName[]): string {
  const cols = servers.map((s) => SERVERS[s].label);
  const ratioCols = servers.filter((s) => s !== 'ws').map((s) => `${SERVERS[s].label} / ws`);
  const lines = [
    `| figure | unit | ${cols.join(' | ')} | ${ratioCols.join(' | ')} | target | met |`,
    `|---|---|${cols.map(() => '---:').join('|')}|${ratioCols.map(() => '---:').join('|')}|---|---|`,
  ];
  for (const f of summary) {
    const ratios = servers.filter((s) => s !== 'ws').map((s) => {
      const r = f.ratio[s];
      const n = f.viaNginxRatio?.[s];
      return `${r !== undefined ? `${r.toFixed(2)}x` : '-'}${n !== undefined ? ` (${n.toFixed(2)}x direct)` : ''}`;
    });
    const target = f.target !== undefined ? `${f.better === 'lower' ? '<=' : '>='} ${f.target.toFixed(2)}x` : '';
    const met = f.met === undefined ? '' : `${f.met ? 'yes' : 'NO'}${f.beatsSocketIo === false ? ', not better than Socket.IO' : ''}`;
    lines.push(`| ${f.title} | ${f.unit} | ${servers.map((s) => cell(f.servers[s])).join(' | ')} | ${ratios.join(' | ')} | ${target} | ${met} |`);
  }
  return lines.join('\n');
}
