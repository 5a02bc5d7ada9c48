// One line on stderr a second while the run goes: where the ramp is, then what has been sent and
// received with the latency so far, so a run against a struggling deployment can be stopped
// (Ctrl-C: the summary still comes) before it is over.
import type { Histogram } from 'hdr-histogram-js';
import { clock } from '../bench/client/state.ts';
import { fmt } from '../bench/lib/stats.ts';
import type { Tally } from './types.ts';

function p99(h: Histogram): string {
  return h.totalCount ? `p99 ${fmt(h.getValueAtPercentile(99) / 1000)} ms` : 'p99 -';
}

export function progressLine(tally: Tally, elapsedS: number, durationS: number, phase: 'ramp' | 'messages' | 'closing'): string {
  const head = `loadtest ${elapsedS.toFixed(0).padStart(3)}s/${durationS}s ${phase.padEnd(8)}`;
  const conns = `${tally.open}/${tally.requested} open, ${tally.failed} failed, ${tally.closed} closed`;
  if (phase === 'ramp') return `${head} ${conns}`;
  const echo = `echo ${tally.echo.totalCount}/${tally.echoExpected} ${p99(tally.echo)}`;
  const broadcast = `broadcast ${tally.broadcast.totalCount}/${tally.broadcastExpected} ${p99(tally.broadcast)}`;
  return `${head} ${conns} | sent ${tally.sent} | ${echo} | ${broadcast}`;
}

/** Prints the line every second until the returned function is called. */
export function startProgress(tally: Tally, durationS: number, phase: () => 'ramp' | 'messages' | 'closing'): () => void {
  const started = clock();
  const timer = setInterval(() => process.stderr.write(`${progressLine(tally, (clock() - started) / 1000, durationS, phase())}\n`), 1000);
  // The run's own work keeps the process alive; this line must never do it alone.
  timer.unref();
  return () => clearInterval(timer);
}
