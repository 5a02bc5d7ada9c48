// Who may connect and speak (HS256 mode; the JWKS mode with a real OpenID provider is in
// oidc.test.ts): every bad token is refused with 401, a log line naming the reason and a counter,
// never with the token in a log line, and no other client notices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../helpers/client.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, rawToken, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const server = serverPool();
const authServer = (extra: Record<string, string> = {}): Promise<TestServer> =>
  server({ identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET, ...extra }), pingIntervalMs: 200 });

async function refused(s: TestServer, url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    const c = await TestClient.connect(url, { headers });
    c.close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

const withToken = (s: TestServer, token: string): string => `${s.wsUrl}?access_token=${encodeURIComponent(token)}`;

test('anonymous mode: one warning at start that authentication is off, and sockets open without a token', async () => {
  const s = await server();
  assert.equal(s.logs.filter((l) => l.level === 'warn' && /authentication is off/.test(l.msg)).length, 1);
  const c = await TestClient.connect(s.wsUrl);
  c.close();
});

test('TRUST_PROXY on: one warning at start that the service must be reachable only through the proxy; off: none', async () => {
  const behind = await server({ trustProxy: true });
  assert.equal(behind.logs.filter((l) => l.level === 'warn' && /TRUST_PROXY is on/.test(l.msg)).length, 1);
  const direct = await server();
  assert.equal(direct.logs.filter((l) => /TRUST_PROXY/.test(l.msg)).length, 0);
});

test('a good token opens the socket from the header or the access_token parameter; the name is the token\'s', async () => {
  const s = await authServer();
  const token = await hs256({ sub: 'u-alice', name: 'Alice' });
  const byHeader = await TestClient.connect(s.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
  const welcome = await byHeader.nextOf('welcome');
  assert.deepEqual({ name: welcome.name, user: welcome.user, room: welcome.room }, { name: 'Alice', user: 'u-alice', room: 'lobby' });
  const byQuery = await TestClient.connect(withToken(s, token));
  assert.equal((await byQuery.nextOf('welcome')).name, 'Alice');
  byHeader.close();
  byQuery.close();
});

test('the catalogue of bad tokens: each gets 401, one log line with its reason, a counter; a witness carries on', async () => {
  const s = await authServer({ AUTH_ISSUER: 'https://issuer.test/', AUTH_AUDIENCE: 'socketship' });
  const good = { sub: 'u-1', iss: 'https://issuer.test/', aud: 'socketship' };
  const witness = await TestClient.connect(withToken(s, await hs256({ ...good, sub: 'witness' })));
  await witness.nextOf('welcome');
  const now = Math.floor(Date.now() / 1000);
  const valid = await hs256(good);
  const cases: { what: string; token: string | undefined; reason: string; header?: boolean }[] = [
    { what: 'no token', token: undefined, reason: 'token_missing' },
    { what: 'empty Bearer', token: '', reason: 'token_missing', header: true },
    { what: 'not a JWT', token: 'abc', reason: 'token_malformed' },
    { what: 'not base64', token: '!!!.###.$$$', reason: 'token_malformed' },
    { what: 'truncated', token: valid.slice(0, valid.length - 10), reason: 'token_malformed' },
    { what: 'huge', token: `${valid}${'A'.repeat(9000)}`, reason: 'token_malformed' },
    { what: 'signed with another secret', token: await hs256(good, 300, 'another-secret-that-is-long-enough-123456'), reason: 'token_signature' },
    { what: 'expired beyond the skew', token: await hs256(good, -120), reason: 'token_expired' },
    { what: 'not yet valid', token: await hs256({ ...good, nbf: now + 600 }), reason: 'token_not_yet_valid' },
    { what: 'wrong issuer', token: await hs256({ ...good, iss: 'https://evil.test/' }), reason: 'token_issuer' },
    { what: 'wrong audience', token: await hs256({ ...good, aud: 'other' }), reason: 'token_audience' },
    { what: 'alg none', token: rawToken({ alg: 'none', typ: 'JWT' }, { ...good, exp: now + 300 }), reason: 'token_algorithm' },
    { what: 'alg RS256 with no JWKS configured', token: rawToken({ alg: 'RS256', typ: 'JWT' }, { ...good, exp: now + 300 }, 'c2ln'), reason: 'token_algorithm' },
    { what: 'wrong typ', token: await hs256(good, 300, SECRET, { typ: 'secevent+jwt' }), reason: 'token_malformed' },
    { what: 'exp as a string', token: await hs256({ ...good, exp: String(now + 300) as unknown as number }), reason: 'token_claims' },
    { what: 'no exp', token: await hs256(good, null), reason: 'token_claims' },
    { what: 'no sub', token: await hs256({ iss: good.iss, aud: good.aud }), reason: 'token_claims' },
    { what: 'rooms not a list', token: await hs256({ ...good, rooms: 'lobby' }), reason: 'token_claims' },
    { what: 'rooms with a bad pattern', token: await hs256({ ...good, rooms: ['a*b'] }), reason: 'token_claims' },
    { what: 'name with control characters', token: await hs256({ ...good, name: 'a\u0007b' }), reason: 'token_claims' },
  ];
  const used: string[] = [];
  for (const c of cases) {
    if (c.token) used.push(c.token);
    const status = c.header ? await refused(s, s.wsUrl, { Authorization: `Bearer ${c.token ?? ''}` }) : await refused(s, c.token === undefined ? s.wsUrl : withToken(s, c.token));
    assert.equal(status, 401, c.what);
    await eventually(() => s.logs.some((l) => l.msg === 'upgrade refused' && l.reason === c.reason), 2000, `${c.what}: a log line with reason ${c.reason}`);
  }
  const metrics = await fetchMetrics(s);
  for (const reason of new Set(cases.map((c) => c.reason))) {
    assert.equal(metricValue(metrics, 'ws_upgrades_rejected_total', { reason }), cases.filter((c) => c.reason === reason).length, reason);
  }
  const logText = JSON.stringify(s.logs);
  for (const token of used.filter((t) => t.length > 8)) assert.ok(!logText.includes(token.split('.')[2] || token), 'a token reached the logs');
  assert.equal(s.logs.filter((l) => l.msg === 'upgrade refused').every((l) => !String(l.url).includes('eyJ')), true, 'the logged URL has the token masked');
  // The witness was never disturbed.
  witness.send({ type: 'say', text: 'still here' });
  assert.equal((await witness.nextOf('message', 2000, (m) => m.text === 'still here')).from, 'witness');
  witness.close();
});

test('a token within the clock skew (expired 10 s ago) is accepted, then closed at once with 4001', async () => {
  const s = await authServer();
  const c = await TestClient.connect(withToken(s, await hs256({ sub: 'skewed' }, -10)));
  assert.deepEqual(await c.closed, { code: 4001, reason: 'Token expired' });
});

test('no impersonation: a join cannot change the token\'s name', async () => {
  const s = await authServer();
  const c = await TestClient.connect(withToken(s, await hs256({ sub: 'u-bob', name: 'Bob' })));
  await c.nextOf('welcome');
  c.send({ type: 'join', room: 'imp', name: 'Mallory' });
  assert.equal((await c.nextOf('welcome', 2000, (w) => w.room === 'imp')).name, 'Bob');
  c.send({ type: 'say', text: 'who am i' });
  assert.equal((await c.nextOf('message')).from, 'Bob');
  c.close();
});

test('rooms: exact names and prefix-* patterns; a forbidden join answers error and the socket stays where it was', async () => {
  const s = await authServer();
  const c = await TestClient.connect(withToken(s, await hs256({ sub: 'u-carol', rooms: ['lobby', 'team-*'] })));
  await c.nextOf('welcome');
  c.send({ type: 'join', room: 'team-red', name: 'x' });
  await c.nextOf('welcome', 2000, (w) => w.room === 'team-red');
  c.send({ type: 'join', room: 'secret', name: 'x' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'forbidden', room: 'secret' });
  c.send({ type: 'say', text: 'still in team-red' });
  assert.equal((await c.nextOf('message')).room, 'team-red');
  assert.ok(s.logs.some((l) => l.msg === 'request refused' && l.reason === 'forbidden' && l.room === 'secret'));
  c.close();
});

test('a user who may not enter lobby starts in no room: welcome says room null, a say answers not_in_room', async () => {
  const s = await authServer();
  const c = await TestClient.connect(withToken(s, await hs256({ sub: 'u-dan', rooms: ['ops'] })));
  assert.equal((await c.nextOf('welcome')).room, null);
  c.send({ type: 'say', text: 'hello?' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'not_in_room' });
  c.send({ type: 'join', room: 'ops', name: 'x' });
  await c.nextOf('welcome', 2000, (w) => w.room === 'ops');
  c.close();
});

test('a token that expires while the socket is open closes it with 4001 Token expired; others stay', async () => {
  const s = await authServer();
  const other = await TestClient.connect(withToken(s, await hs256({ sub: 'stays' })));
  const started = Date.now();
  const short = await TestClient.connect(withToken(s, await hs256({ sub: 'short' }, 2)));
  const closed = await Promise.race([short.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no 4001 within 5 s')), 5000))]);
  assert.deepEqual(closed, { code: 4001, reason: 'Token expired' });
  assert.ok(Date.now() - started >= 900, 'not before the token expired');
  assert.equal(metricValue(await fetchMetrics(s), 'ws_closes_total', { code: '4001', by: 'server' }), 1);
  other.send({ type: 'say', text: 'unaffected' });
  await other.nextOf('message', 2000, (m) => m.text === 'unaffected');
  other.close();
});

test('npm run token mints a token the server accepts, with the name and rooms asked for', async () => {
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['scripts/token.ts', '--sub', 'alice', '--name', 'Alice', '--rooms', 'lobby,team-*', '--ttl', '1h'], { env: { ...process.env, AUTH_JWT_SECRET: SECRET }, timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
  );
  const s = await authServer();
  const c = await TestClient.connect(withToken(s, out));
  assert.deepEqual(await c.nextOf('welcome').then((w) => [w.user, w.name]), ['alice', 'Alice']);
  c.send({ type: 'join', room: 'team-x', name: 'x' });
  await c.nextOf('welcome', 2000, (w) => w.room === 'team-x');
  c.send({ type: 'join', room: 'other', name: 'x' });
  assert.equal((await c.nextOf('error')).reason, 'forbidden');
  c.close();
});
