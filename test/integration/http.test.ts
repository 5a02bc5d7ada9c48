import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { TestClient } from '../helpers/client.ts';
import { eventually, fetchMetrics, metricValue, serverPool, startServer } from '../helpers/server.ts';
import { tcpSocketOf } from '../../src/realtime/ws-internals.ts';

const server = serverPool({ pingIntervalMs: 1000 });

/** A raw request, so the path reaches the server exactly as written (fetch would normalise `..`). */
function raw(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET / serves the client page with security headers and caching validators', async () => {
  const s = await server();
  const res = await raw(s.port, '/');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.equal(res.body, await readFile(new URL('../../public/index.html', import.meta.url), 'utf8'));
  const csp = String(res.headers['content-security-policy']);
  for (const directive of ["script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), directive);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.ok(res.headers['referrer-policy']);
  assert.ok(res.headers.etag, 'ETag');
  assert.ok(res.headers['last-modified'], 'Last-Modified');

  const again = await raw(s.port, '/', 'GET', { 'If-None-Match': String(res.headers.etag) });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
});

test('static files have their content types; HEAD has headers and no body', async () => {
  const s = await server();
  assert.match(String((await raw(s.port, '/app.js')).headers['content-type']), /javascript/);
  assert.match(String((await raw(s.port, '/style.css')).headers['content-type']), /^text\/css/);
  const get = await raw(s.port, '/app.js');
  const head = await raw(s.port, '/app.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], get.headers['content-length']);
});

test('other methods get 405 with Allow; missing files 404', async () => {
  const s = await server();
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const res = await raw(s.port, '/', method);
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.allow, 'GET, HEAD');
  }
  assert.equal((await raw(s.port, '/nope.html')).status, 404);
  assert.equal((await raw(s.port, '/healthz', 'POST')).status, 405);
});

test('no path reaches outside public/', async () => {
  const s = await server();
  const secret = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  for (const path of [
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E%2Fpackage.json',
    '/..%2fpackage.json',
    '/..%5cpackage.json',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    '/.%2e/.%2e/etc/passwd',
    '/public/../package.json',
    '/app.js/../../package.json',
    '/%00../package.json',
  ]) {
    const res = await raw(s.port, path);
    assert.ok(res.status === 404 || res.status === 400, `${path} -> ${res.status}`);
    assert.ok(!res.body.includes('"dependencies"') && !res.body.includes('root:'), `${path} leaked a file`);
  }
  assert.ok(secret.includes('"dependencies"'), 'the probe would have recognised the file');
});

test('/healthz is 200 ok; /readyz is 200 with the open connection count', async () => {
  const s = await server();
  const health = await fetch(`${s.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  assert.deepEqual(await (await fetch(`${s.url}/readyz`)).json(), { status: 'ready', connections: 0 });
  const c = await TestClient.connect(s.wsUrl);
  assert.deepEqual(await (await fetch(`${s.url}/readyz`)).json(), { status: 'ready', connections: 1 });
  c.close();
  assert.ok(!s.logs.some((l) => l.level === 'info' && String(l.url ?? '').includes('healthz')), 'probes are not logged at info');
});

test('/metrics is Prometheus text whose values follow sockets opening and closing', async () => {
  const s = await server({ pingIntervalMs: 30 });
  const res = await fetch(`${s.url}/metrics`);
  assert.match(String(res.headers.get('content-type')), /^text\/plain/);
  const before = await res.text();
  for (const name of ['ws_connections_open', 'ws_connections_opened_total', 'ws_closes_total', 'ws_messages_in_total', 'ws_messages_out_total', 'ws_bytes_in_total', 'ws_bytes_out_total', 'ws_ping_rtt_seconds', 'ws_upgrades_rejected_total']) {
    assert.ok(before.includes(`# TYPE ${name}`), name);
  }
  assert.equal(metricValue(before, 'ws_connections_open'), 0);

  const a = await TestClient.connect(s.wsUrl);
  const b = await TestClient.connect(s.wsUrl);
  a.send({ type: 'say', text: 'count me' });
  await b.nextOf('message');
  await b.nextPing();
  let text = await fetchMetrics(s);
  assert.equal(metricValue(text, 'ws_connections_open'), 2);
  assert.equal(metricValue(text, 'ws_connections_opened_total'), 2);
  assert.equal(metricValue(text, 'ws_messages_in_total', { type: 'say' }), 1);
  assert.equal(metricValue(text, 'ws_messages_out_total', { type: 'message' }), 2, 'one per recipient');
  assert.ok(metricValue(text, 'ws_messages_out_total', { type: 'ping' }) >= 2);
  assert.ok(metricValue(text, 'ws_bytes_in_total') > 0);
  assert.ok(metricValue(text, 'ws_bytes_out_total') > 0);

  a.ws.close(1000);
  await a.closed;
  await eventually(async () => metricValue((text = await fetchMetrics(s)), 'ws_connections_open') === 1, 2000);
  assert.equal(metricValue(text, 'ws_closes_total', { code: '1000', by: 'client' }), 1);
  b.close();
});

test('a client that sends its headers too slowly is cut off (slowloris)', async () => {
  const s = await server({}, { headersTimeoutMs: 300 });
  const socket: Socket = connect(s.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => socket.write('X-Slow: 1\r\n'), 100);
  let response = '';
  socket.on('data', (d) => (response += d.toString()));
  const start = Date.now();
  await new Promise((r) => socket.once('close', r));
  clearInterval(trickle);
  assert.ok(Date.now() - start < 2500, 'cut off within the headers timeout plus the check interval');
  assert.match(response, /^HTTP\/1\.1 408/);
});

test('shutdown: /readyz turns 503 at once, new upgrades get 503, open sockets get 1001', async () => {
  const s = await startServer({ pingIntervalMs: 1000, shutdownTimeoutMs: 3000 });
  const a = await TestClient.connect(s.wsUrl);
  const stalled = await TestClient.connect(s.wsUrl);
  tcpSocketOf(stalled.ws)!.pause(); // never answers the close: holds the drain open
  const stopping = s.stop();
  assert.deepEqual(await a.closed, { code: 1001, reason: 'Server shutting down' });
  const ready = await raw(s.port, '/readyz');
  assert.equal(ready.status, 503);
  assert.deepEqual(JSON.parse(ready.body), { status: 'not ready', reason: 'shutting down' });
  assert.equal(await TestClient.connect(s.wsUrl).then(() => 101, (e: { status?: number }) => e.status), 503);
  await stopping;
  assert.equal(s.app.server.listening, false);
});

test('/protocol.js gives the browser the server\'s own path and close codes, as a module', async () => {
  const s = await server();
  const res = await raw(s.port, '/protocol.js');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/javascript/);
  const { WS_PATH } = await import('../../src/protocol/path.ts');
  const { NO_RETRY_CODES, CloseCode } = await import('../../src/protocol/close.ts');
  const served = (await import(`data:text/javascript,${encodeURIComponent(res.body)}`)) as Record<string, unknown>;
  assert.equal(served.WS_PATH, WS_PATH);
  assert.deepEqual(served.NO_RETRY_CODES, NO_RETRY_CODES);
  assert.deepEqual(served.CLOSE_CODES, CloseCode);
  const again = await raw(s.port, '/protocol.js', 'GET', { 'If-None-Match': String(res.headers.etag) });
  assert.equal(again.status, 304);
  // The page's own module imports it, rather than keeping a copy.
  assert.match(await readFile(new URL('../../public/app.js', import.meta.url), 'utf8'), /from '\.\/protocol\.js'/);
});

test('ws_ready follows /readyz: 1 while ready, 0 once shutdown begins', async () => {
  const s = await startServer();
  assert.equal(metricValue(await fetchMetrics(s), 'ws_ready'), 1);
  const c = await TestClient.connect(s.wsUrl);
  tcpSocketOf(c.ws)!.pause(); // holds the drain open, so the server still answers meanwhile
  const stopping = s.stop();
  await eventually(async () => (await raw(s.port, '/readyz')).status === 503, 2000, '/readyz to say 503');
  assert.equal(metricValue(await fetchMetrics(s), 'ws_ready'), 0);
  c.ws.terminate();
  await stopping;
});
