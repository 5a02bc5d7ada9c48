// A real OpenID Connect provider on loopback (panva's oidc-provider, a certified implementation):
// client credentials grant, RS256 JWT access tokens for one resource (the audience), keys
// published at /jwks. `rotate()` restarts it on the same address with a new signing key.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import Provider from 'oidc-provider';

export const AUDIENCE = 'urn:socketship:test';
export const CLIENT = { id: 'backend', secret: 'backend-secret-for-tests-only' };

export interface TestProvider {
  issuer: string;
  jwksUrl: string;
  /** The signing key's id now. */
  kid: string;
  /** The public key now, as a JWK (for the algorithm-confusion test). */
  publicJwk: JWK;
  /** A client-credentials access token carrying these extra claims. */
  token(claims?: Record<string, unknown>): Promise<string>;
  /** A token signed with the provider's current key, with exactly these claims (for bad-claim cases). */
  sign(claims: Record<string, unknown>): Promise<string>;
  /** How many times the JWKS has been fetched. */
  readonly jwksFetches: number;
  /** A new signing key, served from the same address; the old one is gone from the JWKS. */
  rotate(): Promise<void>;
  stop(): Promise<void>;
}

async function signingKey(kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

export async function startProvider(): Promise<TestProvider> {
  let extra: Record<string, unknown> = {};
  let generation = 0;
  let server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  let key = await signingKey(`k${generation}`);
  let jwksFetches = 0;
  const count = (handler: ReturnType<Provider['callback']>): ReturnType<Provider['callback']> => (req, res) => {
    if (req.url === '/jwks') jwksFetches++;
    return handler(req, res);
  };

  function provider(): Provider {
    const p = new Provider(issuer, {
      clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }],
      jwks: { keys: [key.privateJwk] },
      features: {
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: 'chat', audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } }),
        },
      },
      extraTokenClaims: () => extra,
    });
    p.on('server_error', (_ctx: unknown, err: Error) => console.error('oidc-provider:', err));
    return p;
  }
  server.on('request', count(provider().callback()));

  const stopServer = (): Promise<void> => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    get kid() {
      return String(key.publicJwk.kid);
    },
    get publicJwk() {
      return key.publicJwk;
    },
    get jwksFetches() {
      return jwksFetches;
    },
    async sign(claims) {
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: String(key.privateJwk.kid), typ: 'at+jwt' }).sign(await importJWK(key.privateJwk, 'RS256'));
    },
    async token(claims = {}) {
      extra = claims;
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'chat', resource: AUDIENCE }),
        signal: AbortSignal.timeout(5000),
      });
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!body.access_token) throw new Error(`token endpoint: ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
      return body.access_token;
    },
    async rotate() {
      await stopServer();
      key = await signingKey(`k${++generation}`);
      server = createServer(count(provider().callback()));
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    stop: stopServer,
  };
}
