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
