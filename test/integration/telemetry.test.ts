// Application Insights telemetry (src/telemetry/) from the real service process, exported by the
// real Azure Monitor exporter to a local stand-in for the ingestion endpoint, whose envelopes the
// test decodes: requests, the service's own metrics, logs correlated with their request. Also:
// the distro is never loaded without the connection string, and a bad one stops start-up.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startService, REPO_ROOT } from '../infra/lib/service.ts';
import type { RunningService } from '../infra/lib/service.ts';
import { TestClient } from '../helpers/client.ts';
import { recordAttributes } from '../../src/telemetry/log-bridge.ts';
import { IKEY, startIngestion, telemetryEnv, type Envelope, type Ingestion } from './telemetry-ingestion.ts';

function metric(e: Envelope): { name: string; value: number } | undefined {
  if (e.data.baseType !== 'MetricData') return undefined;
  const m = (e.data.baseData.metrics as { name: string; value: number }[] | undefined)?.[0];
  return m;
}

function props(e: Envelope): Record<string, string> {
  return (e.data.baseData.properties ?? {}) as Record<string, string>;
}

describe('telemetry to Application Insights (real exporter, local ingestion stand-in)', () => {
  let ingestion: Ingestion;
  let service: RunningService;

  before(async () => {
    ingestion = await startIngestion();
    service = await startService(telemetryEnv(ingestion.port));
  });

  after(async () => {
    await service?.stop();
    await ingestion?.close();
  });

  it('sends a request for each HTTP request, with its status', async () => {
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${service.url}/no-such-page`)).status, 404);
    const healthz = await ingestion.waitFor((e) => e.data.baseType === 'RequestData' && String(e.data.baseData.url).endsWith('/healthz'), 'request for /healthz');
    assert.equal(healthz.data.baseData.responseCode, '200');
    assert.equal(healthz.data.baseData.success, true);
    assert.equal(healthz.iKey, IKEY);
    assert.equal(healthz.tags['ai.cloud.role'], 'socketship-test');
    const missing = await ingestion.waitFor((e) => e.data.baseType === 'RequestData' && String(e.data.baseData.url).endsWith('/no-such-page'), 'request for the 404');
    assert.equal(missing.data.baseData.responseCode, '404');
  });

  it("correlates the request's log lines with it, in Application Insights and on stdout", async () => {
    assert.equal((await fetch(`${service.url}/readyz`)).status, 200);
    const request = await ingestion.waitFor((e) => e.data.baseType === 'RequestData' && String(e.data.baseData.url).endsWith('/readyz'), 'request for /readyz');
    const operation = request.tags['ai.operation.id'];
    assert.match(String(operation), /^[0-9a-f]{32}$/);
    const line = await ingestion.waitFor(
      (e) => e.data.baseType === 'MessageData' && e.data.baseData.message === 'http request' && props(e).url === '/readyz',
      'the handler\'s "http request" log line for /readyz',
    );
    assert.equal(line.tags['ai.operation.id'], operation, 'the log record is not in the request operation');
    assert.equal(line.data.baseData.severityLevel, 'Verbose');
    const stdout = service.output().split('\n').find((l) => l.includes('"url":"/readyz"'));
    assert.ok(stdout, 'no stdout line for /readyz');
    assert.equal((JSON.parse(stdout) as { trace_id?: string }).trace_id, operation);
  });

  it("exports the service's own metrics: connections, closes by code, messages, ping round trips", async () => {
    const client = await TestClient.connect(`${service.url.replace('http', 'ws')}/ws`);
    client.send({ type: 'join', room: 'telemetry', name: 'probe' });
    await client.nextOf('presence');
    await client.nextPing();
    await client.nextPing();
    client.ws.close(4000, 'done');
    await client.closed;
    const positive = (name: string, where: (p: Record<string, string>) => boolean = () => true) =>
      ingestion.waitFor((e) => metric(e)?.name === name && (metric(e)?.value ?? 0) > 0 && where(props(e)), `${name} > 0`);
    await positive('ws_connections_opened_total');
    await positive('ws_closes_total', (p) => p.code === '4000' && p.by === 'client');
    await positive('ws_messages_in_total', (p) => p.type === 'join');
    await positive('ws_messages_out_total', (p) => p.type === 'ping');
    await positive('ws_ping_rtt_seconds_count');
    await positive('ws_ping_rtt_seconds_sum');
    // prom-client's process metrics stay on /metrics: the distro sends its own counters.
    assert.ok(!ingestion.envelopes.some((e) => /^(process|nodejs)_/.test(metric(e)?.name ?? '')), 'process metrics were bridged');
  });

  it('sends nothing anywhere but the stand-in: the only other attempt is the refused control-plane tunnel', () => {
    for (const host of ingestion.tunnels) assert.equal(host, 'settings.sdk.monitor.azure.com:443');
    assert.ok(ingestion.paths.some((p) => p.startsWith('POST /v2.1/track')));
  });
});

describe('log records from pino lines', () => {
  it('turns an err (pino Error object or the broker message string) into exception attributes, and keeps other fields', () => {
    const fromError = recordAttributes({ level: 'error', msg: 'x', err: { type: 'TypeError', message: 'boom', stack: 'TypeError: boom\n    at f' }, connId: 'c1', n: 3 });
    assert.deepEqual(fromError, { 'exception.type': 'TypeError', 'exception.message': 'boom', 'exception.stacktrace': 'TypeError: boom\n    at f', connId: 'c1', n: 3 });
    assert.deepEqual(recordAttributes({ level: 'warn', err: 'ECONNREFUSED' }), { 'exception.type': 'Error', 'exception.message': 'ECONNREFUSED' });
    assert.deepEqual(recordAttributes({ level: 'info', time: 't', service: 's', msg: 'm', nested: { a: 1 } }), { nested: '{"a":1}' });
  });
});

describe('telemetry configuration', () => {
  const probe = (env: Record<string, string>): { loaded: boolean; stderr: string } => {
    // Start telemetry in a fresh process and report whether any of the distro's modules loaded.
    const script = `
      import { createRequire } from 'node:module';
      import { startTelemetry } from './src/telemetry/start.ts';
      const t = startTelemetry(process.env);
      const cache = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ loaded: cache.some((p) => p.includes('/@azure/monitor-opentelemetry/') || p.includes('/@opentelemetry/sdk-')) }));
      await t?.shutdown(1000);
      process.exit(0);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true', WEBSITE_SITE_NAME: 'probe', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 0, run.stderr);
    return { loaded: (JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { loaded: boolean }).loaded, stderr: run.stderr };
  };

  it('does not load the Azure Monitor distro at all without APPLICATIONINSIGHTS_CONNECTION_STRING', () => {
    assert.equal(probe({}).loaded, false);
    assert.equal(probe({ APPLICATIONINSIGHTS_CONNECTION_STRING: '' }).loaded, false);
  });

  it('loads it when the variable is set (so the check above can fail)', () => {
    // Ingestion on a closed loopback port: nothing is sent anywhere.
    assert.equal(probe({ APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${IKEY};IngestionEndpoint=https://127.0.0.1:9/;LiveEndpoint=https://127.0.0.1:9/` }).loaded, true);
  });

  it('stops start-up on a malformed connection string, naming the variable but not echoing it', () => {
    const secretish = 'InstrumentationKey=not-a-guid;IngestionEndpoint=https://example.invalid/';
    const run = spawnSync(process.execPath, ['src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', APPLICATIONINSIGHTS_CONNECTION_STRING: secretish },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Configuration error: APPLICATIONINSIGHTS_CONNECTION_STRING: InstrumentationKey must be a GUID/);
    assert.ok(!run.stderr.includes('not-a-guid') && !run.stderr.includes('example.invalid'), run.stderr);
  });
});
