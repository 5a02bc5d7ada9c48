// How long the keys of AUTH_JWKS_URL outlive an outage of the identity provider (issue 22; the
// behaviour is src/auth/jwks.ts). Parsed and checked at start like every setting; its default is
// part of DEFAULTS (config.ts), so README and .env.example are checked against it.
import { ConfigError, type Env } from './error.ts';

export interface JwksLimits {
  /**
   * With AUTH_JWKS_URL: while the JWKS cannot be fetched, the keys already known stay in use this
   * long past their refresh (then 503); 0 = never past their 10-minute cache life.
   */
  jwksMaxStaleMs: number;
}

/**
 * One hour: Microsoft.IdentityModel keeps its last known good keys as long (LastKnownGoodLifetime),
 * and it outlasts most provider incidents while bounding how long a withdrawn key is trusted.
 */
export const JWKS_DEFAULTS = {
  JWKS_MAX_STALE_MS: '3600000',
} as const;

/** A week at most: a key the provider has withdrawn is trusted this long by a server cut off from it. */
const MAX_STALE_LIMIT_MS = 7 * 86_400_000;

export function parseJwksLimits(env: Env): JwksLimits {
  const given = env.JWKS_MAX_STALE_MS?.trim();
  // An empty variable means "use the default", as for every other setting.
  const value = given === undefined || given === '' ? JWKS_DEFAULTS.JWKS_MAX_STALE_MS : given;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > MAX_STALE_LIMIT_MS) throw new ConfigError('JWKS_MAX_STALE_MS', value, `an integer from 0 to ${MAX_STALE_LIMIT_MS} (milliseconds)`);
  return { jwksMaxStaleMs: n };
}
