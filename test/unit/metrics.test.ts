// Every metric is made in src/metrics/ under one prefix, and the text it serves says what
// happened: a dashboard or alert rule written against the names keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMetrics } from '../../src/metrics/metrics.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('every metric of the service carries the prefix it is made with', async () => {
  const metrics = createMetrics({ prefix: 'test_', processMetrics: false });
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.length >= 15, `${names.length} metrics`);
  assert.deepEqual(names.filter((n) => !n.startsWith('test_')), []);
});

test('metrics are made in src/metrics/ only (telemetry bridges them, it makes none of its own)', () => {
  const makers = files(SRC)
    .filter((f) => !relative(SRC, f).startsWith('metrics/'))
    .filter((f) => /new (Counter|Gauge|Histogram|Summary)\(/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(SRC, f));
  assert.deepEqual(makers, []);
});

test('http refusals, API requests and readiness are counted under their names', async () => {
  const metrics = createMetrics({ processMetrics: false });
  let ready = true;
  metrics.reportReadiness(() => ready);
  metrics.httpRefused('method');
  metrics.apiRequest('publish', 201);
  const first = await metrics.registry.metrics();
  assert.match(first, /^ws_http_refused_total\{reason="method"\} 1$/m);
  assert.match(first, /^ws_api_requests_total\{route="publish",status="201"\} 1$/m);
  assert.match(first, /^ws_ready 1$/m);
  ready = false;
  assert.match(await metrics.registry.metrics(), /^ws_ready 0$/m);
});

test("closes are counted by code and by who chose it; a peer's codes outside the server's table as `other`", async () => {
  const metrics = createMetrics({ processMetrics: false });
  for (const [code, by] of [[4000, 'server'], [4000, 'client'], [1006, 'network'], [1005, 'client'], [4999, 'client'], [3000, 'client'], [1012, 'client']] as const) {
    metrics.connectionOpened();
    metrics.closed(code, by);
  }
  const text = await metrics.registry.metrics();
  const series = [...text.matchAll(/^ws_closes_total\{(.*)\} (\d+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  assert.deepEqual(series, ['code="1005",by="client" 1', 'code="1006",by="network" 1', 'code="4000",by="client" 1', 'code="4000",by="server" 1', 'code="other",by="client" 3']);
  assert.match(text, /^ws_connections_open 0$/m);
});

test('JWKS fetches are counted by outcome; the staleness of the keys in use is read at scrape time', async () => {
  const metrics = createMetrics({ processMetrics: false });
  assert.match(await metrics.registry.metrics(), /^ws_jwks_stale_seconds 0$/m);
  let stale = 0;
  metrics.reportJwksStaleness(() => stale);
  metrics.jwksFetch('ok');
  metrics.jwksFetch('http_error');
  metrics.jwksFetch('http_error');
  stale = 12.5;
  const text = await metrics.registry.metrics();
  assert.match(text, /^ws_jwks_fetches_total\{outcome="ok"\} 1$/m);
  assert.match(text, /^ws_jwks_fetches_total\{outcome="http_error"\} 2$/m);
  assert.match(text, /^ws_jwks_stale_seconds 12.5$/m);
});
