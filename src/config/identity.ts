// Who may connect (AUTH_*) and the server API (API_KEY): parsed and checked at start like every
// setting. Secrets never appear in an error: only their length does.
import { ConfigError, type Env } from './error.ts';
import { refuseUnresolvedKeyVaultReference as resolved } from './key-vault.ts';

/** How upgrade tokens are verified. At least one of `secret` and `jwksUrl` is set. */
export interface AuthConfig {
  /** HS256 tokens signed with this secret (AUTH_JWT_SECRET). */
  secret: Uint8Array<ArrayBuffer> | undefined;
  /** RS256/ES256 tokens whose keys come from this JWKS (AUTH_JWKS_URL). */
  jwksUrl: URL | undefined;
  /** Required `iss` (AUTH_ISSUER): always with a JWKS, optional with a secret. */
  issuer: string | undefined;
  /** Required `aud` (AUTH_AUDIENCE): always with a JWKS, optional with a secret. */
  audience: string | undefined;
}

export interface IdentityConfig {
  /** undefined: anonymous mode (anyone may connect, join any room, take any name). */
  auth: AuthConfig | undefined;
  /** Enables the server API under /api; undefined: it answers 404. */
  apiKey: string | undefined;
  /** Server API requests a second per client address, bursts of twice that. */
  apiRateLimitPerSec: number;
}

export const SECRET_MIN_BYTES = 32;
export const API_KEY_MIN_CHARS = 32;

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

const hidden = (secret: string): string => `<${Buffer.byteLength(secret)} bytes, hidden>`;

function jwksUrl(raw: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  // Keys fetched in the clear could be swapped by anyone on the path: https, except on this machine.
  const loopback = url !== undefined && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
    throw new ConfigError('AUTH_JWKS_URL', raw, "an https:// URL of your identity provider's JWKS, e.g. https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys");
  }
  return url;
}

export function parseIdentityConfig(env: Env): IdentityConfig {
  const secret = value(env, 'AUTH_JWT_SECRET');
  const jwks = value(env, 'AUTH_JWKS_URL');
  const issuer = value(env, 'AUTH_ISSUER');
  const audience = value(env, 'AUTH_AUDIENCE');
  resolved('AUTH_JWT_SECRET', secret);
  resolved('API_KEY', value(env, 'API_KEY'));
  if (secret !== undefined && Buffer.byteLength(secret) < SECRET_MIN_BYTES) {
    throw new ConfigError('AUTH_JWT_SECRET', hidden(secret), `a secret of at least ${SECRET_MIN_BYTES} bytes (e.g. openssl rand -base64 48)`);
  }
  if (jwks !== undefined && issuer === undefined) throw new ConfigError('AUTH_ISSUER', '', 'the issuer (iss) of your tokens: required with AUTH_JWKS_URL');
  if (jwks !== undefined && audience === undefined) throw new ConfigError('AUTH_AUDIENCE', '', 'the audience (aud) of your tokens: required with AUTH_JWKS_URL');
  if (secret === undefined && jwks === undefined) {
    for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
      const v = value(env, name);
      if (v !== undefined) throw new ConfigError(name, v, 'empty unless AUTH_JWT_SECRET or AUTH_JWKS_URL is set (authentication is off)');
    }
  }
  const apiKey = value(env, 'API_KEY');
  if (apiKey !== undefined && apiKey.length < API_KEY_MIN_CHARS) {
    throw new ConfigError('API_KEY', hidden(apiKey), `empty (no server API) or a key of at least ${API_KEY_MIN_CHARS} characters (e.g. openssl rand -hex 32)`);
  }
  const rate = value(env, 'API_RATE_LIMIT_PER_SEC') ?? '100';
  const apiRateLimitPerSec = /^\d+$/.test(rate) ? Number(rate) : Number.NaN;
  if (!Number.isSafeInteger(apiRateLimitPerSec) || apiRateLimitPerSec < 1 || apiRateLimitPerSec > 1_000_000) {
    throw new ConfigError('API_RATE_LIMIT_PER_SEC', rate, 'an integer from 1 to 1000000');
  }
  const auth: AuthConfig | undefined =
    secret === undefined && jwks === undefined
      ? undefined
      : { secret: secret === undefined ? undefined : new TextEncoder().encode(secret), jwksUrl: jwks === undefined ? undefined : jwksUrl(jwks), issuer, audience };
  return { auth, apiKey, apiRateLimitPerSec };
}
