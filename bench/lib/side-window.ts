// A window of one server under test with helper processes beside it (a backend peer, a
// redis-server, on the load generator's core): their CPU is measured apart, so that it is neither
// charged to the server nor taken for other work on the machine (which would flag every such
// window as disturbed and run it again).
import { ask, type Client, type Measured } from './loadgen.ts';
import { cost, processCpuSeconds, sample, type Cost, type Sample } from './proc.ts';
import { noteOtherLoad } from './record.ts';
import type { Command, Reply, WindowResult } from './types.ts';

export interface SideCost extends Cost {
  /** The helper processes together, in % of one core. */
  sideCpuPct: number;
}

export interface SideWindow {
  result: WindowResult;
  cost: SideCost;
}

interface Marks {
  at: Sample;
  side: number;
}

function mark(server: Measured, client: Client, sidePids: readonly number[]): Marks {
  return { at: sample(server.pid, client.pid), side: sidePids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0) };
}

/** Runs a window command on the load generator; CPU of the server, the client and the helpers (`sidePids`) over it. */
export async function sideWindow(client: Client, server: Measured, sidePids: readonly number[], command: Command, timeoutMs: number): Promise<SideWindow> {
  let a: Marks | undefined;
  let b: Marks | undefined;
  const reply = await ask<Extract<Reply, { reply: 'window' }>>(client, command, 'window', timeoutMs, (m) => {
    if (m === 'start') a = mark(server, client, sidePids);
    else b = mark(server, client, sidePids);
  });
  if (!a || !b) throw new Error('window marks missing');
  const c = cost(a.at, b.at);
  const sideCpuPct = ((b.side - a.side) / ((b.at.at - a.at.at) / 1000)) * 100;
  return { result: reply.result, cost: { ...c, sideCpuPct, otherCpuPct: c.otherCpuPct - sideCpuPct } };
}

/** The window's CPU and latency figures (as windowFigures), the helpers' CPU among them; notes other load. */
export function sideFigures(w: SideWindow): Record<string, number> {
  noteOtherLoad(w.cost.otherCpuPct);
  const r = w.result;
  return {
    otherCpuPct: w.cost.otherCpuPct,
    serverCpuPct: w.cost.serverCpuPct,
    serverSysPct: w.cost.serverSysPct,
    clientCpuPct: w.cost.clientCpuPct,
    sideCpuPct: w.cost.sideCpuPct,
    machineBusyPct: w.cost.machineBusyPct,
    softirqPct: w.cost.softirqPct,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    maxMs: r.latencyMs.max,
    closed: r.closedDuring,
  };
}
