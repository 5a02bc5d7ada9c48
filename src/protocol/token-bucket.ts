// The rate limit's rule, one for sockets (RATE_LIMIT_PER_SEC) and for the server API
// (API_RATE_LIMIT_PER_SEC): `ratePerSec` tokens a second, holding RATE_BURST_SECONDS' worth.
// A bucket is two plain numbers on an object the caller already has (a socket's Session), so it
// costs no allocation of its own.
import { RATE_BURST_SECONDS } from './limits.ts';

export interface TokenBucket {
  tokens: number;
  refilledAt: number;
}

/** A full bucket at `now`: a client starts with a whole burst. */
export function fullBucket(ratePerSec: number, now: number): TokenBucket {
  return { tokens: ratePerSec * RATE_BURST_SECONDS, refilledAt: now };
}

/** Refills `bucket` for the time since it was last counted, then takes one token if there is one. */
export function takeToken(bucket: TokenBucket, now: number, ratePerSec: number): boolean {
  const elapsed = now - bucket.refilledAt;
  if (elapsed > 0) {
    bucket.tokens = Math.min(ratePerSec * RATE_BURST_SECONDS, bucket.tokens + (elapsed * ratePerSec) / 1000);
    bucket.refilledAt = now;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}
