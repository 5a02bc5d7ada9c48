// Hostile-input catalogue: a failing identity provider (issue #22), as an attack. A real OpenID
// provider (oidc-provider) behind a stand-in that starts answering 500; then 200 upgrades with
// made-up `kid`s, the flood that used to make 200 fetches (a flood reflected at the provider).
// Measured against the flood itself: fetches per upgrade (before: 1), every upgrade answered 503
// (before: 401), and a witness pair already connected (with a token of the shared secret, which
// needs no provider) hearing every message throughout; then the provider back, new connections
// accepted again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { parseIdentityConfig } from '../../../src/config/identity.ts';
import { TestClient } from '../../helpers/client.ts';
import { hs256, SECRET } from '../../helpers/tokens.ts';
import { Witness } from '../../helpers/hostile.ts';
import { jwksProxy, type JwksProxy } from '../../helpers/jwks-proxy.ts';
import { AUDIENCE, startProvider, type TestProvider } from '../../helpers/oidc.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type TestServer } from '../../helpers/server.ts';

let provider: TestProvider;
let proxy: JwksProxy | undefined;
const server = serverPool();
before(async () => {
  provider = await startProvider();
});
after(async () => {
  await proxy?.close();
  await provider?.stop();
});

async function status(s: TestServer, token: string): Promise<number> {
  try {
    (await TestClient.connect(`${s.wsUrl}?access_token=${token}`, { handshakeTimeout: 10_000 })).close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

test('the provider failing under a flood: 503 for each upgrade, one fetch for all, the witness unharmed; back, accepted', async () => {
  // Down from the start: no key known. A shared secret too, so the witness pair can connect (HS256).
  proxy = await jwksProxy(provider.jwksUrl, { kind: 'error' });
  const identity = parseIdentityConfig({ AUTH_JWKS_URL: proxy.url, AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: provider.issuer, AUTH_AUDIENCE: AUDIENCE });
  // The production timings: 5 s cooldown, backoff from it doubling to 60 s.
  const s = await server({ identity });
  const witnessToken = await hs256({ sub: 'witness', iss: provider.issuer, aud: AUDIENCE });
  const witness = await Witness.start({ wsUrl: `${s.wsUrl}?access_token=${witnessToken}` });

  // The flood: 100 valid RS256 tokens and 100 naming kids the provider never published.
  const { privateKey } = await generateKeyPair('RS256');
  const good = await provider.token();
  const forged = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      new SignJWT({ sub: `x${i}`, iss: provider.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }).setProtectedHeader({ alg: 'RS256', kid: `made-up-${i}` }).sign(privateKey),
    ),
  );
  const started = performance.now();
  const answers = await Promise.all([...Array.from({ length: 100 }, () => good), ...forged].map((t) => status(s, t)));
  const seconds = (performance.now() - started) / 1000;
  const fetches = proxy.requests.length;
  console.log(JSON.stringify({ upgrades: answers.length, seconds, fetches, answers: [...new Set(answers)] }));
  assert.deepEqual([...new Set(answers)], [503], 'every RS256 upgrade gets 503 while no key can be fetched');
  // Fetches per upgrade: 1 before (200 fetches); now 1 for the flood, 2 if it outlasted the first backoff (5 s).
  assert.ok(fetches >= 1 && fetches <= (seconds < 5 ? 1 : 2), `${fetches} fetches for 200 upgrades in ${seconds.toFixed(1)} s`);
  assert.ok(metricValue(await fetchMetrics(s), 'ws_jwks_fetches_total', { outcome: 'http_error' }) === fetches, 'each failed fetch counted');
  assert.ok(metricValue(await fetchMetrics(s), 'ws_upgrades_rejected_total', { reason: 'jwks_unavailable' }) >= 200, 'each refusal counted');
  await witness.probe('during the outage');

  // The provider back: accepted once the backoff lets the next fetch go (5 s after the failure).
  proxy.mode = { kind: 'forward' };
  await eventually(async () => (await status(s, good)) === 101, 10_000, 'new connections accepted with the provider back');
  await witness.stop();
});
