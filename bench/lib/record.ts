// What a run collects: one row per server, repetition and scenario, with its figures and the raw
// window and connect results; what was skipped; and the runs discarded as disturbed.
import type { GroupName, ServerName } from './args.ts';
import type { ClusterCost } from './cluster.ts';
import type { CommandCount } from './monitor.ts';
import type { Cost } from './proc.ts';
import type { RedisCost } from './redis-stats.ts';
import type { ConnectResult, ReplayResult, WindowResult } from './types.ts';

export interface Row {
  server: ServerName;
  rep: number;
  scenario: string;
  /** Scale-out: the instances of the server in this run. */
  instances?: number;
  /** Backend events: the variant of the service (events off, webhooks, publish hook...). */
  variant?: string;
  figures: Record<string, number>;
  cost?: Cost | ClusterCost;
  window?: WindowResult;
  connect?: ConnectResult;
  redis?: RedisCost;
  /** Scale-out: the commands sent, from the window's counting twin (bench/lib/count-window.ts). */
  count?: CommandCount;
  countWindow?: WindowResult;
  replay?: ReplayResult;
  /** Throughput ceiling: every rate tried, in order. */
  steps?: { rate: number; ok: boolean; figures: Record<string, number>; redis: RedisCost }[];
}

type Extra = Omit<Row, 'server' | 'rep' | 'scenario' | 'figures' | 'window'> & { result?: WindowResult };

export const rows: Row[] = [];
export const skipped: string[] = [];
/** Rows of group runs discarded because other load disturbed them (kept in the JSON). */
export const retried: { group: GroupName; variant?: number; server: ServerName; rep: number; rows: Row[] }[] = [];

export function record(server: ServerName, rep: number, scenario: string, figures: Record<string, number>, extra: Extra = {}): void {
  const { result, ...rest } = extra;
  const row: Row = { server, rep, scenario, figures, ...rest };
  if (result) row.window = result;
  rows.push(row);
}

/** Other work on the machine above this (in % of a core) during a window makes the group run again. */
const DISTURBED_PCT = 30;
let disturbed = false;

/** Starts a group run with a clean slate; afterwards, whether any of its windows saw other load. */
export function resetDisturbed(): void {
  disturbed = false;
}
export function wasDisturbed(): boolean {
  return disturbed;
}

/** Marks the run disturbed when the window saw more than DISTURBED_PCT of other work. */
export function noteOtherLoad(otherCpuPct: number): void {
  if (otherCpuPct > DISTURBED_PCT) disturbed = true;
}

export function windowFigures(w: { result: WindowResult; cost: Cost }): Record<string, number> {
  noteOtherLoad(w.cost.otherCpuPct);
  return {
    otherCpuPct: w.cost.otherCpuPct,
    serverCpuPct: w.cost.serverCpuPct,
    serverSysPct: w.cost.serverSysPct,
    clientCpuPct: w.cost.clientCpuPct,
    machineBusyPct: w.cost.machineBusyPct,
    softirqPct: w.cost.softirqPct,
    p50Ms: w.result.latencyMs.p50,
    p99Ms: w.result.latencyMs.p99,
    maxMs: w.result.latencyMs.max,
  };
}
