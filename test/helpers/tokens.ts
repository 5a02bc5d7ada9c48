// HS256 tokens for tests, made with jose as a backend would make them (scripts/token.ts too).
import { SignJWT, type JWTPayload } from 'jose';

export const SECRET = 'test-secret-for-socketship-tests-0123456789';

/** A token valid for `ttlS` seconds from now (negative: expired; null: no exp at all), with these claims. */
export function hs256(claims: JWTPayload & Record<string, unknown>, ttlS: number | null = 300, secret = SECRET, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...(ttlS === null ? {} : { exp: now + ttlS }), iat: now, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(new TextEncoder().encode(secret));
}

/** The same claims, encoded by hand: for tokens jose would refuse to make. */
export function rawToken(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64(header)}.${b64(payload)}.${signature}`;
}
