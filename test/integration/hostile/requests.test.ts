// Hostile-input catalogue, part 3: HTTP and handshake abuse (slowloris, header and URL floods,
// malformed requests, bad handshakes, methods, origin and host tricks, traversal), the connection
// cap and half-open sockets. Each gets its status or close code, a warning and a counted reason;
// the witness pair in the room hears every message meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../../helpers/client.ts';
import { attacker, httpStatus, runKind, upgradeRequest, Witness, type Kind, type Outcome } from '../../helpers/hostile.ts';
import { fetchMetrics, metricValue, serverPool, type TestServer } from '../../helpers/server.ts';
import { parseIdentityConfig } from '../../../src/config/identity.ts';

const HEADERS_TIMEOUT_MS = 500;
const MAX_CONNECTIONS = 5; // the witness holds 2
const server = serverPool({
  pingIntervalMs: 100,
  pongTimeoutMs: 400,
  maxConnections: MAX_CONNECTIONS,
  refusalLogPerSec: 1000,
  allowedHosts: new Set(['127.0.0.1', 'localhost']),
});

const httpRefused = (status: number, reason: string): Kind['expect'] => ({
  status,
  log: { msg: 'request refused', status, reason },
  metric: { name: 'ws_http_refused_total', labels: { reason }, by: 1 },
});
const upgradeRefused = (status: number, reason: string): Kind['expect'] => ({
  status,
  log: { msg: 'upgrade refused', status, reason },
  metric: { name: 'ws_upgrades_rejected_total', labels: { reason }, by: 1 },
});
const request = (text: string | Buffer) => (s: TestServer) => httpStatus(s, text);
const upgrade = (headers: Record<string, string>, path = '/ws', method = 'GET') => request(upgradeRequest(path, headers, method));
const get = (path: string, headers = 'Host: localhost\r\n', method = 'GET') => request(`${method} ${path} HTTP/1.1\r\n${headers}\r\n`);

/** Sends the first bytes of a request, then nothing: the server must answer 408 and hang up. */
const slowloris = (first: string) => (s: TestServer) => httpStatus(s, (socket) => socket.write(first), HEADERS_TIMEOUT_MS + 3000);

const REQUEST_KINDS: Kind[] = [
  { name: 'slowloris: headers that never end', attack: slowloris('GET / HTTP/1.1\r\nHost: localhost\r\nX-a: b\r\n'), expect: httpRefused(408, 'timeout') },
  { name: 'slowloris on the upgrade', attack: slowloris(upgradeRequest().slice(0, 60)), expect: httpRefused(408, 'timeout') },
  { name: 'a connection that never sends a byte', attack: slowloris(''), expect: httpRefused(408, 'timeout') },
  { name: 'header flood (one 20 kB header)', attack: get('/', `Host: localhost\r\nX-Flood: ${'a'.repeat(20_000)}\r\n`), expect: httpRefused(431, 'headers_too_large') },
  { name: 'header flood (many headers)', attack: get('/', `Host: localhost\r\n${'X-F: aaaaaaaaaaaaaaaa\r\n'.repeat(1500)}`), expect: httpRefused(431, 'headers_too_large') },
  { name: 'URL flood (20 kB path)', attack: get(`/${'a'.repeat(20_000)}`), expect: httpRefused(431, 'headers_too_large') },
  { name: 'malformed request line', attack: request('HELLO THERE\r\n\r\n'), expect: httpRefused(400, 'bad_request') },
  { name: 'CONNECT (proxy abuse)', attack: request('CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n'), expect: httpRefused(405, 'method') },
  { name: 'TRACE', attack: get('/', 'Host: localhost\r\n', 'TRACE'), expect: httpRefused(405, 'method') },
  { name: 'DELETE', attack: get('/healthz', 'Host: localhost\r\n', 'DELETE'), expect: httpRefused(405, 'method') },
  { name: 'DNS rebinding: GET under a foreign Host', attack: get('/', 'Host: rebind.evil.example\r\n'), expect: httpRefused(421, 'host') },
  { name: 'Host spoofed through X-Forwarded-Host without TRUST_PROXY', attack: get('/', 'Host: evil.example\r\nX-Forwarded-Host: localhost\r\n'), expect: httpRefused(421, 'host') },
  { name: 'DNS rebinding: upgrade under a foreign Host', attack: upgrade({ Host: 'rebind.evil.example', Origin: 'http://rebind.evil.example' }), expect: upgradeRefused(421, 'host') },
  { name: 'upgrade without Sec-WebSocket-Key', attack: upgrade({ 'Sec-WebSocket-Key': '' }), expect: upgradeRefused(400, 'handshake') },
  { name: 'upgrade with a malformed key', attack: upgrade({ 'Sec-WebSocket-Key': 'not-a-key' }), expect: upgradeRefused(400, 'handshake') },
  { name: 'upgrade to something else than websocket', attack: upgrade({ Upgrade: 'h2c' }), expect: upgradeRefused(400, 'handshake') },
  { name: 'upgrade with a malformed subprotocol list', attack: upgrade({ 'Sec-WebSocket-Protocol': 'a,,b' }), expect: upgradeRefused(400, 'handshake') },
  { name: 'upgrade without a version', attack: upgrade({ 'Sec-WebSocket-Version': '' }), expect: upgradeRefused(400, 'version') },
  {
    name: 'version 8 with a foreign Sec-WebSocket-Origin',
    attack: upgrade({ 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': 'https://evil.example' }),
    expect: upgradeRefused(400, 'version'),
  },
  { name: 'upgrade by POST', attack: upgrade({}, '/ws', 'POST'), expect: upgradeRefused(405, 'method') },
  { name: 'foreign Origin', attack: upgrade({ Origin: 'https://evil.example' }), expect: upgradeRefused(403, 'origin') },
  {
    name: 'foreign Origin with a matching X-Forwarded-Host, TRUST_PROXY off',
    attack: upgrade({ Origin: 'https://evil.example', 'X-Forwarded-Host': 'evil.example' }),
    expect: upgradeRefused(403, 'origin'),
  },
  { name: "Origin 'null' (sandboxed page)", attack: upgrade({ Origin: 'null' }), expect: upgradeRefused(403, 'origin') },
  { name: 'traversal in the upgrade path', attack: upgrade({}, '/static/../ws'), expect: upgradeRefused(404, 'not_found') },
  { name: 'encoded traversal in the upgrade path', attack: upgrade({}, '/%2e%2e/ws'), expect: upgradeRefused(404, 'not_found') },
  {
    name: 'connection cap',
    attack: async (s): Promise<Outcome> => {
      const held: TestClient[] = [];
      for (let i = 0; i < MAX_CONNECTIONS - 2; i++) held.push(await attacker(s));
      const out = await httpStatus(s, upgradeRequest('/ws', { Host: '127.0.0.1' }));
      for (const c of held) {
        c.ws.close(1000);
        await c.closed;
      }
      return out;
    },
    expect: upgradeRefused(503, 'capacity'),
  },
  {
    name: 'half-open: a socket that never answers a ping',
    attack: async (s) => ({ close: await (await attacker(s)).closed }),
    expect: { close: { code: 4000, reason: 'Pong timeout' }, log: { msg: 'socket closed', level: 'info', code: 4000, by: 'server' }, metric: { name: 'ws_closes_total', labels: { code: '4000', by: 'server' }, by: 1 } },
  },
];

test(`hostile requests: ${REQUEST_KINDS.length} kinds, each answered, logged and counted, the witness unharmed`, async (t) => {
  const s = await server({}, { headersTimeoutMs: HEADERS_TIMEOUT_MS });
  const witness = await Witness.start(s);
  for (const kind of REQUEST_KINDS) await t.test(kind.name, () => runKind(s, witness, kind));
  await witness.stop();
});

test('refusal warnings are rate-limited: a flood is counted whole, logged at REFUSAL_LOG_PER_SEC', async () => {
  const s = await server({ refusalLogPerSec: 3 });
  const answers = await Promise.all(Array.from({ length: 30 }, () => httpStatus(s, upgradeRequest('/ws', { Host: '127.0.0.1', Origin: 'https://evil.example' }))));
  assert.ok(answers.every((a) => a.status === 403));
  const warned = s.logs.filter((l) => l.msg === 'upgrade refused');
  assert.ok(warned.length >= 3 && warned.length <= 6, `${warned.length} warnings for 30 refusals within about a second`);
});

test('probes and /metrics answer under any Host (health checkers and Prometheus come by IP); the page does not', async () => {
  const s = await server();
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const res = await httpStatus(s, `GET ${path} HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 200, path);
  }
  assert.equal((await httpStatus(s, 'GET / HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nConnection: close\r\n\r\n')).status, 421);
});

test('two Host headers are refused with 400 (RFC 9112), on plain requests and upgrades alike; counted and logged', async () => {
  const s = await server();
  const plain = await httpStatus(s, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
  assert.equal(plain.status, 400);
  const upgrade = await httpStatus(s, upgradeRequest('/ws', { Host: '127.0.0.1' }).replace('\r\n\r\n', '\r\nHost: evil.example\r\n\r\n'));
  assert.equal(upgrade.status, 400);
  const text = await fetchMetrics(s);
  assert.equal(metricValue(text, 'ws_http_refused_total', { reason: 'bad_request' }), 1);
  assert.equal(metricValue(text, 'ws_upgrades_rejected_total', { reason: 'host' }), 1);
  assert.ok(s.logs.some((l) => l.msg === 'upgrade refused' && l.reason === 'host'));
});

test('refusals that keep a socket open are rate-limited too: a flood of forbidden subscribes is counted whole, logged at REFUSAL_LOG_PER_SEC', async () => {
  const s = await server({ refusalLogPerSec: 3, rateLimitPerSec: 1000 });
  const c = await TestClient.connect(s.wsUrl);
  await c.nextOf('welcome');
  for (let i = 0; i < 50; i++) c.send({ type: 'subscribe', room: '@me' });
  for (let i = 0; i < 50; i++) await c.nextOf('error');
  const warned = s.logs.filter((l) => l.msg === 'request refused');
  assert.ok(warned.length >= 3 && warned.length <= 6, `${warned.length} warnings for 50 denials`);
  assert.equal(metricValue(await fetchMetrics(s), 'ws_messages_out_total', { type: 'error' }), 50);
  c.close();
});

test('the server API\'s refusals are rate-limited: 100 keyless calls are counted whole, logged at REFUSAL_LOG_PER_SEC', async () => {
  const s = await server({ refusalLogPerSec: 3, identity: parseIdentityConfig({ API_KEY: 'k'.repeat(40) }) });
  const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(`${s.url}/api/rooms/lobby/presence`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status)));
  assert.ok(answers.every((a) => a === 401 || a === 429), String(new Set(answers)));
  const warned = s.logs.filter((l) => l.msg === 'api request refused');
  assert.ok(warned.length >= 3 && warned.length <= 6, `${warned.length} warnings for 100 refused calls`);
  const text = await fetchMetrics(s);
  assert.equal(metricValue(text, 'ws_api_requests_total', { status: '401' }) + metricValue(text, 'ws_api_requests_total', { status: '429' }), 100);
});
