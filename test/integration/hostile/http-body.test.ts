// Hostile-input catalogue: request bodies and headers that take too long (issue 22). A body
// trickled a byte every 200 ms used to hold its socket for Node's 30 s request timeout; now it gets
// 408 once HTTP_BODY_TIMEOUT_MS has passed since its headers, and its socket is closed, counted and
// logged, while the witness pair chats on. A body that is slow but in time is served as usual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentityConfig } from '../../../src/config/identity.ts';
import { API_KEY } from '../../helpers/api.ts';
import { within } from '../../helpers/bounded.ts';
import { statusOf, Witness } from '../../helpers/hostile.ts';
import { headerOf, hold, metric, type Held } from '../../helpers/raw-socket.ts';
import { eventually, serverPool, type TestServer } from '../../helpers/server.ts';

const BODY_TIMEOUT_MS = 1000;
/** Timers, the loopback and a busy machine: how late the 408 and the close may come. */
const SLACK_MS = 700;
const server = serverPool({ httpBodyTimeoutMs: BODY_TIMEOUT_MS, identity: parseIdentityConfig({ API_KEY }) });
const BODY = JSON.stringify({ text: 'a message that arrives one byte at a time' });

function post(length: number): string {
  return `POST /api/rooms/lobby/messages HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
}

/** Writes `body` a byte every `everyMs` until it is all sent or the socket is gone. */
function trickle(h: Held, body: string, everyMs: number): { stop(): void; done: Promise<void> } {
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      if (h.socket.destroyed || !h.socket.writable || i >= body.length) return (clearInterval(timer), resolve());
      h.socket.write(body[i++] ?? '');
    }, everyMs);
  });
  return { stop: () => clearInterval(timer), done };
}

const bodyTimeouts = (s: TestServer): Promise<number> => metric(s, 'ws_http_refused_total', { reason: 'body_timeout' });
const timeoutLines = (s: TestServer) => s.logs.filter((l) => l.msg === 'request refused' && l.reason === 'body_timeout');

test('a body trickled a byte every 200 ms gets 408 at HTTP_BODY_TIMEOUT_MS and its socket is closed; counted, logged once', async (t) => {
  const s = await server();
  const witness = await Witness.start(s);
  let witnessStopped = false;
  const h = await hold(s.port, post(BODY.length));
  t.after(async () => {
    h.socket.destroy();
    if (!witnessStopped) await witness.stop().catch(() => {});
  });
  const sentHeaders = performance.now();
  const drip = trickle(h, BODY, 200);
  await eventually(() => statusOf(h.received()) !== 0, BODY_TIMEOUT_MS + SLACK_MS, 'an answer to the trickled body');
  const answeredMs = performance.now() - sentHeaders;
  assert.equal(statusOf(h.received()), 408, h.received());
  assert.equal(headerOf(h.received(), 'Connection'), 'close');
  assert.ok(answeredMs >= BODY_TIMEOUT_MS - 50, `408 after ${Math.round(answeredMs)} ms, before the deadline`);
  const closedAt = await within(h.closed, SLACK_MS, 'the server to close the socket after its 408');
  drip.stop();
  assert.ok(closedAt - sentHeaders < BODY_TIMEOUT_MS + 2 * SLACK_MS);

  await eventually(async () => (await bodyTimeouts(s)) === 1, 2000, 'the body timeout to be counted');
  assert.equal(timeoutLines(s).length, 1);
  assert.equal(timeoutLines(s)[0]?.status, 408);
  assert.equal(timeoutLines(s)[0]?.url, '/api/rooms/lobby/messages');
  // The API, which was waiting for that body, neither answers again nor counts or logs a second refusal.
  assert.equal(s.logs.filter((l) => l.msg === 'api request refused').length, 0);
  assert.equal(await metric(s, 'ws_api_requests_total', { route: 'publish' }), 0);
  await witness.probe('after the trickled body');
  await witness.stop();
  witnessStopped = true;
});

test('a body trickled after an answer (a GET with a body) has its socket closed at the deadline, counted', async (t) => {
  const s = await server();
  const h = await hold(s.port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n');
  t.after(() => h.socket.destroy());
  const sentHeaders = performance.now();
  const drip = trickle(h, 'x'.repeat(100), 200);
  await eventually(() => statusOf(h.received()) === 200, 2000, 'the /healthz answer, which needs no body');
  // Kept alive and still reading the body: nothing more to answer, only the socket to free.
  const closedAt = await within(h.closed, BODY_TIMEOUT_MS + 2 * SLACK_MS, 'the server to close the socket');
  drip.stop();
  assert.ok(closedAt - sentHeaders >= BODY_TIMEOUT_MS - 50, `closed after ${Math.round(closedAt - sentHeaders)} ms`);
  assert.equal(statusOf(h.received().slice(h.received().lastIndexOf('HTTP/1.1'))), 200, 'no second answer');
  assert.equal(await bodyTimeouts(s), 1);
  assert.equal(timeoutLines(s).length, 1);
});

test('a body that is slow but complete within the deadline is served, and the keep-alive socket lives on', async (t) => {
  const s = await server();
  const body = JSON.stringify({ text: 'hi' });
  const h = await hold(s.port, post(body.length));
  t.after(() => h.socket.destroy());
  const drip = trickle(h, body, 40); // ~15 bytes in ~600 ms: slow, in time
  await within(drip.done, 3000, 'the body to be sent');
  await eventually(() => statusOf(h.received()) !== 0, 2000, 'the publish to be answered');
  assert.equal(statusOf(h.received()), 201, h.received());
  // The deadline is cleared with the body: the socket outlives it. (The wait is the assertion: nothing may happen in it.)
  await new Promise((r) => setTimeout(r, BODY_TIMEOUT_MS + 300));
  assert.equal(h.socket.destroyed, false, 'the keep-alive socket was closed after a body that came in time');
  h.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await within(h.closed, 2000, 'the second request to be answered');
  assert.equal(statusOf(h.received().slice(h.received().lastIndexOf('HTTP/1.1'))), 200);
  assert.equal(await bodyTimeouts(s), 0);
});

test('headers that take longer than HTTP_HEADERS_TIMEOUT_MS get 408, counted as timeout', async (t) => {
  const s = await server({ httpHeadersTimeoutMs: 500 });
  const h = await hold(s.port, 'GET / HTTP/1.1\r\nHost: localhost\r\n');
  t.after(() => h.socket.destroy());
  const sent = performance.now();
  // Node checks its timeouts once a second at most (connectionsCheckingInterval): 500 ms, then up to that interval.
  await within(h.closed, 500 + 500 + SLACK_MS + 500, 'the slow headers to be cut off');
  assert.ok(performance.now() - sent >= 450);
  assert.equal(statusOf(h.received()), 408);
  assert.equal(await metric(s, 'ws_http_refused_total', { reason: 'timeout' }), 1);
});
