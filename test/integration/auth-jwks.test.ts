// The JWKS when the identity provider fails (issue #22): a real OpenID provider (oidc-provider)
// behind a loopback stand-in that forwards its JWKS, answers errors or garbage, hangs or drops,
// and counts every fetch where the provider would see them. Short timings in each server's deps,
// waits bounded by conditions. What is asserted: the known keys kept while the provider is down,
// up to JWKS_MAX_STALE_MS, then 503; back up, accepted; refetches rate-limited after successes and
// backing off after failures; a rotation picked up with one fetch; garbage answered 503, not 401.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { JwksTimings } from '../../src/auth/jwks.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';
import { TestClient } from '../helpers/client.ts';
import { jwksProxy, type JwksMode, type JwksProxy } from '../helpers/jwks-proxy.ts';
import { AUDIENCE, startProvider, type TestProvider } from '../helpers/oidc.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';

let provider: TestProvider;
const proxies: JwksProxy[] = [];
const server = serverPool();
before(async () => {
  provider = await startProvider();
});
after(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await provider?.stop();
});

const FAST: Partial<JwksTimings> = { cooldownMs: 100, maxAgeMs: 200, backoffMaxMs: 400, timeoutMs: 1000 };

async function setup(mode: JwksMode, timings: Partial<JwksTimings> = FAST, jwksMaxStaleMs = 1500): Promise<{ proxy: JwksProxy; s: TestServer }> {
  const proxy = await jwksProxy(provider.jwksUrl, mode);
  proxies.push(proxy);
  const identity = parseIdentityConfig({ AUTH_JWKS_URL: proxy.url, AUTH_ISSUER: provider.issuer, AUTH_AUDIENCE: AUDIENCE });
  return { proxy, s: await server({ identity, jwksMaxStaleMs }, { jwksTimings: timings }) };
}

async function status(s: TestServer, token: string): Promise<number> {
  try {
    (await TestClient.connect(`${s.wsUrl}?access_token=${token}`, { handshakeTimeout: 10_000 })).close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

/** A well-formed RS256 token naming a `kid` the provider never published. */
async function madeUpKid(i: number): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT({ sub: 'x', iss: provider.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }).setProtectedHeader({ alg: 'RS256', kid: `made-up-${i}` }).sign(privateKey);
}

const refusedWith = (s: TestServer, reason: string): number => s.logs.filter((l) => l.msg === 'upgrade refused' && l.reason === reason).length;
const fetches = async (s: TestServer, outcome: string): Promise<number> => metricValue(await fetchMetrics(s), 'ws_jwks_fetches_total', { outcome });
const staleSeconds = async (s: TestServer): Promise<number> => metricValue(await fetchMetrics(s), 'ws_jwks_stale_seconds');

test('the provider down: the keys known stay in use within JWKS_MAX_STALE_MS, 503 after it; the provider back: accepted again', async () => {
  const maxStale = 1500;
  const { proxy, s } = await setup({ kind: 'forward' }, FAST, maxStale);
  const token = await provider.token();
  assert.equal(await status(s, token), 101);
  proxy.mode = { kind: 'error' };
  // Past their 200 ms cache life the keys are refetched behind a verify, which the known keys answer.
  await eventually(async () => (assert.equal(await status(s, token), 101), proxy.requests.some((r) => r.status === 500)), 5000, 'a failed refetch');
  const downAt = proxy.requests.find((r) => r.status === 500)!.at;
  await eventually(async () => (await staleSeconds(s)) > 0, 2000, 'ws_jwks_stale_seconds above 0');
  const tries: { start: number; end: number; code: number }[] = [];
  await eventually(async () => {
    const start = Date.now();
    const code = await status(s, token);
    tries.push({ start, end: Date.now(), code });
    return code !== 101;
  }, maxStale + 5000, 'the stale limit to pass');
  const refused = tries.at(-1)!;
  assert.equal(refused.code, 503);
  assert.ok(refused.end >= downAt + maxStale - 50, `503 after ${refused.end - downAt} ms of outage, before the limit of ${maxStale}`);
  assert.ok(refused.start <= downAt + maxStale + 1500, `still accepted ${refused.start - downAt} ms into the outage`);
  assert.ok(tries.some((t) => t.code === 101 && t.start >= downAt + maxStale / 2), 'accepted late within the stale limit');
  assert.ok(refusedWith(s, 'jwks_unavailable') >= 1);
  assert.ok(s.logs.some((l) => l.level === 'error' && l.msg.startsWith('JWKS keys kept past JWKS_MAX_STALE_MS')));
  assert.ok((await fetches(s, 'http_error')) >= 1);
  proxy.mode = { kind: 'forward' };
  await eventually(async () => (await status(s, token)) === 101, 5000, 'accepted once the provider answers');
  assert.equal(await staleSeconds(s), 0);
  assert.ok(s.logs.some((l) => l.msg === 'JWKS fetched again: the provider answers'));
});

test('the JWKS answering 500 to a flood: 200 upgrades (valid tokens and made-up kids) make one fetch, all 503', async () => {
  const { proxy, s } = await setup({ kind: 'error' }, { ...FAST, cooldownMs: 30_000 });
  const good = await provider.token();
  const tokens = [...Array.from({ length: 100 }, () => good), ...(await Promise.all(Array.from({ length: 100 }, (_, i) => madeUpKid(i))))];
  const codes = await Promise.all(tokens.map((t) => status(s, t)));
  assert.deepEqual([...new Set(codes)], [503]);
  assert.equal(proxy.requests.length, 1);
  assert.equal(s.logs.filter((l) => l.msg === 'JWKS fetch failed').length, 1);
});

test('after a success, unknown kids refetch at most once per cooldown however many arrive', async () => {
  const cooldownMs = 300;
  const { proxy, s } = await setup({ kind: 'forward' }, { ...FAST, cooldownMs, maxAgeMs: 60_000 });
  assert.equal(await status(s, await provider.token()), 101);
  const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => madeUpKid(i)));
  let upgrades = 0;
  await eventually(async () => {
    const codes = await Promise.all(strangers.map((t) => status(s, t)));
    upgrades += codes.length;
    assert.deepEqual([...new Set(codes)], [401]);
    return proxy.requests.length >= 4;
  }, 10_000, 'three refetches');
  const gaps = proxy.requests.slice(1).map((r, i) => r.at - proxy.requests[i]!.at);
  for (const gap of gaps) assert.ok(gap >= cooldownMs - 20, `refetches ${gap} ms apart, cooldown ${cooldownMs}: ${gaps.join(', ')}`);
  assert.ok(upgrades >= 10 * proxy.requests.length, `${upgrades} upgrades, ${proxy.requests.length} fetches`);
  assert.ok(refusedWith(s, 'token_unknown_key') >= upgrades);
});

test('failed fetches back off: from the cooldown, doubling, up to the cap', async () => {
  const cooldownMs = 100;
  const backoffMaxMs = 800;
  const { proxy, s } = await setup({ kind: 'error' }, { ...FAST, cooldownMs, backoffMaxMs });
  const token = await provider.token();
  await eventually(async () => {
    const codes = await Promise.all(Array.from({ length: 10 }, () => status(s, token)));
    assert.deepEqual([...new Set(codes)], [503]);
    return proxy.requests.length >= 6;
  }, 10_000, 'six fetches');
  const gaps = proxy.requests.slice(1).map((r, i) => r.at - proxy.requests[i]!.at);
  gaps.forEach((gap, i) => {
    const wait = Math.min(backoffMaxMs, cooldownMs * 2 ** i);
    assert.ok(gap >= wait - 20, `fetch ${i + 2} came ${gap} ms after the one before, the backoff says ${wait}: ${gaps.join(', ')}`);
  });
  assert.equal(s.logs.filter((l) => l.msg === 'JWKS fetch failed').length, proxy.requests.length, 'one warning per fetch, not per upgrade');
  assert.equal(await fetches(s, 'http_error'), proxy.requests.length);
});

test('the provider rotates its key: a token of the new key accepted after one refetch; the old key refused (401)', async () => {
  const { proxy, s } = await setup({ kind: 'forward' }, { ...FAST, cooldownMs: 200, maxAgeMs: 60_000 });
  const old = await provider.token();
  assert.equal(await status(s, old), 101);
  await provider.rotate();
  const fresh = await provider.token();
  const before = proxy.requests.length;
  const seen: number[] = [];
  await eventually(async () => (seen.push(await status(s, fresh)), seen.at(-1) === 101), 5000, 'the new key');
  assert.equal(proxy.requests.length - before, 1, `${proxy.requests.length - before} fetches for ${seen.length} attempts`);
  assert.deepEqual([...new Set(seen.slice(0, -1))].filter((c) => c !== 401), [], 'within the cooldown the new kid is 401, never 503');
  assert.equal(await status(s, old), 401);
  assert.equal(await fetches(s, 'ok'), 2);
});

test('a JWKS answering garbage, errors, redirects, nothing or too much: 503 jwks_unavailable, never 401; a malformed token stays 401', async () => {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid: provider.kid, alg: 'RS256' };
  const cases: { what: string; mode: JwksMode; outcome: string }[] = [
    { what: 'an HTML error page with 200', mode: { kind: 'body', body: '<html><body>Service Unavailable</body></html>', contentType: 'text/html' }, outcome: 'invalid' },
    { what: 'JSON without a key list', mode: { kind: 'body', body: '{"keys":"none"}' }, outcome: 'invalid' },
    { what: 'a key that does not import', mode: { kind: 'body', body: JSON.stringify({ keys: [{ kty: 'RSA', kid: provider.kid, n: 'AQAB', e: 'AQAB' }] }) }, outcome: 'invalid' },
    { what: 'a private key', mode: { kind: 'body', body: JSON.stringify({ keys: [privateJwk] }) }, outcome: 'invalid' },
    { what: 'a body over 512 kB', mode: { kind: 'body', body: JSON.stringify({ keys: [], pad: 'x'.repeat(600_000) }) }, outcome: 'invalid' },
    { what: '503', mode: { kind: 'error', status: 503 }, outcome: 'http_error' },
    { what: 'a redirect (not followed)', mode: { kind: 'error', status: 302 }, outcome: 'http_error' },
    { what: 'a connection dropped', mode: { kind: 'drop' }, outcome: 'network' },
    { what: 'no answer within the timeout', mode: { kind: 'hang' }, outcome: 'timeout' },
  ];
  const token = await provider.token();
  await Promise.all(
    cases.map(async ({ what, mode, outcome }) => {
      const { proxy, s } = await setup(mode);
      const started = Date.now();
      assert.equal(await status(s, token), 503, what);
      assert.ok(Date.now() - started < (FAST.timeoutMs ?? 0) + 3000, `${what}: answered after ${Date.now() - started} ms`);
      assert.equal(refusedWith(s, 'jwks_unavailable'), 1, what);
      assert.equal(await fetches(s, outcome), 1, `${what}: ws_jwks_fetches_total{outcome="${outcome}"}`);
      assert.equal(proxy.requests.length, 1, what);
      // Judged before any key is needed: no fetch, and 401.
      assert.equal(await status(s, 'not-a-jwt'), 401, what);
      assert.equal(await status(s, 'eyJhbGciOiJSUzI1NiJ9.e30'), 401, what);
      assert.equal(refusedWith(s, 'token_malformed'), 2, what);
      assert.equal(proxy.requests.length, 1, what);
    }),
  );
});

test('keys of a set that are unusable are skipped: the good one among them is used', async () => {
  const published = (await (await fetch(provider.jwksUrl)).json()) as { keys: JWK[] };
  const { privateKey } = await generateKeyPair('ES384', { extractable: true });
  const junk: unknown[] = ['a string', 42, null, { kty: 'RSA', n: '!!', e: 'AQAB' }, { ...(await exportJWK(privateKey)), kid: 'p384' }, { kty: 'oct', k: 'c2VjcmV0' }, { ...published.keys[0], use: 'enc' }];
  const { proxy, s } = await setup({ kind: 'body', body: JSON.stringify({ keys: [...junk, ...published.keys] }) });
  assert.equal(await status(s, await provider.token()), 101);
  assert.equal(proxy.requests.length, 1);
});
