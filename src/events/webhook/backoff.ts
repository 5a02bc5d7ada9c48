// How long a webhook outlet waits before its next try, and the wait itself. Exponential backoff
// with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th retry waits
// a uniformly random time below min(cap, base * 2^(n-1)). The randomness matters more than the
// curve: after a receiver's outage every instance retries, and without jitter they would all come
// back in the same millisecond, again and again.

/**
 * The wait after failed attempt `attempt` (1 for the first), in whole ms from 0 to just below
 * min(`capMs`, `baseMs` * 2^(attempt-1)). `random` returns [0, 1) like Math.random.
 */
export function retryDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const doublings = Math.max(0, Math.floor(attempt) - 1);
  // 2 ** 1100 is Infinity, which min() turns into the cap: no overflow however long the outage.
  const ceiling = Math.max(0, Math.min(capMs, baseMs * 2 ** doublings));
  return Math.min(Math.floor(random() * ceiling), Math.max(0, Math.ceil(ceiling) - 1));
}

/** Waits that end early when their owner stops, so a stop never sits out a 30-second backoff. */
export interface Sleeper {
  /** Resolves after `ms`, or at once after wake(). Its timer never holds the process open. */
  sleep(ms: number): Promise<void>;
  /** Ends every wait in progress, and makes later ones end at once. */
  wake(): void;
}

export function createSleeper(): Sleeper {
  const waiting = new Set<() => void>();
  let woken = false;
  return {
    sleep(ms) {
      if (woken) return Promise.resolve();
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiting.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        timer.unref();
        waiting.add(done);
      });
    },
    wake() {
      woken = true;
      for (const done of [...waiting]) done();
    },
  };
}
