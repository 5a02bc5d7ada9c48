// Upgrade tokens, verified with jose: HS256 with AUTH_JWT_SECRET, RS256/ES256 with the keys of
// AUTH_JWKS_URL (./jwks.ts: cached 10 minutes; refetched when a token names an unknown `kid`, at
// most once per JWKS_COOLDOWN_MS and backing off while the provider fails, so key rotation needs no
// restart and a flood of made-up `kid`s cannot make the server hammer the provider; the keys known
// kept for JWKS_MAX_STALE_MS while it is down). Keys that cannot be had: 503, never 401.
import { decodeProtectedHeader, errors, jwtVerify, type JWTVerifyOptions } from 'jose';
import type { AuthConfig } from '../config/config.ts';
import { AuthError } from './errors.ts';
import { identityFromClaims, type Identity } from './identity.ts';
import { createJwksSource, JWKS_TIMINGS, JwksUnavailableError, KEY_ALGORITHMS, type JwksOptions } from './jwks.ts';
import { TOKEN_MAX_BYTES } from './request.ts';

export type VerifyToken = (token: string | undefined) => Promise<Identity>;

/** Clock skew tolerated on exp and nbf, seconds. */
export const CLOCK_SKEW_S = 30;
/** At most one JWKS fetch per this interval for unknown `kid`s, however many tokens name them. */
export const JWKS_COOLDOWN_MS = JWKS_TIMINGS.cooldownMs;
const ASYMMETRIC = KEY_ALGORITHMS;
// `typ` when present: a JWT, or an OAuth access token (RFC 9068); an ID token or anything else is refused.
const TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt']);

function translate(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof JwksUnavailableError) return new AuthError('jwks_unavailable', `JWKS: ${err.message}`);
  if (err instanceof errors.JWTExpired) return new AuthError('token_expired', 'exp has passed');
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reason = err.claim === 'nbf' ? 'token_not_yet_valid' : err.claim === 'iss' ? 'token_issuer' : err.claim === 'aud' ? 'token_audience' : 'token_claims';
    return new AuthError(reason, `${err.claim}: ${err.reason}`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AuthError('token_signature', 'signature does not verify');
  if (err instanceof errors.JWKSNoMatchingKey) return new AuthError('token_unknown_key', 'no key of the JWKS matches the token');
  if (err instanceof errors.JOSEAlgNotAllowed) return new AuthError('token_algorithm', 'algorithm not allowed');
  // jose refusing a key of the set when it is used (JWKSInvalid) is the provider's fault, not the token's.
  if (err instanceof errors.JWKSInvalid || err instanceof TypeError) return new AuthError('jwks_unavailable', `JWKS: ${err.message}`);
  if (err instanceof errors.JOSEError) return new AuthError('token_malformed', err.code);
  return new AuthError('jwks_unavailable', err instanceof Error ? err.message : String(err));
}

/** What the JWKS source needs besides the URL (AUTH_JWKS_URL); unused without one. */
export type JwksDeps = Omit<JwksOptions, 'url'>;

export function createTokenVerifier(auth: AuthConfig, jwksDeps: JwksDeps): VerifyToken {
  // Imported once: handed the raw bytes, jose imports the key again for every token (measured:
  // 34.5 against 20.5 µs a verification).
  const secret = auth.secret;
  let hmacKey: Promise<CryptoKey> | undefined;
  const hs256Key = (bytes: Uint8Array<ArrayBuffer>): Promise<CryptoKey> =>
    (hmacKey ??= crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']));
  const jwks = auth.jwksUrl ? createJwksSource({ ...jwksDeps, url: auth.jwksUrl }) : undefined;
  const common: JWTVerifyOptions = {
    clockTolerance: CLOCK_SKEW_S,
    requiredClaims: ['exp', 'sub'],
    ...(auth.issuer === undefined ? {} : { issuer: auth.issuer }),
    ...(auth.audience === undefined ? {} : { audience: auth.audience }),
  };

  return async (token) => {
    if (token === undefined || token === '') throw new AuthError('token_missing', 'no Authorization: Bearer header and no access_token parameter');
    if (token.length > TOKEN_MAX_BYTES) throw new AuthError('token_malformed', `longer than ${TOKEN_MAX_BYTES} bytes`);
    let alg: string | undefined;
    let typ: string | undefined;
    try {
      ({ alg, typ } = decodeProtectedHeader(token));
    } catch {
      throw new AuthError('token_malformed', 'not a compact JWS');
    }
    if (typ !== undefined && !TYPES.has(typ.toLowerCase())) throw new AuthError('token_malformed', `typ ${JSON.stringify(typ).slice(0, 40)} is not a JWT`);
    try {
      // The key is chosen by the algorithm the server expects, never by the token alone: an HS256
      // token is checked against the secret only, so an RSA public key cannot pose as a secret, and
      // `none` matches nothing.
      if (alg === 'HS256' && secret) return identityFromClaims((await jwtVerify(token, await hs256Key(secret), { ...common, algorithms: ['HS256'] })).payload);
      if (jwks && (ASYMMETRIC as readonly (string | undefined)[]).includes(alg)) return identityFromClaims((await jwtVerify(token, jwks, { ...common, algorithms: [...ASYMMETRIC] })).payload);
    } catch (err) {
      throw translate(err);
    }
    throw new AuthError('token_algorithm', `alg ${JSON.stringify(alg ?? null).slice(0, 20)} is not accepted here`);
  };
}
