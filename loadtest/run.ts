// One run, start to end: the token, the ramp, the exchange, the closes, the summary. Bounded as a
// whole: every phase stops at the deadline (start + --duration), the drain and the closes take a
// few seconds more at most, and a guard ends the process should anything still be going after that.
import { histogram } from '../bench/client/windows.ts';
import { clock } from '../bench/client/state.ts';
import type { Options } from './args.ts';
import { closeAll, ramp } from './connect.ts';
import { exchange, plan, type Exchange } from './messages.ts';
import { startProgress } from './progress.ts';
import { summarize } from './report.ts';
import { tokenOf } from './token.ts';
import type { RunClock, Summary, Tally } from './types.ts';

/** After the deadline: the drain (2 s), the closes (2 s), handshakes still under way (10 s), and margin. */
const GUARD_AFTER_DEADLINE_MS = 30_000;

function note(o: Options, text: string): void {
  if (!o.quiet) process.stderr.write(`loadtest: ${text}\n`);
}

export async function run(o: Options): Promise<Summary> {
  const token = await tokenOf(o);
  const tally: Tally = {
    requested: o.connections,
    attempted: 0,
    opened: 0,
    open: 0,
    failed: 0,
    closed: 0,
    errors: new Map(),
    handshake: histogram(),
    rampMs: 0,
    sent: 0,
    echoExpected: 0,
    broadcastExpected: 0,
    echo: histogram(),
    broadcast: histogram(),
  };
  const runClock: RunClock = { deadline: clock() + o.durationS * 1000, interrupted: false, closing: false };
  const guard = setTimeout(() => {
    process.stderr.write(`loadtest: still running ${GUARD_AFTER_DEADLINE_MS / 1000} s after --duration ran out; stopping\n`);
    process.exit(1);
  }, o.durationS * 1000 + GUARD_AFTER_DEADLINE_MS);
  guard.unref();
  // Ctrl-C ends the run now, summary included; a second one ends the process.
  const interrupt = (): void => {
    if (runClock.interrupted) process.exit(130);
    runClock.interrupted = true;
    runClock.deadline = clock();
    note(o, 'interrupted: closing (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', interrupt);
  let phase: 'ramp' | 'messages' | 'closing' = 'ramp';
  const stopProgress = o.quiet ? () => {} : startProgress(tally, o.durationS, () => phase);
  let ex: Exchange = { publishers: 0, perPublisher: 0 };
  try {
    await ramp({ url: o.url.href, room: o.room, token, ca: o.ca, resolve: o.resolve }, o.connectRate, tally, runClock);
    phase = 'messages';
    if (tally.open > 0) {
      const planned = plan(o.rate, tally.open);
      if (planned.perPublisher > 10) note(o, `${o.rate} messages/s from ${planned.publishers} sockets is ${planned.perPublisher.toFixed(1)}/s each: the service closes sockets past RATE_LIMIT_PER_SEC (default 20) with 1008`);
      ex = await exchange(o.rate, tally, runClock);
    }
  } finally {
    phase = 'closing';
    await closeAll(runClock);
    stopProgress();
    clearTimeout(guard);
    process.off('SIGINT', interrupt);
  }
  return summarize(o, tally, ex, runClock.interrupted);
}
