// The measured windows: idle (heartbeat), echo (round trips) and broadcast (open-loop publishing,
// delivery latency from the publisher's clock to the receiver's, one machine).
import { build, type Histogram } from 'hdr-histogram-js';
import type { Command, WindowResult } from '../lib/types.ts';
import { publishOpenLoop } from './open-loop.ts';
import { clock, makeText, say, send, sleep, state } from './state.ts';

export function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export function summary(h: Histogram): WindowResult['latencyMs'] {
  if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, max: 0, mean: 0 };
  return { count: h.totalCount, p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000, mean: h.mean / 1000 };
}

/** Marks the window for the harness (which samples /proc at each mark) and returns its bounds. */
async function window(warmMs: number, windowMs: number): Promise<{ start: number; end: number }> {
  await sleep(warmMs);
  const start = clock();
  send({ reply: 'mark', mark: 'start' });
  await sleep(windowMs);
  const end = clock();
  send({ reply: 'mark', mark: 'end' });
  return { start, end };
}

export async function idle(c: Extract<Command, { cmd: 'idle' }>): Promise<WindowResult> {
  state.onChat = () => {};
  await sleep(c.warmMs);
  const p0 = state.pongs;
  const k0 = state.closed;
  const w = await window(0, c.windowMs);
  const windowMs = w.end - w.start;
  return { windowMs, received: 0, perSec: 0, published: 0, expected: 0, arrived: 0, pongs: state.pongs - p0, closedDuring: state.closed - k0, latencyMs: summary(histogram()) };
}

export async function echo(c: Extract<Command, { cmd: 'echo' }>): Promise<WindowResult> {
  const h = histogram();
  let running = true;
  let inWindow = false;
  let received = 0;
  state.onChat = (conn, at) => {
    const now = clock();
    if (inWindow) {
      received++;
      h.recordValue(Math.max(1, Math.round((now - at) * 1000)));
    }
    if (running) say(conn, makeText(now, c.bytes));
  };
  const k0 = state.closed;
  for (const conn of state.conns) for (let i = 0; i < c.inflight; i++) say(conn, makeText(clock(), c.bytes));
  await sleep(c.warmMs);
  inWindow = true;
  const w = await window(0, c.windowMs);
  inWindow = false;
  running = false;
  await sleep(c.drainMs);
  state.onChat = () => {};
  const windowMs = w.end - w.start;
  return { windowMs, received, perSec: (received * 1000) / windowMs, published: 0, expected: 0, arrived: 0, pongs: 0, closedDuring: state.closed - k0, latencyMs: summary(h) };
}

export async function broadcast(c: Extract<Command, { cmd: 'broadcast' }>): Promise<WindowResult> {
  const h = histogram();
  const conns = state.conns;
  const publishers = conns.slice(0, Math.max(1, c.publishers));
  const t0 = clock() + 20;
  const winStart = t0 + c.warmMs;
  const winEnd = winStart + c.windowMs;
  const interval = 1000 / c.rate;
  let received = 0;
  let arrived = 0;
  // Scale-out: the publishers are on one instance; deliveries on the others are also counted apart.
  const home = publishers[0]!.instance;
  const far = home === undefined ? undefined : histogram();
  state.onChat = (conn, at) => {
    const now = clock();
    if (now >= winStart && now < winEnd) received++;
    if (at >= winStart && at < winEnd) {
      arrived++;
      const us = Math.max(1, Math.round((now - at) * 1000));
      h.recordValue(us);
      if (far && conn.instance !== home) far.recordValue(us);
    }
  };
  const k0 = state.closed;
  const members = conns.length;
  const total = Math.ceil((c.warmMs + c.windowMs) / interval);
  const inWindowPublished = await publishOpenLoop({ t0, interval, total, winStart, winEnd }, (i, at) => say(publishers[i % publishers.length]!, makeText(at, c.bytes)));
  await sleep(c.drainMs);
  state.onChat = () => {};
  return {
    windowMs: c.windowMs,
    received,
    perSec: (received * 1000) / c.windowMs,
    published: inWindowPublished,
    expected: inWindowPublished * members,
    arrived,
    pongs: 0,
    closedDuring: state.closed - k0,
    latencyMs: summary(h),
    ...(far ? { farLatencyMs: summary(far) } : {}),
  };
}
