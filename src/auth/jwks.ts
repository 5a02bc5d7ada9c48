// The keys of AUTH_JWKS_URL. Fetched here rather than by jose's createRemoteJWKSet, whose cooldown
// starts only after a successful fetch (a JWKS answering 500 was fetched once per upgrade: a flood
// reflected at the provider) and which drops the keys it knows when a refresh fails (a short
// outage of the provider refused every new connection). Choosing and importing the key for a
// token stays jose's (createLocalJWKSet). What happens when:
// - no keys yet (or kept too long): the verify waits for a fetch if one is allowed now, else 503;
// - the keys are older than maxAgeMs: refetched behind the verify, the keys known answer meanwhile;
// - a token names an unknown kid: one refetch if allowed; then 401 if the keys are current, 503 if
//   the provider cannot be reached (the kid may be a rotation we cannot see);
// - fetching: never two at once; the next no sooner than cooldownMs after a success, and after n
//   failures in a row cooldownMs * 2^(n-1), at most backoffMaxMs;
// - the provider down: the keys known stay in use for maxStaleMs (JWKS_MAX_STALE_MS), counted from
//   when they fell due for refresh or from the first failed fetch, whichever is later (so a server
//   idle for hours does not lock everyone out on the first failure), then 503 until a fetch succeeds.
import { createLocalJWKSet, errors, importJWK, type FlattenedJWSInput, type JWK, type JWSHeaderParameters } from 'jose';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import type { JwksFetchOutcome, JwksMetrics } from '../metrics/metrics.ts';

/** The algorithms verified with the JWKS's keys; a key fit for neither is dropped when fetched. */
export const KEY_ALGORITHMS = ['RS256', 'ES256'] as const;

export interface JwksTimings {
  /** After a successful fetch, unknown `kid`s refetch at most this often. */
  cooldownMs: number;
  /** Keys are refetched once this old (jose's default: 10 minutes). */
  maxAgeMs: number;
  /** Failed fetches double the wait before the next one, from cooldownMs up to this. */
  backoffMaxMs: number;
  /** A fetch (answer and body) abandoned after this long. */
  timeoutMs: number;
}

export const JWKS_TIMINGS: Readonly<JwksTimings> = { cooldownMs: 5000, maxAgeMs: 600_000, backoffMaxMs: 60_000, timeoutMs: 5000 };

// What a response may make this process hold. Entra ID's JWKS is about 10 kB with under 10 keys.
const MAX_BODY_BYTES = 512 * 1024;
const MAX_KEYS = 100;
const RSA_MIN_BITS = 2048;

export interface JwksOptions extends Partial<JwksTimings> {
  url: URL;
  /** How long the keys known stay in use past their refresh while the provider cannot be reached. */
  maxStaleMs: number;
  logger: Logger;
  metrics: JwksMetrics;
  clock: Clock;
}

/** No usable key can be had now: the token may well be fine (503, try again). */
export class JwksUnavailableError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'JwksUnavailableError';
  }
}

class FetchFailure extends Error {
  readonly outcome: Exclude<JwksFetchOutcome, 'ok'>;
  constructor(outcome: Exclude<JwksFetchOutcome, 'ok'>, detail: string) {
    super(detail);
    this.outcome = outcome;
  }
}

export type JwksGetKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The algorithm a JWK would verify here, or undefined for a key no token here can use. */
function algorithmFor(jwk: Record<string, unknown>): (typeof KEY_ALGORITHMS)[number] | undefined {
  // A private key in a public set is the provider's mistake; jose would refuse it on every use.
  if ('d' in jwk || (jwk.use !== undefined && jwk.use !== 'sig')) return undefined;
  if (jwk.kty === 'RSA' && (jwk.alg === undefined || jwk.alg === 'RS256')) return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && (jwk.alg === undefined || jwk.alg === 'ES256')) return 'ES256';
  return undefined;
}

/** The keys of an untrusted response that import as public RS256/ES256 keys (RSA of 2048 bits or more). */
async function usableKeys(json: unknown): Promise<JWK[]> {
  if (!isRecord(json) || !Array.isArray(json.keys)) throw new FetchFailure('invalid', 'not a JWK set (no "keys" array)');
  if (json.keys.length > MAX_KEYS) throw new FetchFailure('invalid', `${json.keys.length} keys, more than ${MAX_KEYS}`);
  const usable: JWK[] = [];
  for (const candidate of json.keys as unknown[]) {
    const alg = isRecord(candidate) ? algorithmFor(candidate) : undefined;
    if (!alg || !isRecord(candidate)) continue;
    try {
      const key = await importJWK(candidate as JWK, alg);
      if (!(key instanceof CryptoKey) || key.type !== 'public') continue;
      if (alg === 'RS256' && (key.algorithm as RsaHashedKeyAlgorithm).modulusLength < RSA_MIN_BITS) continue;
      usable.push(candidate as JWK);
    } catch {
      // A key that does not import (bad base64url, wrong curve point) is skipped, not fatal.
    }
  }
  if (usable.length === 0) throw new FetchFailure('invalid', `none of its ${json.keys.length} keys is a public ${KEY_ALGORITHMS.join(' or ')} signing key`);
  return usable;
}

async function download(url: URL, timeoutMs: number): Promise<JWK[]> {
  const signal = AbortSignal.timeout(timeoutMs);
  const failed = (err: unknown): FetchFailure =>
    err instanceof FetchFailure ? err : signal.aborted ? new FetchFailure('timeout', `no complete answer within ${timeoutMs} ms`) : new FetchFailure('network', err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));
  try {
    // No redirects: one could lead from the https URL configured to anywhere.
    const res = await fetch(url, { signal, redirect: 'manual', headers: { accept: 'application/json, application/jwk-set+json' } });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new FetchFailure('http_error', `HTTP ${res.status}`);
    }
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    const reader = res.body?.getReader();
    for (let part = await reader?.read(); part && !part.done; part = await reader?.read()) {
      bytes += part.value.byteLength;
      if (bytes > MAX_BODY_BYTES) {
        await reader?.cancel();
        throw new FetchFailure('invalid', `body over ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(part.value);
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new FetchFailure('invalid', 'body is not JSON');
    }
    return await usableKeys(json);
  } catch (err) {
    throw failed(err);
  }
}

export function createJwksSource(options: JwksOptions): JwksGetKey {
  const t: JwksTimings = {
    cooldownMs: options.cooldownMs ?? JWKS_TIMINGS.cooldownMs,
    maxAgeMs: options.maxAgeMs ?? JWKS_TIMINGS.maxAgeMs,
    backoffMaxMs: options.backoffMaxMs ?? JWKS_TIMINGS.backoffMaxMs,
    timeoutMs: options.timeoutMs ?? JWKS_TIMINGS.timeoutMs,
  };
  const { url, maxStaleMs, logger, metrics, clock } = options;
  type Keys = { local: ReturnType<typeof createLocalJWKSet>; fetchedAt: number; count: number };
  let keys: Keys | undefined;
  let failures = 0;
  /** The first failed fetch since the last success. */
  let downSince: number | undefined;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let lastError = 'not fetched yet';
  let pending: Promise<void> | undefined;
  let expiryLogged = false;

  const wait = (): number => (failures === 0 ? t.cooldownMs : Math.min(t.backoffMaxMs, t.cooldownMs * 2 ** (failures - 1)));

  /** Since when the keys in use have been kept past their refresh because fetches fail. */
  function staleSince(now: number): number | undefined {
    if (!keys || downSince === undefined) return undefined;
    const due = keys.fetchedAt + t.maxAgeMs;
    return now > due ? Math.max(due, downSince) : undefined;
  }
  function usable(now: number): boolean {
    const since = staleSince(now);
    return keys !== undefined && (since === undefined || now - since <= maxStaleMs);
  }
  metrics.reportJwksStaleness(() => {
    const now = clock.now();
    const since = staleSince(now);
    return since === undefined ? 0 : (now - since) / 1000;
  });

  async function fetchOnce(): Promise<void> {
    const started = clock.now();
    lastAttempt = started;
    try {
      const set = await download(url, t.timeoutMs);
      const recovered = failures > 0;
      keys = { local: createLocalJWKSet({ keys: set }), fetchedAt: clock.now(), count: set.length };
      failures = 0;
      downSince = undefined;
      expiryLogged = false;
      metrics.jwksFetch('ok');
      logger[recovered ? 'info' : 'debug']({ jwks: url.href, keys: set.length }, recovered ? 'JWKS fetched again: the provider answers' : 'JWKS fetched');
    } catch (err) {
      // download() reports its own failures; anything else is jose refusing the set (JWKSInvalid).
      const failure = err instanceof FetchFailure ? err : new FetchFailure('invalid', err instanceof Error ? err.message : String(err));
      failures++;
      downSince ??= started;
      lastError = `${failure.outcome}: ${failure.message}`;
      metrics.jwksFetch(failure.outcome);
      // One line per attempt, and attempts back off: bounded however many tokens arrive.
      const known = !keys ? 'none' : usable(clock.now()) ? 'in use' : 'expired';
      logger.warn({ jwks: url.href, outcome: failure.outcome, detail: failure.message, failures, retryInMs: wait(), knownKeys: known }, 'JWKS fetch failed');
    }
  }

  /** Starts a fetch if none is running and the rate allows; resolves when the running one ends. */
  function refresh(): Promise<void> {
    if (pending) return pending;
    if (clock.now() < lastAttempt + wait()) return Promise.resolve();
    const run = fetchOnce().finally(() => {
      pending = undefined;
    });
    pending = run;
    return run;
  }

  function unavailable(detail: string): JwksUnavailableError {
    if (keys && !expiryLogged) {
      expiryLogged = true;
      logger.error({ jwks: url.href, maxStaleMs, lastError }, 'JWKS keys kept past JWKS_MAX_STALE_MS: upgrades get 503 until the provider answers');
    }
    return new JwksUnavailableError(detail);
  }

  async function current(): Promise<Keys> {
    const now = clock.now();
    if (keys && now - keys.fetchedAt <= t.maxAgeMs) return keys;
    if (keys && usable(now)) {
      void refresh();
      return keys;
    }
    await refresh();
    if (keys && usable(clock.now())) return keys;
    throw unavailable(keys ? `keys kept ${maxStaleMs} ms past their refresh; ${lastError}` : `no keys; ${lastError}`);
  }

  return async (header, token) => {
    const known = await current();
    try {
      return await known.local(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      // Perhaps a rotation: refetch, at most once per cooldown (or backoff step) however many ask.
      await refresh();
      if (keys && keys !== known) return keys.local(header, token);
      if (failures > 0) throw new JwksUnavailableError(`kid not among the ${known.count} keys known, and the JWKS cannot be fetched; ${lastError}`);
      throw err;
    }
  };
}
