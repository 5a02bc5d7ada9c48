// Hostile-input catalogue: plain HTTP connections past MAX_HTTP_CONNECTIONS (issue 22). A probe
// held 500 descriptors with 500 slow requests. Now the cap's worth of silent, half-sent and idle
// keep-alive connections is all a client gets: the next connection is answered 503 at once and
// closed, counted, and logged once per burst. WebSockets stop counting once upgraded (MAX_CONNECTIONS
// caps those), so the witness pair chats throughout; an upgrade still waiting for its token check
// does count, being a plain HTTP connection until it completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseIdentityConfig } from '../../../src/config/identity.ts';
import { within } from '../../helpers/bounded.ts';
import { TestClient } from '../../helpers/client.ts';
import { rawHttp, statusOf, upgradeRequest, Witness } from '../../helpers/hostile.ts';
import { headerOf, hold, metric, serverConnections, untilServerHolds, type Held } from '../../helpers/raw-socket.ts';
import { eventually, serverPool, type TestServer } from '../../helpers/server.ts';
import { rawToken } from '../../helpers/tokens.ts';
import { REFUSED_LINGER_MS } from '../../../src/http/connections.ts';

const CAP = 20;
const server = serverPool({ maxHttpConnections: CAP });
const HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
const refusedCount = (s: TestServer): Promise<number> => metric(s, 'ws_http_refused_total', { reason: 'http_connections' });
const refusedLines = (s: TestServer) => s.logs.filter((l) => l.msg === 'request refused' && l.reason === 'http_connections');

/** A new connection's answer and how long it took the server to answer and hang up. */
async function knock(s: TestServer, request = HEALTHZ): Promise<{ response: string; ms: number }> {
  const started = performance.now();
  const response = await rawHttp(s.port, request, 3000);
  return { response, ms: performance.now() - started };
}

function assertRefused(answer: { response: string; ms: number }, what: string): void {
  assert.equal(statusOf(answer.response), 503, `${what}: ${JSON.stringify(answer.response.slice(0, 120))}`);
  assert.equal(headerOf(answer.response, 'Retry-After'), '1', what);
  assert.equal(headerOf(answer.response, 'Connection'), 'close', what);
  // rawHttp resolves when the server has closed the connection: at once, not after a timeout.
  assert.ok(answer.ms < 1000, `${what}: answered and closed in ${Math.round(answer.ms)} ms`);
}

test('past MAX_HTTP_CONNECTIONS a new connection gets 503 at once, counted, one log line a burst; upgraded WebSockets never count', async (t) => {
  const s = await server({ refusalLogPerSec: 1 });
  const witness = await Witness.start(s);
  let witnessStopped = false;
  // More WebSockets than the HTTP cap, opened one at a time: each stops counting once upgraded.
  const sockets: TestClient[] = [];
  const held: Held[] = [];
  // Even when an assertion fails, nothing is left for the server's stop to wait for.
  t.after(async () => {
    for (const h of held) h.socket.destroy();
    for (const c of sockets) c.ws.terminate();
    if (!witnessStopped) await witness.stop().catch(() => {});
  });
  for (let i = 0; i < CAP + 2; i++) sockets.push(await within(TestClient.connect(s.wsUrl), 3000, `WebSocket ${i}`));
  const webSockets = sockets.length + 2;
  assert.equal(statusOf((await knock(s)).response), 200, '/healthz with more WebSockets open than MAX_HTTP_CONNECTIONS');
  await untilServerHolds(s, webSockets, 'the probe connection to go');

  // The cap's worth: silent, half a request, and idle keep-alive sockets after an answered request.
  for (let i = 0; i < CAP; i++) {
    const first = ['', 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'][i % 3] ?? '';
    held.push(await hold(s.port, first));
  }
  await untilServerHolds(s, webSockets + CAP, 'the held connections to be accepted');
  for (const [i, h] of held.entries()) {
    if (i % 3 === 2) await eventually(() => statusOf(h.received()) === 200, 3000, 'the keep-alive request to be answered');
  }

  const before = await refusedCount(s);
  const linesBefore = refusedLines(s).length;
  const logStart = s.logs.length;
  const burst = await Promise.all([...Array.from({ length: 5 }, () => knock(s)), knock(s, upgradeRequest('/ws', { Host: '127.0.0.1' }))]);
  burst.forEach((answer, i) => assertRefused(answer, i === 5 ? 'an upgrade, which looks like any connection until its headers are read' : `plain connection ${i}`));
  assert.equal((await refusedCount(s)) - before, 6, 'every refusal is counted');
  assert.equal(refusedLines(s).length - linesBefore, 1, 'one log line for the burst (REFUSAL_LOG_PER_SEC=1)');
  const line = refusedLines(s).at(-1);
  assert.equal(line?.status, 503);
  assert.equal(line?.max, CAP);
  // A refused connection is served nothing: its request reaches neither the handler nor the gateway.
  assert.deepEqual(s.logs.slice(logStart).filter((l) => l.msg === 'http request' || l.msg === 'upgrade refused'), []);
  await witness.probe('while the HTTP cap is full');
  // The held connections are untouched by the refusals: none closed, none answered anything new.
  assert.ok(held.every((h) => !h.socket.destroyed), 'a held connection was closed');
  assert.equal(held.filter((h, i) => i % 3 !== 2 && h.received() !== '').length, 0);

  for (const h of held) h.socket.destroy();
  await untilServerHolds(s, webSockets, 'the held connections to be gone');
  assert.equal(statusOf((await knock(s)).response), 200, '/healthz from a fresh connection once the slow ones are gone');
  const late = await within(TestClient.connect(s.wsUrl), 3000, 'a new WebSocket after the flood');
  await late.nextOf('welcome');
  late.close();
  for (const c of sockets) c.close();
  await witness.stop();
  witnessStopped = true;
});

test('an upgrade waiting for its token check holds a plain HTTP connection until it is answered', async () => {
  // An identity provider that never answers: each upgrade waits for the JWKS until its timeout.
  const provider: Server = createServer(() => {});
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/jwks`;
  const identity = parseIdentityConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: 'https://issuer.test', AUTH_AUDIENCE: 'socketship' });
  const s = await server({ identity, maxHttpConnections: 3 }, { jwksTimings: { timeoutMs: 1500 } });
  const token = rawToken({ alg: 'RS256', typ: 'JWT', kid: 'k1' }, { sub: 'u', iss: 'https://issuer.test', aud: 'socketship', exp: Math.floor(Date.now() / 1000) + 300 }, 'c2ln');
  try {
    const pending = Array.from({ length: 3 }, () => rawHttp(s.port, upgradeRequest('/ws', { Host: '127.0.0.1', Authorization: `Bearer ${token}` }), 5000));
    await untilServerHolds(s, 3, 'the upgrades to be waiting');
    assertRefused(await knock(s), 'a connection while upgrades wait for their tokens');
    // The provider's timeout answers them (503), and their connections are free again.
    for (const answer of await Promise.all(pending)) assert.equal(statusOf(answer), 503);
    assert.equal(await metric(s, 'ws_upgrades_rejected_total', { reason: 'jwks_unavailable' }), 3);
    await untilServerHolds(s, 0, 'the refused upgrades to be closed');
    assert.equal(statusOf((await knock(s)).response), 200);
  } finally {
    provider.closeAllConnections();
    provider.close();
  }
});

test('an idle keep-alive connection holds its slot only until keepAliveTimeout (5 s)', async (t) => {
  const s = await server({ maxHttpConnections: 1 });
  const idle = await hold(s.port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  t.after(() => idle.socket.destroy());
  await eventually(() => statusOf(idle.received()) === 200, 3000, 'the keep-alive answer');
  const answered = performance.now();
  assertRefused(await knock(s), 'a connection while the only slot is an idle keep-alive socket');
  const closedAt = await within(idle.closed, 8000, 'the server to close the idle keep-alive socket');
  const idleMs = closedAt - answered;
  assert.ok(idleMs > 4000 && idleMs < 7000, `closed after ${Math.round(idleMs)} ms idle`);
  await untilServerHolds(s, 0, 'the idle socket to be gone');
  assert.equal(statusOf((await knock(s)).response), 200);
});

test('refused clients that never hang up are closed after 1 s, and no more of them linger than the cap', async (t) => {
  const s = await server({ maxHttpConnections: 1 });
  const occupant = await hold(s.port);
  await untilServerHolds(s, 1, 'the occupant to be accepted');
  const stubborn = await hold(s.port, HEALTHZ, true);
  const connected = performance.now();
  t.after(() => {
    occupant.socket.destroy();
    stubborn.socket.destroy();
  });
  await eventually(() => statusOf(stubborn.received()) === 503, 2000, 'the 503');
  // One refused socket lingers already (as many as the cap): the next is closed without an answer.
  const next = await knock(s);
  assert.equal(next.response, '');
  assert.ok(next.ms < 1000);
  assert.equal(await refusedCount(s), 2, 'both refusals counted');
  // The client keeps its half open, so the server's side is what shows the close.
  await eventually(async () => (await serverConnections(s)) === 1, REFUSED_LINGER_MS + 1000, 'the lingering socket to be closed');
  const closedMs = performance.now() - connected;
  assert.ok(closedMs >= REFUSED_LINGER_MS - 100, `closed after ${Math.round(closedMs)} ms`);
  assert.equal(occupant.socket.destroyed, false, 'the occupant is not touched');
});
