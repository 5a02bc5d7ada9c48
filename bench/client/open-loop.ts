// Open-loop publishing for the latency windows (broadcast, rooms): message i is due at
// t0 + i * interval whatever happened before, and a late timer sends every overdue one, so a
// server that falls behind is measured falling behind instead of slowing the publisher down.
// The harness is told when the window starts and ends (it samples /proc at each mark).
import { clock, send, sleep } from './state.ts';

export interface OpenLoop {
  /** When message 0 is due (load generator clock, ms). */
  t0: number;
  /** Between two messages, ms. */
  interval: number;
  /** Messages in all: warm-up and window. */
  total: number;
  winStart: number;
  winEnd: number;
}

/**
 * Publishes `total` messages on schedule with `publish(i, at)`, where `at` is the due time the
 * receivers read back from the text (rounded the same on both sides); returns how many were due
 * inside the window. Resolves once the window has ended and both marks are sent.
 */
export async function publishOpenLoop(loop: OpenLoop, publish: (i: number, at: number) => void): Promise<number> {
  const { t0, interval, total, winStart, winEnd } = loop;
  let published = 0;
  let inWindow = 0;
  let marked = false;
  while (published < total) {
    const now = clock();
    if (!marked && now >= winStart) {
      marked = true;
      send({ reply: 'mark', mark: 'start' });
    }
    while (published < total && t0 + published * interval <= now) {
      const at = Number((t0 + published * interval).toFixed(3));
      publish(published, at);
      if (at >= winStart && at < winEnd) inWindow++;
      published++;
    }
    if (published < total) await sleep(Math.min(t0 + published * interval, marked ? Infinity : winStart) - clock());
  }
  await sleep(winEnd - clock());
  if (!marked) send({ reply: 'mark', mark: 'start' });
  send({ reply: 'mark', mark: 'end' });
  return inWindow;
}
