// The end of a run: the Summary (what --json prints as is) and its tables for a terminal, in the
// benchmark's markdown style so they paste into an issue or a pull request.
import type { Histogram } from 'hdr-histogram-js';
import { summary as latency } from '../bench/client/windows.ts';
import { fmt } from '../bench/lib/stats.ts';
import type { LatencySummary } from '../bench/lib/types.ts';
import type { Options } from './args.ts';
import type { Exchange } from './messages.ts';
import type { Summary, Tally } from './types.ts';

/** The benchmark's figures, with percentiles no higher than the maximum (a histogram bucket's top can be). */
function figures(h: Histogram): LatencySummary {
  const l = latency(h);
  return { ...l, p50: Math.min(l.p50, l.max), p99: Math.min(l.p99, l.max) };
}

export function summarize(o: Options, tally: Tally, ex: Exchange, interrupted: boolean): Summary {
  const echo = { expected: tally.echoExpected, received: tally.echo.totalCount, latencyMs: figures(tally.echo) };
  const broadcast = { expected: tally.broadcastExpected, received: tally.broadcast.totalCount, latencyMs: figures(tally.broadcast) };
  const ok =
    tally.opened === tally.requested &&
    tally.closed === 0 &&
    tally.sent > 0 &&
    echo.received >= echo.expected &&
    broadcast.received >= broadcast.expected;
  return {
    url: o.url.href,
    room: o.room,
    durationS: o.durationS,
    interrupted,
    connect: {
      requested: tally.requested,
      opened: tally.opened,
      failed: tally.failed,
      closed: tally.closed,
      perSec: tally.rampMs > 0 ? (tally.opened * 1000) / tally.rampMs : 0,
      rampMs: tally.rampMs,
      handshakeMs: figures(tally.handshake),
    },
    errors: Object.fromEntries([...tally.errors].sort((a, b) => b[1] - a[1])),
    messages: { rate: o.rate, publishers: ex.publishers, sent: tally.sent, echo, broadcast },
    ok,
  };
}

const ms = (x: number): string => `${fmt(x)} ms`;

function latencyRow(what: string, got: { expected: number; received: number; latencyMs: LatencySummary }): string {
  const l = got.latencyMs;
  const cells = l.count ? [ms(l.p50), ms(l.p99), ms(l.max)] : ['-', '-', '-'];
  return `| ${what} | ${got.received} of ${got.expected} | ${cells.join(' | ')} |`;
}

/** Why a run is not ok, in a few words each. */
function problems(s: Summary): string[] {
  const out: string[] = [];
  const missing = (x: { expected: number; received: number }): number => Math.max(0, x.expected - x.received);
  if (s.connect.opened < s.connect.requested) out.push(`${s.connect.requested - s.connect.opened} of ${s.connect.requested} connections not opened`);
  if (s.connect.closed) out.push(`${s.connect.closed} closed during the run`);
  if (s.messages.sent === 0) out.push('no message sent');
  if (missing(s.messages.echo)) out.push(`${missing(s.messages.echo)} echoes missing`);
  if (missing(s.messages.broadcast)) out.push(`${missing(s.messages.broadcast)} broadcast copies missing`);
  return out;
}

export function table(s: Summary): string {
  const c = s.connect;
  const h = c.handshakeMs;
  const m = s.messages;
  const others = Math.max(0, c.opened - 1);
  const errors = Object.entries(s.errors);
  const lines = [
    `loadtest: ${s.url}, room ${s.room}, ${s.durationS} s${s.interrupted ? ' (interrupted)' : ''}, ${c.requested} connections, ${m.rate} messages/s from ${m.publishers} sockets`,
    '',
    '| connect ramp | |',
    '|---|---:|',
    `| connections opened | ${c.opened} of ${c.requested} |`,
    `| connects/s achieved | ${fmt(c.perSec)} (ramp ${fmt(c.rampMs / 1000)} s) |`,
    `| handshake p50 / p99 / max | ${h.count ? `${fmt(h.p50)} / ${fmt(h.p99)} / ${fmt(h.max)} ms` : '-'} |`,
    `| failed / closed during the run | ${c.failed} / ${c.closed} |`,
    '',
    '| latency | received | p50 | p99 | max |',
    '|---|---:|---:|---:|---:|',
    latencyRow(`broadcast (to the ${others} other members)`, m.broadcast),
    latencyRow('echo (own message back)', m.echo),
    '',
    ...(errors.length ? ['| errors | count |', '|---|---:|', ...errors.map(([what, n]) => `| ${what} | ${n} |`), ''] : ['errors: none', '']),
    s.ok ? 'result: ok' : `result: FAILED (${problems(s).join(', ')})`,
    '',
  ];
  return lines.join('\n');
}
