// Backend events and the publish hook on the hot path (issue 20's measures): Socketship alone,
// in variants run side by side, interleaved per repetition (the order rotated by repetition, so
// that no variant always runs first):
//   off            events off, no hook: the baseline of the in-process variants
//   webhook        EVENTS=all, webhooks to a receiver answering 200 at once (memory queue)
//   hook           PUBLISH_HOOK_URL to a hook that accepts every say after 1 ms, events off
//   redis-off      REDIS_URL, events off: the baseline of the Redis variant
//   redis-webhook  REDIS_URL, EVENTS=all (the events stream) and webhooks from it
// The receiver and the hook are one backend peer (bench/peers/backend.ts), started for every
// variant alike, pinned to core 1 with the load generator (and redis-server); their CPU is
// measured apart (bench/lib/side-window.ts). Each variant measures, on fresh servers:
//   events-echo  chat echo as the echo group (100 sockets in own rooms, 8 in flight, closed loop)
//   events-ack   say-to-acknowledgement at eventsAckRate says/s, open loop, on the same sockets
//                (the sender's copy of its say is its acknowledgement)
//   events-b1k   broadcast as the b1k group (1k members, one publisher at 10/s)
// The service's counters (/metrics) and the peer's before and after each window say how many
// events were made, dropped and received, and how many says the hook decided.
import { SERVERS, settings } from '../lib/args.ts';
import { backendCounts, startBackend, stopBackend, type BackendCounts, type RunningBackend } from '../lib/backend-peer.ts';
import { connectAll, startClient, stopClient, wsUrl } from '../lib/loadgen.ts';
import { sleep, withCleanup } from '../lib/processes.ts';
import { record } from '../lib/record.ts';
import { startRedis, stopRedis, type RunningRedis } from '../lib/redis.ts';
import { startServer, stopServer } from '../lib/servers.ts';
import { EVENT_COUNTERS, delta, readCounters, type Counters } from '../lib/service-metrics.ts';
import { sideFigures, sideWindow, type SideWindow } from '../lib/side-window.ts';
import type { Command } from '../lib/types.ts';

export const EVENT_VARIANTS = ['off', 'webhook', 'hook', 'redis-off', 'redis-webhook'] as const;
export type EventVariant = (typeof EVENT_VARIANTS)[number];

/** The variants of this run: the Redis ones only when settings.eventsRedis. */
export function eventVariants(): readonly EventVariant[] {
  return settings.eventsRedis ? EVENT_VARIANTS : EVENT_VARIANTS.filter((v) => !v.startsWith('redis-'));
}

/** The variant run `index`-th in repetition `rep` (1-based): the list rotated by one per repetition. */
export function variantAt(rep: number, index: number): EventVariant {
  const list = eventVariants();
  return list[(index + rep - 1) % list.length]!;
}

// The bench's own secret: the peer verifies nothing, the service only needs one of 32 bytes or more.
const SECRET = 'bench-events-secret-of-at-least-32-bytes';

function variantEnv(v: EventVariant, backend: RunningBackend, redis: RunningRedis | undefined): Record<string, string> {
  const env: Record<string, string> = redis ? { REDIS_URL: redis.url } : {};
  if (v === 'webhook' || v === 'redis-webhook') Object.assign(env, { EVENTS: 'all', WEBHOOK_URL: backend.webhookUrl, WEBHOOK_SECRET: SECRET });
  if (v === 'hook') Object.assign(env, { PUBLISH_HOOK_URL: backend.hookUrl, WEBHOOK_SECRET: SECRET });
  return env;
}

interface Counted {
  service: Counters;
  peer: BackendCounts;
}

async function counted(port: number, backend: RunningBackend): Promise<Counted> {
  return { service: await readCounters(port), peer: await backendCounts(backend) };
}

/** How long the drain after a window may take: the memory queue holds 10k events, a batch of 100 a POST. */
const SETTLE_MS = 30_000;

/**
 * Waits (bounded) until every event made so far is delivered, dropped or dead-lettered, so that
 * no window pays for the one before it; the ms it took, or NaN if it did not within SETTLE_MS.
 */
async function settled(port: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < SETTLE_MS) {
    const c = await readCounters(port);
    const done = (c[EVENT_COUNTERS.delivered] ?? 0) + (c[EVENT_COUNTERS.dropped] ?? 0) + (c[EVENT_COUNTERS.deadLetters] ?? 0);
    if (done >= (c[EVENT_COUNTERS.emitted] ?? 0)) return Date.now() - started;
    await sleep(100);
  }
  console.log(`  note: webhook backlog not delivered within ${SETTLE_MS} ms`);
  return Number.NaN;
}

/** What happened to events and hook calls between two readings. */
function eventFigures(a: Counted, b: Counted): Record<string, number> {
  const d = delta(a.service, b.service);
  const get = (name: string): number => d[name] ?? 0;
  const emitted = get(EVENT_COUNTERS.emitted);
  const received = b.peer.webhookEvents - a.peer.webhookEvents;
  return {
    eventsEmitted: emitted,
    eventsDropped: get(EVENT_COUNTERS.dropped),
    eventsDroppedPct: (100 * get(EVENT_COUNTERS.dropped)) / Math.max(1, emitted),
    eventsDelivered: get(EVENT_COUNTERS.delivered),
    eventsReceived: received,
    eventsReceivedPct: emitted > 0 ? (100 * received) / emitted : Number.NaN,
    deadLetters: get(EVENT_COUNTERS.deadLetters),
    webhookPosts: b.peer.webhookPosts - a.peer.webhookPosts,
    hookCalls: b.peer.hookCalls - a.peer.hookCalls,
    hookAccepted: get(`${EVENT_COUNTERS.hookDecided}{outcome="accepted"}`),
    hookNotAccepted: get(EVENT_COUNTERS.hookDecided) - get(`${EVENT_COUNTERS.hookDecided}{outcome="accepted"}`),
  };
}

/** A variant that did not do what it names measures something else: say so (once per window). */
function checkVariant(v: EventVariant, scenario: string, f: Record<string, number>): void {
  const eventsOn = v === 'webhook' || v === 'redis-webhook';
  if (eventsOn && f.eventsEmitted === 0) console.log(`  note: ${v} ${scenario}: the service made no events (EVENTS=all ignored?): these are events-off figures`);
  if (!eventsOn && (f.eventsEmitted ?? 0) > 0) console.log(`  note: ${v} ${scenario}: the service made ${f.eventsEmitted} events with EVENTS unset`);
  if (v === 'hook' && f.hookCalls === 0) console.log(`  note: hook ${scenario}: the hook was never called: these are hook-off figures`);
  if ((f.eventsDropped ?? 0) > 0) console.log(`  note: ${v} ${scenario}: ${f.eventsDropped} of ${f.eventsEmitted} events dropped (queue full)`);
  if ((f.hookNotAccepted ?? 0) > 0) console.log(`  note: hook ${scenario}: ${f.hookNotAccepted} says not accepted (busy, timeout or error)`);
}

function recordWindow(v: EventVariant, rep: number, scenario: string, w: SideWindow, figures: Record<string, number>): void {
  const all = { ...sideFigures(w), ...figures };
  checkVariant(v, scenario, all);
  record('service', rep, scenario, all, { variant: v, result: w.result, cost: w.cost });
}

/** Echo (closed loop) then say-to-acknowledgement (open loop) on one server and 100 sockets. */
async function echoAndAck(v: EventVariant, rep: number, env: Record<string, string>, side: number[], backend: RunningBackend): Promise<void> {
  const s = settings;
  await withCleanup(async (defer) => {
    const server = await startServer('service', 'echo', env, `events-${v}-echo`);
    defer(() => stopServer(server));
    const client = startClient();
    defer(() => stopClient(client));
    await connectAll(client, wsUrl('ws', server.port), SERVERS.service.kind, s.echoConns, true);
    await settled(server.port);
    const c0 = await counted(server.port, backend);
    const echo: Command = { cmd: 'echo', inflight: s.inflight, bytes: s.bytes, warmMs: s.echoWarmMs, windowMs: s.echoWindowMs, drainMs: 300 };
    const e = await sideWindow(client, server, side, echo, s.echoWarmMs + s.echoWindowMs + 30_000);
    const c1 = await counted(server.port, backend);
    // The events the echo made and the receiver has not yet got arrive before the next window.
    const backlogDrainMs = await settled(server.port);
    const c1d = await counted(server.port, backend);
    const received = c1d.peer.webhookEvents - c0.peer.webhookEvents;
    const emitted = (c1d.service[EVENT_COUNTERS.emitted] ?? 0) - (c0.service[EVENT_COUNTERS.emitted] ?? 0);
    recordWindow(v, rep, 'events-echo', e, {
      roundTripsPerSec: e.result.perSec,
      // The server's CPU per say (% of a core over says/s): the cost of events, steadier than the rate on a shared machine.
      serverCpuUsPerRoundTrip: (e.cost.serverCpuPct * 10_000) / Math.max(1, e.result.perSec),
      ...eventFigures(c0, c1),
      backlogDrainMs,
      eventsReceivedAfterDrainPct: emitted > 0 ? (100 * received) / emitted : Number.NaN,
    });

    // Every socket publishes into its own room: each say's one delivery is its sender's copy.
    // Drained for at most a second: an acknowledgement later than that is a lost one here (ackedPct).
    const drainMs = Math.min(1_000, s.bDrainMs);
    const ack: Command = { cmd: 'broadcast', publishers: s.echoConns, rate: s.eventsAckRate, warmMs: s.echoWarmMs, windowMs: s.eventsAckWindowMs, drainMs, bytes: s.bytes };
    const a = await sideWindow(client, server, side, ack, s.echoWarmMs + s.eventsAckWindowMs + drainMs + 30_000);
    await settled(server.port);
    const c2 = await counted(server.port, backend);
    const r = a.result;
    recordWindow(v, rep, 'events-ack', a, { published: r.published, acksPerSec: r.perSec, ackedPct: (100 * r.arrived) / Math.max(1, r.published), ...eventFigures(c1d, c2) });
  });
}

/** Broadcast to 1k members at 10/s, as the b1k group. */
async function broadcast1k(v: EventVariant, rep: number, env: Record<string, string>, side: number[], backend: RunningBackend): Promise<void> {
  const s = settings;
  await withCleanup(async (defer) => {
    const server = await startServer('service', 'b1k', env, `events-${v}-b1k`);
    defer(() => stopServer(server));
    const client = startClient();
    defer(() => stopClient(client));
    await connectAll(client, wsUrl('ws', server.port), SERVERS.service.kind, s.smallN, false);
    await sleep(s.settleMs / 2);
    await settled(server.port);
    const c0 = await counted(server.port, backend);
    const command: Command = { cmd: 'broadcast', publishers: 1, rate: s.b1kRate, warmMs: s.bWarmMs, windowMs: s.bWindowMs, drainMs: s.bDrainMs, bytes: s.bytes };
    const b = await sideWindow(client, server, side, command, 60_000);
    await settled(server.port);
    const c1 = await counted(server.port, backend);
    const r = b.result;
    recordWindow(v, rep, 'events-b1k', b, { deliveriesPerSec: r.perSec, arrivedPct: (100 * r.arrived) / Math.max(1, r.expected), ...eventFigures(c0, c1) });
  });
}

/** One variant of one repetition: its backend peer (and redis-server), then its windows. */
export async function groupEvents(rep: number, index: number): Promise<void> {
  const v = variantAt(rep, index);
  await withCleanup(async (defer) => {
    const backend = await startBackend(settings.eventsHookDelayMs);
    defer(() => stopBackend(backend));
    const redis = v.startsWith('redis-') ? await startRedis() : undefined;
    if (redis) defer(() => stopRedis(redis));
    const env = variantEnv(v, backend, redis);
    const side = [backend.pid, ...(redis?.child.pid ? [redis.child.pid] : [])];
    await echoAndAck(v, rep, env, side, backend);
    await broadcast1k(v, rep, env, side, backend);
  });
}
