// What a run collects: one row per server, repetition and scenario, with its figures and the raw
// window and connect results; what was skipped; and the runs discarded as disturbed.
import type { GroupName, ServerName } from './args.ts';
import type { Cost } from './proc.ts';
import type { ConnectResult, WindowResult } from './types.ts';

export interface Row {
  server: ServerName;
  rep: number;
  scenario: string;
  figures: Record<string, number>;
  cost?: Cost;
  window?: WindowResult;
  connect?: ConnectResult;
}

export const rows: Row[] = [];
export const skipped: string[] = [];
/** Rows of group runs discarded because other load disturbed them (kept in the JSON). */
export const retried: { group: GroupName; server: ServerName; rep: number; rows: Row[] }[] = [];

export function record(server: ServerName, rep: number, scenario: string, figures: Record<string, number>, extra: { connect?: ConnectResult; result?: WindowResult; cost?: Cost } = {}): void {
  const row: Row = { server, rep, scenario, figures };
  if (extra.cost) row.cost = extra.cost;
  if (extra.result) row.window = extra.result;
  if (extra.connect) row.connect = extra.connect;
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
