// A replay is the one request whose answer can be hundreds of times its size: a join with an old
// `since` into a room of long messages returns about 200 KB for 60 bytes, and 200 sockets
// rejoining within their rate limit once took 84 MB/s out of the server. Three limits price it.
// Per socket, a budget of bytes replayed (REPLAY_BYTES_PER_SEC, holding REPLAY_BURST_SECONDS'
// worth, so a reconnect's replay of a full room fits). A replay starts once the budget covers what
// the room's replays have come to before (at most one burst; a room not replayed yet, once the
// socket is out of debt), is served whole and its bytes charged after it. Covering the room's size
// first, not just being out of debt, is what keeps a flood of rejoins from taking a burst and one
// more full replay at once (measured: 27x what the flood sent over 20 s, 18x this way); the price
// is that a socket which replayed a big room lately waits for the next one, even a short one
// (a recent `since`), up to the room's size in budget. A replay is answered later, never refused,
// so a client on a flapping network still gets every message. Per
// instance, at most MAX_REPLAYS_IN_FLIGHT replays read the broker at once, and at most
// REPLAYS_PER_TURN start in one turn of the event loop: with the in-process broker a replay is
// read and sent in one go, each one freeing its slot for the next in the same turn, and 200 of
// them started by one batch of reads held the loop for half a second (the witness's p99 in a
// storm: 418 ms; 33 ms this way). The rest wait in turn. A replay the socket no longer wants by
// its turn (it joined elsewhere, subscribed again, closed) is dropped without a read: a flood of
// superseded joins costs the broker nothing. What each room's replays came to is also what a
// replay is expected to hold while it is read (the memory budget, subscriptions.ts).
import { setImmediate as nextTurn } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_REPLAYS_IN_FLIGHT, REPLAY_BURST_SECONDS } from '../protocol/limits.ts';

/** The two numbers a socket's Session keeps for its budget. */
export interface ReplayBudget {
  /** Bytes the socket may still be replayed, negative while in debt; NaN before its first replay. */
  replayBytes: number;
  replayCountedAt: number;
}

export interface ReplayGate {
  /**
   * Waits for the socket's budget (to cover what replays of `room` came to before, at most a
   * burst; without `room`, to be out of debt) and for a free slot; resolves with the function that
   * frees the slot, or undefined when `wanted()` turned false first (nothing to release then).
   */
  enter(budget: ReplayBudget, wanted: () => boolean, room?: string): Promise<(() => void) | undefined>;
  /** Charges `bytes` replayed to the socket's budget. */
  charge(budget: ReplayBudget, bytes: number): void;
  /** Records that a replay of `room` came to `bytes` on the wire, for `expected`. */
  sized(room: string, bytes: number): void;
  /**
   * What a replay of `room` is expected to come to: the largest replay of it this instance sent
   * while it was remembered, or for a room not replayed yet one burst (REPLAY_BURST_SECONDS of
   * the budget, sized to hold a full room at the defaults).
   */
  expected(room: string): number;
  /** One burst of a socket's budget, in bytes. */
  readonly burstBytes: number;
}

export interface ReplayGateOptions {
  bytesPerSec: number;
  now(): number;
  /** Default MAX_REPLAYS_IN_FLIGHT. */
  maxInFlight?: number;
  /** How often a socket in debt looks again whether it still wants its replay. Default 250 ms. */
  recheckMs?: number;
  /** Rooms whose replay size is remembered; the least recently replayed are forgotten first. Default REPLAY_SIZES_KEPT. */
  sizesKept?: number;
  /** Replays started in one turn of the event loop at most. Default REPLAYS_PER_TURN. */
  perTurn?: number;
}

/**
 * Replays started in one turn of the event loop at most; the next start in the next turn, after
 * the loop has read and written other sockets. One replay of a full room (100 frames of 2 KB)
 * takes about 2.4 ms of CPU to encode and write, so a turn spends at most some 40 ms on replays.
 * As many as there are slots: joins of one room that come together still start together, and
 * share one broker read (broker/redis/replay.ts); fewer would split them over several reads.
 */
export const REPLAYS_PER_TURN = 16;

/**
 * Rooms whose largest replay is remembered: a few tens of bytes each, so 4096 rooms cost some
 * 200 KB at most, and a room forgotten is only expected to cost one burst again.
 */
export const REPLAY_SIZES_KEPT = 4096;

export function createReplayGate(options: ReplayGateOptions): ReplayGate {
  const { bytesPerSec, now } = options;
  const burst = bytesPerSec * REPLAY_BURST_SECONDS;
  const maxInFlight = options.maxInFlight ?? MAX_REPLAYS_IN_FLIGHT;
  const recheckMs = options.recheckMs ?? 250;
  const sizesKept = options.sizesKept ?? REPLAY_SIZES_KEPT;
  const perTurn = options.perTurn ?? REPLAYS_PER_TURN;
  let startedThisTurn = 0;
  let turnEnding = false;
  /** Largest replay per room, in the order rooms were last replayed (Map order: oldest first). */
  const sizes = new Map<string, number>();
  let inFlight = 0;
  const queue: { wanted: () => boolean; admit(ok: boolean): void }[] = [];

  function refill(b: ReplayBudget): void {
    const t = now();
    b.replayBytes = Number.isNaN(b.replayBytes) ? burst : Math.min(burst, b.replayBytes + ((t - b.replayCountedAt) * bytesPerSec) / 1000);
    b.replayCountedAt = t;
  }

  function canStart(): boolean {
    return inFlight < maxInFlight && startedThisTurn < perTurn;
  }

  function start(): void {
    inFlight++;
    startedThisTurn++;
    if (turnEnding) return;
    // Scheduled from the poll or timers phase it runs in this turn's check phase; from the check
    // phase (the pump below), in the next turn's: each turn starts at most `perTurn`.
    turnEnding = true;
    nextTurn(() => {
      turnEnding = false;
      startedThisTurn = 0;
      pump();
    });
  }

  /** Starts queued replays while slots and this turn's starts allow; unwanted ones give their turn. */
  function pump(): void {
    while (queue.length > 0 && canStart()) {
      const next = queue.shift();
      if (!next) return;
      if (!next.wanted()) {
        next.admit(false);
        continue;
      }
      start();
      next.admit(true);
    }
  }

  function slotFreed(): void {
    inFlight--;
    pump();
  }

  function releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      slotFreed();
    };
  }

  return {
    async enter(budget, wanted, room) {
      const need = room === undefined ? 0 : Math.min(sizes.get(room) ?? 0, burst);
      for (refill(budget); budget.replayBytes < need; refill(budget)) {
        await sleep(Math.min(recheckMs, Math.ceil(((need - budget.replayBytes) * 1000) / bytesPerSec) + 1));
        if (!wanted()) return undefined;
      }
      if (!wanted()) return undefined;
      // Queued ones go first: a newcomer starts at once only when none waits.
      if (queue.length === 0 && canStart()) {
        start();
        return releaser();
      }
      const admitted = await new Promise<boolean>((admit) => queue.push({ wanted, admit }));
      return admitted ? releaser() : undefined;
    },
    charge(budget, bytes) {
      refill(budget);
      budget.replayBytes -= bytes;
    },
    sized(room, bytes) {
      const largest = Math.max(bytes, sizes.get(room) ?? 0);
      sizes.delete(room);
      sizes.set(room, largest);
      if (sizes.size > sizesKept) sizes.delete(sizes.keys().next().value ?? room);
    },
    expected: (room) => sizes.get(room) ?? burst,
    burstBytes: burst,
  };
}
