// The measured exchange: `say`s into the run's room at --rate, open loop (the benchmark's
// publisher, bench/client/open-loop.ts: message g is due at T0 + g / rate whatever happened
// before, so a deployment that falls behind is measured falling behind). Every member gets every
// message: the sender's own copy is the echo round trip, the others' the broadcast latency, both
// from the message's due time (carried in its text) to its arrival, on this machine's clock.
import { publishOpenLoop } from '../bench/client/open-loop.ts';
import { clock, makeText, say, sleep, state, type Conn } from '../bench/client/state.ts';
import type { RunClock, Tally } from './types.ts';

/**
 * Messages a second one publisher sends: the service closes a socket past RATE_LIMIT_PER_SEC
 * (default 20, its pongs included), so the rate is spread over enough sockets to stay well under.
 */
const PER_PUBLISHER = 5;
/** Publishing stops this long before the deadline, to leave the last copies time to arrive. */
const TAIL_MS = 500;
/** After the last message, how long to wait for the copies still owed. */
const DRAIN_MS = 2000;
const TEXT_BYTES = 64;
/** The publisher loop runs in slices this long, so Ctrl-C stops it within one. */
const SLICE_MS = 1000;

export interface Exchange {
  publishers: number;
  /** Messages a second each publisher sends. */
  perPublisher: number;
}

export function plan(rate: number, open: number): Exchange {
  const publishers = Math.max(1, Math.min(open, Math.ceil(rate / PER_PUBLISHER)));
  return { publishers, perPublisher: rate / publishers };
}

export async function exchange(rate: number, tally: Tally, run: RunClock): Promise<Exchange> {
  const members = state.conns.filter((c) => c.open);
  const { publishers: count, perPublisher } = plan(rate, members.length);
  const publishers = members.slice(0, count);
  if (members.length === 0) return { publishers: 0, perPublisher: 0 };
  const interval = 1000 / rate;
  const t0 = clock() + 20;
  const total = Math.max(0, Math.ceil((run.deadline - TAIL_MS - t0) / interval));
  const publisherOf = (g: number): Conn | undefined => publishers[g % publishers.length];
  state.onChat = (conn, at) => {
    // Messages of this run only: a stamp of the schedule (another client's text in the room has none).
    if (!Number.isFinite(at)) return;
    const g = Math.round((at - t0) / interval);
    if (g < 0 || g >= total) return;
    const us = Math.max(1, Math.round((clock() - at) * 1000));
    if (conn === publisherOf(g)) tally.echo.recordValue(us);
    else tally.broadcast.recordValue(us);
  };
  const publish = (g: number, at: number): void => {
    const from = publisherOf(g);
    if (!from?.open) return;
    say(from, makeText(at, TEXT_BYTES));
    tally.sent++;
    tally.echoExpected++;
    tally.broadcastExpected += tally.open - 1;
  };
  // Bounded: `total` messages in all, each slice at most SLICE_MS of them, none after the deadline.
  const first = (k: number): number => Math.min(total, Math.ceil((k * SLICE_MS) / interval - 1e-9));
  for (let k = 0; first(k) < total && clock() < run.deadline - TAIL_MS; k++) {
    const from = first(k);
    const to = first(k + 1);
    const sliceT0 = t0 + from * interval;
    const sliceEnd = Math.min(t0 + (k + 1) * SLICE_MS, t0 + to * interval);
    await publishOpenLoop({ t0: sliceT0, interval, total: to - from, winStart: sliceT0, winEnd: sliceEnd }, (j, at) => publish(from + j, at));
  }
  const drainEnd = clock() + DRAIN_MS;
  const owed = (): boolean => tally.echo.totalCount < tally.echoExpected || tally.broadcast.totalCount < tally.broadcastExpected;
  while (owed() && clock() < drainEnd) await sleep(20);
  state.onChat = () => {};
  return { publishers: publishers.length, perPublisher };
}
