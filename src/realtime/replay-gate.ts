// A replay is the one request whose answer can be hundreds of times its size: a join with an old
// `since` into a room of long messages returns about 200 KB for 60 bytes, and 200 sockets
// rejoining within their rate limit once took 84 MB/s out of the server. Two limits price it.
// Per socket, a budget of bytes replayed (REPLAY_BYTES_PER_SEC, holding REPLAY_BURST_SECONDS'
// worth, so a reconnect's replay of a full room fits): a replay is served whole and its bytes
// charged after it, and a socket in debt waits before its next replay starts. It is answered
// later, never refused, so a client on a flapping network still gets every message. Per instance,
// at most MAX_REPLAYS_IN_FLIGHT replays read the broker at once; the rest wait in turn. A replay
// the socket no longer wants by its turn (it joined elsewhere, subscribed again, closed) is
// dropped without a read: a flood of superseded joins costs the broker nothing.
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
   * Waits for the socket's budget and for a free slot; resolves with the function that frees the
   * slot, or undefined when `wanted()` turned false first (nothing to release then).
   */
  enter(budget: ReplayBudget, wanted: () => boolean): Promise<(() => void) | undefined>;
  /** Charges `bytes` replayed to the socket's budget. */
  charge(budget: ReplayBudget, bytes: number): void;
}

export interface ReplayGateOptions {
  bytesPerSec: number;
  now(): number;
  /** Default MAX_REPLAYS_IN_FLIGHT. */
  maxInFlight?: number;
  /** How often a socket in debt looks again whether it still wants its replay. Default 250 ms. */
  recheckMs?: number;
}

export function createReplayGate(options: ReplayGateOptions): ReplayGate {
  const { bytesPerSec, now } = options;
  const burst = bytesPerSec * REPLAY_BURST_SECONDS;
  const maxInFlight = options.maxInFlight ?? MAX_REPLAYS_IN_FLIGHT;
  const recheckMs = options.recheckMs ?? 250;
  let inFlight = 0;
  const queue: { wanted: () => boolean; admit(ok: boolean): void }[] = [];

  function refill(b: ReplayBudget): void {
    const t = now();
    b.replayBytes = Number.isNaN(b.replayBytes) ? burst : Math.min(burst, b.replayBytes + ((t - b.replayCountedAt) * bytesPerSec) / 1000);
    b.replayCountedAt = t;
  }

  function slotFreed(): void {
    inFlight--;
    for (let next = queue.shift(); next; next = queue.shift()) {
      if (!next.wanted()) {
        next.admit(false);
        continue;
      }
      inFlight++;
      next.admit(true);
      return;
    }
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
    async enter(budget, wanted) {
      for (refill(budget); budget.replayBytes < 0; refill(budget)) {
        await sleep(Math.min(recheckMs, Math.ceil((-budget.replayBytes * 1000) / bytesPerSec) + 1));
        if (!wanted()) return undefined;
      }
      if (!wanted()) return undefined;
      if (inFlight < maxInFlight) {
        inFlight++;
        return releaser();
      }
      const admitted = await new Promise<boolean>((admit) => queue.push({ wanted, admit }));
      return admitted ? releaser() : undefined;
    },
    charge(budget, bytes) {
      refill(budget);
      budget.replayBytes -= bytes;
    },
  };
}
