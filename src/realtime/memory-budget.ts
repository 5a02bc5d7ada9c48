// One budget (MEMORY_BUDGET_MB) for what clients can make this process hold, over every socket:
// messages being reassembled, unsent output (with its per-write overhead), the kernel's TCP send
// queues, and whatever other parts report through `hold` (replays in flight). Per-socket limits
// bound each socket; only a sum bounds them all, and 10000 sockets each inside its limits can
// otherwise hold gigabytes. A sweep once a second adds it up. Past the budget new upgrades get 503
// and /readyz 503, and the heaviest holders are closed first until the sum is back under it
// (1009 for an unfinished message, 1013 for unsent output): light sockets carry on. The same sweep
// runs the slow-consumer time rule (slow-consumer.ts), at a fixed second whatever PING_INTERVAL_MS.
// Once an attack is over (the sum back near 0 after more than half the budget), V8 is asked for one
// full collection: an idle process otherwise keeps the closed sockets' buffers for as long as
// nothing allocates (measured: 110 MB of them still there 30 s after 1500 holders hung up).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import type { Warn } from '../log/rate-limited.ts';
import type { MemoryKind, MemoryMetrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason } from '../protocol/close.ts';
import type { KernelQueues } from './kernel-queues.ts';
import type { Sender } from './sender.ts';
import type { ClientSocket } from './session.ts';
import type { SlowConsumerPolicy } from './slow-consumer.ts';
import { kernelAccepted, partialFragments, partialMessageBytes } from './ws-internals.ts';

/**
 * Heap one fragment of an unfinished message costs besides its payload (`ws` keeps a Buffer view
 * per fragment). Measured on Node 26 with 1500 sockets each holding 1024 fragments of 63 bytes:
 * 114 bytes of heap and 6 of ArrayBuffer per fragment; rounded up.
 */
export const FRAGMENT_BYTES = 128;
/** How often the budget is added up (and the slow-consumer time rule checked). */
export const BUDGET_SWEEP_MS = 1000;
/**
 * Sockets holding less are never closed by the budget: a healthy socket has a write or a packet in
 * flight at any instant, and closing it would free nothing that matters. At MAX_CONNECTIONS
 * (10000) they hold 40 MiB at most, which the defaults' arithmetic counts (docs/security.md).
 */
export const SHED_FLOOR_BYTES = 4096;
/**
 * Between sweeps, bytes coming in (a fragment may be kept) and output left queued are added up as
 * they happen; once they could take the sum past the budget, a sweep runs early, at most one per
 * this interval (a sweep visits every socket: 2-5 ms at 10000). What one interval can add is the
 * headroom the defaults keep (docs/security.md).
 */
export const EARLY_SWEEP_MS = 50;

/**
 * An attack is over once a sweep finds less than RECLAIM_BELOW of the budget held, after more than
 * RECLAIM_AFTER of it at some sweep since the last collection; collections at most every
 * RECLAIM_EVERY_MS, so an attacker cannot make the process collect more often than that. A full
 * collection of a heap this size takes some tens of milliseconds, once.
 */
export const RECLAIM_AFTER = 1 / 2;
export const RECLAIM_BELOW = 1 / 8;
export const RECLAIM_EVERY_MS = 60_000;

/**
 * V8's full collection: `gc` when the process was started with --expose-gc, else taken from a
 * context made while the flag is set for a moment (the flag only shapes new contexts, and is
 * cleared again so no other context gets it). Undefined if neither works.
 */
export function fullCollection(): (() => void) | undefined {
  const exposed: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => void exposed();
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? () => void gc() : undefined;
  } catch {
    return undefined;
  }
}

/** For the parts that hold memory on clients' behalf (replays in flight...): they report it here. */
export interface MemoryHolder {
  /**
   * Counts `bytes` as held until released. With `socket`, they count in that socket's weight (the
   * budget may close it first) and stop counting when it closes, released or not; without, they
   * are the process's.
   */
  hold(bytes: number, socket?: ClientSocket): void;
  /** Gives back what `hold` counted (same `socket`). */
  release(bytes: number, socket?: ClientSocket): void;
  /** Why no more should be taken on now (the budget is exceeded), undefined within it. */
  pressure(): string | undefined;
}

export interface MemoryBudget extends MemoryHolder {
  readonly limitBytes: number;
  /** A TCP socket's 'data' listener (one function for every socket): what arrives may be held. */
  readonly countIncoming: (chunk: Buffer) => void;
  /**
   * Output written (the sender): held until the peer reads it, in user space when `queued`, else
   * perhaps in the kernel's send queue, which the sweep sees only at its next read of the tables.
   */
  grew(bytes: number, queued?: boolean): void;
  /** Adds everything up now, closes what must be closed (the timer calls it every BUDGET_SWEEP_MS). */
  sweep(): void;
  start(): void;
  stop(): void;
}

export interface MemoryBudgetOptions {
  limitBytes: number;
  sockets: () => ReadonlySet<ClientSocket>;
  slow: SlowConsumerPolicy;
  sender: Pick<Sender, 'close' | 'closeStalled'>;
  kernel: KernelQueues;
  logger: Logger;
  /** Per-socket closes are logged through the refusal log's rate (REFUSAL_LOG_PER_SEC): one sweep may close thousands. */
  warn: Warn;
  metrics: MemoryMetrics;
  clock: Clock;
  sweepMs?: number;
  /** Asked for once an attack is over (see RECLAIM_AFTER); default `fullCollection()`, null for none. */
  collect?: (() => void) | null;
}

type Held = Record<MemoryKind, number>;

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

export function createMemoryBudget(options: MemoryBudgetOptions): MemoryBudget {
  const { limitBytes, slow, sender, kernel, logger, warn, metrics, clock } = options;
  let unattributed = 0; // held without a socket (`hold` without one)
  let toldKernel = false;
  let sinceSweep = 0; // held or released since the last sweep, so `pressure` moves at once
  let lastTotal = 0;
  let last: Held = { partial: 0, output: 0, kernel: 0, other: 0 };
  let over = false;
  let timer: NodeJS.Timeout | undefined;
  let grown = 0; // bytes in, and output queued, since the last sweep: what it may not have seen
  let earlyAt = 0; // when the last sweep ran (monotonic), for EARLY_SWEEP_MS
  let early: NodeJS.Timeout | undefined;
  const collect = options.collect === undefined ? fullCollection() : (options.collect ?? undefined);
  let peakSinceCollect = 0; // the largest sum a sweep found since the last collection
  let collectedAt = Number.NEGATIVE_INFINITY;
  metrics.reportMemory(limitBytes, () => last);

  function partialCost(socket: ClientSocket): number {
    const bytes = partialMessageBytes(socket);
    return bytes === 0 ? 0 : bytes + partialFragments(socket) * FRAGMENT_BYTES;
  }

  function setOver(now: boolean, total: number): void {
    if (now === over) return;
    over = now;
    if (now) logger.warn({ heldBytes: total, budgetBytes: limitBytes, ...last }, 'memory budget exceeded: upgrades refused (503), heaviest holders closed');
    else logger.info({ heldBytes: total, budgetBytes: limitBytes }, 'memory budget: back under');
  }

  /** Closes the heaviest open holders until `excess` bytes are freed. */
  function shed(excess: number): void {
    const holders: { socket: ClientSocket; partial: number; rest: number }[] = [];
    for (const socket of options.sockets()) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      const partial = partialCost(socket);
      const rest = slow.outputCost(socket) + kernel.sendQueue(socket) + kernel.receiveQueue(socket) + socket.session.heldBytes;
      if (partial + rest >= SHED_FLOOR_BYTES) holders.push({ socket, partial, rest });
    }
    holders.sort((a, b) => b.partial + b.rest - (a.partial + a.rest));
    for (const { socket, partial, rest } of holders) {
      if (excess <= 0) break;
      excess -= partial + rest;
      const message = partial >= rest;
      const code = message ? CloseCode.messageTooBig : CloseCode.tryAgainLater;
      const reason = message ? CloseReason.budgetMessage : CloseReason.budgetOutput;
      warn({ connId: socket.session.id, code, reason, heldBytes: partial + rest, partialBytes: partial, budgetBytes: limitBytes }, 'memory budget: socket closed');
      if (message) sender.close(socket, code, reason);
      else sender.closeStalled(socket, code, reason);
    }
  }

  /** After an attack: one full collection, so the closed sockets' memory comes back now, logged with what it gave. */
  function reclaim(now: number): void {
    peakSinceCollect = Math.max(peakSinceCollect, lastTotal);
    if (!collect || peakSinceCollect <= limitBytes * RECLAIM_AFTER || lastTotal >= limitBytes * RECLAIM_BELOW || now - collectedAt < RECLAIM_EVERY_MS) return;
    const peak = peakSinceCollect;
    collectedAt = now;
    peakSinceCollect = 0;
    setImmediate(() => {
      const before = process.memoryUsage();
      const started = performance.now();
      collect();
      const after = process.memoryUsage();
      const freed = (k: 'heapUsed' | 'external' | 'rss'): number => Math.round((before[k] - after[k]) / MIB);
      logger.info({ peakHeldBytes: peak, heldBytes: lastTotal, ms: Math.round(performance.now() - started), heapFreedMiB: freed('heapUsed'), externalFreedMiB: freed('external'), rssFreedMiB: freed('rss'), rssMiB: Math.round(after.rss / MIB) }, 'memory budget: attack over, full collection');
    }).unref();
  }

  function sweep(): void {
    const now = clock.now();
    const held: Held = { partial: 0, output: 0, kernel: 0, other: unattributed };
    let closing = 0; // held by sockets already closing: shed, and about to be freed
    const sockets = options.sockets();
    // The kernel's tables are read while this loop runs (off the event loop, which writes nothing
    // meanwhile), so what each socket's kernel had taken, noted below, pairs with what they will
    // say; they are counted from the next sweep on. No sockets, nothing to read.
    const reading = sockets.size > 0 ? kernel.refresh() : undefined;
    for (const socket of sockets) {
      const session = socket.session;
      const sending = kernel.sendQueue(socket);
      const acceptedThen = session.readGeneration === kernel.generation ? session.acceptedAtRead : undefined;
      if (reading !== undefined) {
        session.acceptedAtRead = kernelAccepted(socket) ?? 0;
        session.readGeneration = reading;
      }
      if (socket.readyState === WebSocket.OPEN && slow.stalled(socket, now, sending, acceptedThen)) sender.closeStalled(socket, CloseCode.tryAgainLater, CloseReason.slowConsumer);
      const partial = partialCost(socket);
      const output = slow.outputCost(socket);
      const queued = sending + kernel.receiveQueue(socket);
      const other = session.heldBytes;
      held.partial += partial;
      held.output += output;
      held.kernel += queued;
      held.other += other;
      if (socket.readyState !== WebSocket.OPEN) closing += partial + output + queued + other;
    }
    if (!kernel.available && !toldKernel) {
      toldKernel = true;
      logger.info('kernel send queues not readable (/proc/net/tcp): counted as 0; the slow-consumer time rule still closes peers that read nothing');
    }
    last = held;
    sinceSweep = 0;
    grown = 0;
    earlyAt = performance.now();
    lastTotal = held.partial + held.output + held.kernel + held.other;
    if (lastTotal > limitBytes) {
      metrics.memoryBudgetExceeded();
      setOver(true, lastTotal);
      if (lastTotal - closing > limitBytes) shed(lastTotal - closing - limitBytes);
    } else {
      setOver(false, lastTotal);
    }
    reclaim(now);
  }

  function grew(bytes: number, queued = true): void {
    // Output the kernel took is usually on its way: it counts only once half the budget is held,
    // so a busy healthy instance never sweeps early, and one under attack sees its kernel queues
    // within an early sweep's read, not a second later.
    if (!queued && lastTotal <= limitBytes / 2) return;
    grown += bytes;
    if (early !== undefined || lastTotal + sinceSweep + grown <= limitBytes || timer === undefined) return;
    early = setTimeout(
      () => {
        early = undefined;
        sweep();
      },
      Math.max(0, earlyAt + EARLY_SWEEP_MS - performance.now()),
    );
    early.unref();
  }

  function change(bytes: number, socket: ClientSocket | undefined): void {
    if (!Number.isFinite(bytes)) return;
    if (socket) socket.session.heldBytes = Math.max(0, socket.session.heldBytes + bytes);
    else unattributed = Math.max(0, unattributed + bytes);
    sinceSweep += bytes;
    setOver(lastTotal + sinceSweep > limitBytes, lastTotal + sinceSweep);
  }

  return {
    limitBytes,
    countIncoming: (chunk) => grew(chunk.length, true),
    grew,
    hold: (bytes, socket) => change(Math.max(0, bytes), socket),
    release: (bytes, socket) => change(-Math.max(0, bytes), socket),
    pressure: () => (over ? `memory budget exceeded (${mib(lastTotal + sinceSweep)} of ${mib(limitBytes)} MiB held)` : undefined),
    sweep,
    start() {
      timer ??= setInterval(sweep, options.sweepMs ?? BUDGET_SWEEP_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      clearTimeout(early);
      timer = undefined;
      early = undefined;
    },
  };
}
