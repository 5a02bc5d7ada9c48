// JWKS mode against a real OpenID Connect provider on loopback (oidc-provider): RS256 access
// tokens from the client credentials grant, verified through the provider's JWKS; key rotation at
// the provider while the server runs; algorithm confusion refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { TestClient } from '../helpers/client.ts';
import { AUDIENCE, startProvider, type TestProvider } from '../helpers/oidc.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';
import { JWKS_COOLDOWN_MS } from '../../src/auth/verify.ts';

let provider: TestProvider;
let s: TestServer;
const server = serverPool();
before(async () => {
  provider = await startProvider();
  s = await server({ identity: parseIdentityConfig({ AUTH_JWKS_URL: provider.jwksUrl, AUTH_ISSUER: provider.issuer, AUTH_AUDIENCE: AUDIENCE }) });
});
after(() => provider?.stop());

async function status(url: string): Promise<number> {
  try {
    (await TestClient.connect(url)).close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

test('an RS256 access token from the provider opens a socket; its claims name the user and the rooms', async () => {
  const token = await provider.token({ name: 'Backend Bot', rooms: ['lobby', 'ops-*'] });
  const c = await TestClient.connect(s.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
  const welcome = await c.nextOf('welcome');
  assert.deepEqual({ user: welcome.user, name: welcome.name }, { user: 'backend', name: 'Backend Bot' });
  c.send({ type: 'join', room: 'ops-eu', name: 'x' });
  await c.nextOf('welcome', 2000, (w) => w.room === 'ops-eu');
  c.send({ type: 'join', room: 'finance', name: 'x' });
  assert.equal((await c.nextOf('error')).reason, 'forbidden');
  c.close();
});

test('key rotation at the provider: tokens with the new kid are accepted without a restart, the JWKS refetched at a bounded rate', async () => {
  const before = provider.kid;
  (await TestClient.connect(`${s.wsUrl}?access_token=${await provider.token()}`)).close();
  await provider.rotate();
  assert.notEqual(provider.kid, before);
  const fresh = await provider.token();
  const fetchesBefore = provider.jwksFetches;
  let attempts = 0;
  // Until the cooldown since the last fetch has passed, an unknown kid is refused without a fetch.
  await eventually(async () => (attempts++, (await status(`${s.wsUrl}?access_token=${fresh}`)) === 101), JWKS_COOLDOWN_MS + 3000, 'the new key to be fetched');
  assert.ok(provider.jwksFetches - fetchesBefore <= 2, `${provider.jwksFetches - fetchesBefore} JWKS fetches for ${attempts} attempts`);
  const c = await TestClient.connect(`${s.wsUrl}?access_token=${fresh}`);
  assert.equal((await c.nextOf('welcome')).user, 'backend');
  c.close();
});

test('algorithm confusion: an HS256 token signed with the provider\'s RSA public key as the secret is refused', async () => {
  const n = String(provider.publicJwk.n);
  const forged = await new SignJWT({ sub: 'attacker', iss: provider.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })
    .setProtectedHeader({ alg: 'HS256', kid: provider.kid })
    .sign(new TextEncoder().encode(JSON.stringify(provider.publicJwk) + n));
  assert.equal(await status(`${s.wsUrl}?access_token=${forged}`), 401);
  await eventually(() => s.logs.some((l) => l.msg === 'upgrade refused' && l.reason === 'token_algorithm'), 2000, 'token_algorithm refusal');
});

test('a token signed by a key the provider never published, or for another audience, is refused', async () => {
  const { generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair('RS256');
  const stranger = await new SignJWT({ sub: 'x', iss: provider.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })
    .setProtectedHeader({ alg: 'RS256', kid: 'not-there' })
    .sign(privateKey);
  assert.equal(await status(`${s.wsUrl}?access_token=${stranger}`), 401);
  const exp = Math.floor(Date.now() / 1000) + 300;
  assert.equal(await status(`${s.wsUrl}?access_token=${await provider.sign({ sub: 'x', iss: provider.issuer, aud: 'someone-else', exp })}`), 401);
  assert.equal(await status(`${s.wsUrl}?access_token=${await provider.sign({ sub: 'x', iss: 'https://other.test', aud: AUDIENCE, exp })}`), 401);
  assert.equal(await status(`${s.wsUrl}?access_token=${await provider.sign({ sub: 'x', iss: provider.issuer, aud: AUDIENCE, exp, rooms: 'all' })}`), 401);
  const metrics = await fetchMetrics(s);
  for (const reason of ['token_unknown_key', 'token_audience', 'token_issuer', 'token_claims']) assert.ok(metricValue(metrics, 'ws_upgrades_rejected_total', { reason }) >= 1, reason);
});

test('the provider down: a token naming an unknown key gets 503 (try again), not 401', async () => {
  const p2 = await startProvider();
  const s2 = await server({ identity: parseIdentityConfig({ AUTH_JWKS_URL: p2.jwksUrl, AUTH_ISSUER: p2.issuer, AUTH_AUDIENCE: AUDIENCE }) });
  const token = await p2.token();
  await p2.stop();
  assert.equal(await status(`${s2.wsUrl}?access_token=${token}`), 503);
  assert.ok(s2.logs.some((l) => l.msg === 'upgrade refused' && l.reason === 'jwks_unavailable'));
});
