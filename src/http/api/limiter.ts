/**
 * A token bucket per client address for the server API: `ratePerSec` a second, bursts of twice
 * that. Failed key checks take tokens too, so the key cannot be guessed at speed. At most
 * `maxClients` buckets are kept (the oldest are dropped): memory is bounded whoever calls.
 */
export function createRateLimiter(ratePerSec: number, now: () => number, maxClients = 10_000): (client: string) => boolean {
  const burst = ratePerSec * 2;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (client) => {
    const t = now();
    let bucket = buckets.get(client);
    if (bucket) {
      buckets.delete(client); // re-inserted below: the map stays ordered by last use
      bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) * ratePerSec) / 1000);
      bucket.at = t;
    } else {
      bucket = { tokens: burst, at: t };
      if (buckets.size >= maxClients) buckets.delete(buckets.keys().next().value ?? '');
    }
    buckets.set(client, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
}
