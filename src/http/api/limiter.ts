import { fullBucket, takeToken, type TokenBucket } from '../../protocol/token-bucket.ts';

/**
 * A token bucket per client address for the server API: `ratePerSec` a second, bursts of twice
 * that (the sockets' rule, protocol/token-bucket.ts). The API keeps two: one for calls with the
 * key, one for calls without it, so the key cannot be guessed at speed and keyless callers
 * cannot spend the backend's budget. At most `maxClients` buckets are kept (the least recently used
 * are dropped): memory is bounded whoever calls.
 */
export function createRateLimiter(ratePerSec: number, now: () => number, maxClients = 10_000): (client: string) => boolean {
  const buckets = new Map<string, TokenBucket>();
  return (client) => {
    const t = now();
    let bucket = buckets.get(client);
    if (bucket) buckets.delete(client); // re-inserted below: the map stays ordered by last use
    else {
      bucket = fullBucket(ratePerSec, t);
      if (buckets.size >= maxClients) buckets.delete(buckets.keys().next().value ?? '');
    }
    buckets.set(client, bucket);
    return takeToken(bucket, t, ratePerSec);
  };
}
