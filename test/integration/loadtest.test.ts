// npm run loadtest end to end: the real command line (node loadtest/main.ts) against the real
// service on a loopback port, at toy size. It asserts what the summary measures exists and is
// sane (every socket opened, latencies positive and ordered, the server's own counters agree),
// never a timing; and that every refusal is one line with the right exit code, before any load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdentityConfig } from '../../src/config/identity.ts';
import { loadtest, summaryOf, type LoadtestRun } from '../helpers/loadtest.ts';
import { freePort } from '../helpers/ports.ts';
import { fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';

// Pings five times a second with a pong timeout inside the run: a client that did not answer
// `ping` with `pong` would be closed (4000) and the summary would count the close.
const server = serverPool({ pingIntervalMs: 200, pongTimeoutMs: 1500 });
const authServer = (): Promise<TestServer> => server({ identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET }) });

/** A run of 3 s, `connections` sockets (6 unless given), 20 messages/s. */
const small = (s: TestServer, connections: number, ...more: string[]): string[] =>
  ['--url', s.wsUrl, '--connections', String(connections), '--connect-rate', '50', '--rate', '20', '--duration', '3', ...more];

/** A refusal: the exit code, and exactly one line on stderr (nothing on stdout). */
function oneLine(r: LoadtestRun, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0] ?? '', pattern);
}

describe('npm run loadtest', { concurrency: true }, () => {
  test('a short run: every socket opens, echo and broadcast latencies are measured, nothing is closed or lost', async () => {
    const s = await server();
    const r = await loadtest(small(s, 6, '--json'));
    const sum = summaryOf(r);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual({ requested: sum.connect.requested, opened: sum.connect.opened, failed: sum.connect.failed, closed: sum.connect.closed }, { requested: 6, opened: 6, failed: 0, closed: 0 });
    assert.deepEqual(sum.errors, {});
    assert.ok(sum.connect.perSec > 0 && sum.connect.handshakeMs.count === 6 && sum.connect.handshakeMs.p50 > 0);
    const { echo, broadcast, sent, publishers } = sum.messages;
    assert.ok(sent > 10, `sent ${sent}`);
    assert.equal(publishers, 4, '20 messages/s over 5/s publishers');
    assert.deepEqual({ echo: echo.received, broadcast: broadcast.received }, { echo: sent, broadcast: sent * 5 }, 'every copy came back');
    for (const [what, l] of [['echo', echo.latencyMs], ['broadcast', broadcast.latencyMs]] as const) {
      assert.ok(l.count > 0 && l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.max, `${what}: ${JSON.stringify(l)}`);
    }
    assert.equal(sum.ok, true);
    // The server's own counters: the sockets, their joins and the says the summary claims.
    const metrics = await fetchMetrics(s);
    assert.equal(metricValue(metrics, 'ws_connections_opened_total'), 6);
    assert.equal(metricValue(metrics, 'ws_messages_in_total', { type: 'say' }), sent);
    assert.ok(metricValue(metrics, 'ws_messages_in_total', { type: 'pong' }) >= 6, 'the pings were answered');
    assert.ok(r.stderr.split('\n').some((l) => /^loadtest +\d+s\/3s /.test(l)), `a progress line on stderr: ${r.stderr}`);
  });

  test('the summary tables: connect ramp, latency, errors, result', async () => {
    const s = await server();
    const r = await loadtest(small(s, 4, '--room', 'table-test', '--quiet'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', '--quiet: no progress lines');
    assert.match(r.stdout, new RegExp(`^loadtest: ${s.wsUrl}, room table-test, 3 s, 4 connections, 20 messages/s from 4 sockets`));
    assert.match(r.stdout, /\| connections opened \| 4 of 4 \|/);
    assert.match(r.stdout, /\| connects\/s achieved \| \d/);
    assert.match(r.stdout, /\| broadcast \(to the 3 other members\) \| (\d+) of \1 \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \|/);
    assert.match(r.stdout, /\| echo \(own message back\) \| (\d+) of \1 \| [\d.]+ ms/);
    assert.match(r.stdout, /^errors: none$/m);
    assert.match(r.stdout, /^result: ok$/m);
  });

  test('--help prints the usage and exits 0', async () => {
    const r = await loadtest(['--help']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    for (const flag of ['--url', '--token', '--token-command', '--connections', '--connect-rate', '--rate', '--duration', '--room', '--ca', '--resolve', '--json', '--quiet', '--i-know-the-size']) {
      assert.ok(r.stdout.includes(`  ${flag} `), `usage names ${flag}`);
    }
    assert.match(r.stdout, /NODE_EXTRA_CA_CERTS/);
  });

  test('an unknown flag, a bad value, a missing --url or a token in the URL: exit 2 and one line naming it', async () => {
    oneLine(await loadtest(['--url', 'ws://127.0.0.1:1/ws', '--bogus', '3']), 2, /unknown flag --bogus/);
    oneLine(await loadtest(['--url', 'ws://127.0.0.1:1/ws', '--connections', 'ten']), 2, /--connections: expected a whole number .*"ten"/);
    oneLine(await loadtest(['--url', 'ws://127.0.0.1:1/ws', '--rate']), 2, /--rate needs a value/);
    oneLine(await loadtest(['--url', 'http://127.0.0.1:1/ws']), 2, /--url: expected ws:\/\/ or wss:\/\//);
    oneLine(await loadtest(['--connections', '5']), 2, /--url is required/);
    oneLine(await loadtest(['--url', 'ws://127.0.0.1:1/ws?access_token=x']), 2, /--url: no credentials in the URL/);
    oneLine(await loadtest(['--url', 'ws://127.0.0.1:1/ws', '--ca', '/nonexistent/ca.pem']), 2, /--ca: cannot read \/nonexistent\/ca\.pem: ENOENT/);
  });

  test('more than the default load is refused before any connection without --i-know-the-size, and runs with it', async () => {
    const s = await server();
    oneLine(await loadtest(['--url', s.wsUrl, '--connections', '101']), 2, /refusing 101 connections \(limit 100\) without --i-know-the-size/);
    oneLine(await loadtest(['--url', s.wsUrl, '--rate', '51']), 2, /refusing 51 messages\/s \(limit 50\) without --i-know-the-size/);
    oneLine(await loadtest(['--url', s.wsUrl, '--connect-rate', '60']), 2, /refusing 60 connects\/s \(limit 50\)/);
    assert.equal(metricValue(await fetchMetrics(s), 'ws_connections_opened_total'), 0, 'nothing was contacted');
    const r = await loadtest(['--url', s.wsUrl, '--connections', '101', '--connect-rate', '200', '--rate', '5', '--duration', '4', '--json', '--i-know-the-size']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r).connect.opened, 101);
  });

  test('an unreachable URL (a closed loopback port): one line saying what failed, exit 1, at once', async () => {
    const port = await freePort();
    const r = await loadtest(['--url', `ws://127.0.0.1:${port}/ws`, '--duration', '20']);
    oneLine(r, 1, new RegExp(`^loadtest: cannot connect to ws://127\\.0\\.0\\.1:${port}/ws: connect ECONNREFUSED`));
    assert.ok(r.ms < 5000, `stopped after ${r.ms} ms`);
  });

  test('--token-command naming a missing tool: one line, exit 1', async () => {
    oneLine(await loadtest(['--url', 'ws://127.0.0.1:1/ws', '--token-command', 'no-such-token-tool --print']), 1, /--token-command: command not found/);
  });

  test('auth mode: a bad token is counted as HTTP 401 refusals; a good one from --token-command opens every socket', async () => {
    const s = await authServer();
    const bad = await loadtest([...small(s, 3, '--json', '--quiet'), '--token', 'not-a-jwt']);
    assert.equal(bad.code, 1, 'not ok: nothing opened');
    const refused = summaryOf(bad);
    assert.deepEqual({ opened: refused.connect.opened, failed: refused.connect.failed, errors: refused.errors, sent: refused.messages.sent }, { opened: 0, failed: 3, errors: { 'HTTP 401': 3 }, sent: 0 });
    const token = await hs256({ sub: 'loadtest', name: 'Load test' });
    const good = await loadtest([...small(s, 3, '--json', '--quiet'), '--token-command', `printf '%s\\n' '${token}'`]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(summaryOf(good).connect.opened, 3);
    assert.ok(summaryOf(good).messages.echo.received > 0);
  });
});
