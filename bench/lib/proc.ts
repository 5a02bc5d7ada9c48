// What a run costs, read from /proc: a process's utime+stime, and the machine's busy and softirq time.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux's USER_HZ is 100 everywhere that matters
}

/** utime + stime of a process (all its threads), in seconds. */
export function processCpuSeconds(pid: number): number {
  const t = processTimes(pid);
  return t.user + t.system;
}

/** utime and stime of a process (all its threads), in seconds. */
export function processTimes(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(rest[11]) / clkTck, system: Number(rest[12]) / clkTck };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

export interface MachineTimes {
  total: number;
  idle: number;
  softirq: number;
}

/** The aggregate "cpu" line of /proc/stat, in ticks. */
export function machineTimes(): MachineTimes {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest counted in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, idle: v[3]! + v[4]!, softirq: v[6]! };
  } catch {
    return { total: Number.NaN, idle: Number.NaN, softirq: Number.NaN };
  }
}

export interface Sample {
  at: number;
  server: number;
  serverSystem: number;
  client: number;
  machine: MachineTimes;
}

export function sample(serverPid: number, clientPid: number): Sample {
  const server = processTimes(serverPid);
  return { at: performance.now(), server: server.user + server.system, serverSystem: server.system, client: processCpuSeconds(clientPid), machine: machineTimes() };
}

export interface Cost {
  /** Percent of one core over the window. */
  serverCpuPct: number;
  /** The kernel's part of serverCpuPct (stime): system calls, and loopback TCP work done in them. */
  serverSysPct: number;
  clientCpuPct: number;
  /** Percent of the whole machine (all cores). */
  machineBusyPct: number;
  softirqPct: number;
  /** Busy time of neither process nor softirq (other work on the machine, steal), in % of a core: a disturbed window shows here. */
  otherCpuPct: number;
}

export function cost(a: Sample, b: Sample): Cost {
  const seconds = (b.at - a.at) / 1000;
  const dt = b.machine.total - a.machine.total;
  const serverCpuPct = ((b.server - a.server) / seconds) * 100;
  const clientCpuPct = ((b.client - a.client) / seconds) * 100;
  const machineBusyPct = ((dt - (b.machine.idle - a.machine.idle)) / dt) * 100;
  const softirqPct = ((b.machine.softirq - a.machine.softirq) / dt) * 100;
  const cores = cpus().length;
  const serverSysPct = ((b.serverSystem - a.serverSystem) / seconds) * 100;
  return { serverCpuPct, serverSysPct, clientCpuPct, machineBusyPct, softirqPct, otherCpuPct: (machineBusyPct - softirqPct) * cores - serverCpuPct - clientCpuPct };
}

/** The soft and hard open-files limits of a running process. */
export function openFilesLimit(pid: number): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line && /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(line);
    if (!m) return undefined;
    const n = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}
