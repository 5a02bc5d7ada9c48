// Signed identities for the connect storm, minted with `jose` the way an application's backend or
// an OpenID Connect provider would: HS256 with a shared secret (AUTH_JWT_SECRET), and RS256 with
// a key whose public half the harness serves as a JWKS on loopback (AUTH_JWKS_URL, AUTH_ISSUER,
// AUTH_AUDIENCE). Claims as the contract names them: sub and exp required, name.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';

export type AuthVariant = 'anonymous' | 'hs256' | 'rs256';

export interface Issuer {
  /** The server's environment for this variant. */
  env: Record<string, string>;
  /** One token per connection (none when anonymous). */
  tokens: string[];
}

const AUDIENCE = 'socketship-bench';
const TTL_S = 3600;

function claims(i: number): { name: string } {
  return { name: `user ${i}` };
}

async function mint(n: number, sign: (jwt: SignJWT) => Promise<string>, set: (jwt: SignJWT) => SignJWT): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await sign(set(new SignJWT(claims(i)).setSubject(`u${i}`).setIssuedAt(now).setExpirationTime(now + TTL_S))));
  return out;
}

export async function hs256Issuer(n: number): Promise<Issuer> {
  // 64 characters: above the contract's 32-byte minimum.
  const secret = randomBytes(32).toString('hex');
  const key = new TextEncoder().encode(secret);
  const tokens = await mint(n, (jwt) => jwt.sign(key), (jwt) => jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }));
  return { env: { AUTH_JWT_SECRET: secret }, tokens };
}

export interface JwksHost {
  url: string;
  issuer: string;
  close(): Promise<void>;
}

/** Serves `{ keys }` at /jwks.json on a loopback port; counts its requests (the server should cache). */
export async function serveJwks(keys: JWK[]): Promise<JwksHost & { requests: () => number }> {
  let requests = 0;
  const body = JSON.stringify({ keys });
  const server: Server = createServer((req, res) => {
    requests++;
    if (req.url === '/jwks.json') res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // Serves for the whole run; must not keep the harness alive.
  server.unref();
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('jwks server has no address');
  const base = `http://127.0.0.1:${address.port}`;
  return {
    url: `${base}/jwks.json`,
    issuer: `${base}/`,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** An RS256 key pair, its JWKS served on loopback, and n tokens signed with it. */
export async function rs256Issuer(n: number): Promise<Issuer & { jwks: JwksHost & { requests: () => number } }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `bench-${randomBytes(4).toString('hex')}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const jwks = await serveJwks([jwk]);
  const tokens = await mint(
    n,
    (jwt) => jwt.sign(privateKey),
    (jwt) => jwt.setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).setIssuer(jwks.issuer).setAudience(AUDIENCE),
  );
  return { env: { AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: jwks.issuer, AUTH_AUDIENCE: AUDIENCE }, tokens, jwks };
}
