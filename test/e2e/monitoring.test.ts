// The monitoring profile for real: docker-compose.yml + docker-compose.monitoring.yml with two
// app replicas, Prometheus from PROMETHEUS_IMAGE (CI: the local stand-in), the project's config
// and rules. Prometheus finds both replicas through Docker's DNS and scrapes them on the Compose
// network (the public proxy serves no /metrics), scrapes the proxy's health findings, loads every
// rule; a replica that stops answering fires SocketshipInstanceDown and no replica left fires
// SocketshipDown. Only the intervals are shortened (1 s, test/e2e/stack/compose.monitoring-test.yml);
// the alerts keep their real `for` of one minute.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { composeProject, docker, dockerTools, imageFromEnv, REPO, uniqueName } from './stack/docker.ts';
import type { ComposeProject, DockerTools } from './stack/docker.ts';
import { freePort, get } from './stack/net.ts';
import { failureTracking, log, waitUntil } from './stack/proc.ts';

const REPLICAS = 2;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('monitoring profile: Prometheus scrapes every replica and alerts', () => {
  let tools: DockerTools;
  let project: ComposeProject | undefined;
  let promPort = 0;
  let httpPort = 0;
  const runId = uniqueName('');
  const appImage = `socketship-monitoring-test:${runId}`;
  const configDir = mkdtempSync(join(tmpdir(), 'ssmon-'));
  const paused: string[] = [];
  const { check, failed } = failureTracking(it);

  async function query(q: string): Promise<Sample[]> {
    const r = await get(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
    assert.equal(r.status, 200, r.text);
    return (JSON.parse(r.text) as { data: { result: Sample[] } }).data.result;
  }

  before(async () => {
    tools = dockerTools();
    [promPort, httpPort] = [await freePort(), await freePort()];
    // The project's config with 1 s intervals (a scrape timeout may not exceed the interval).
    const config = parse(readFileSync(join(REPO, 'infra/prometheus/prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: { dns_sd_configs?: Record<string, unknown>[] }[];
    };
    Object.assign(config.global, { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' });
    for (const job of config.scrape_configs) for (const sd of job.dns_sd_configs ?? []) sd.refresh_interval = '1s';
    const configFile = join(configDir, 'prometheus.yml');
    writeFileSync(configFile, stringify(config), { mode: 0o644 });
    project = composeProject(tools, `ssmon${runId}`, ['docker-compose.yml', 'docker-compose.monitoring.yml', 'test/e2e/stack/compose.monitoring-test.yml'], {
      NODE_IMAGE: imageFromEnv('NODE_IMAGE'),
      NGINX_IMAGE: imageFromEnv('NGINX_IMAGE'),
      PROMETHEUS_IMAGE: imageFromEnv('PROMETHEUS_IMAGE', 'docker-compose.monitoring.yml'),
      APP_IMAGE: appImage,
      HTTP_PORT: `127.0.0.1:${httpPort}`,
      PROMETHEUS_PORT: `127.0.0.1:${promPort}`,
      MONITORING_TEST_CONFIG: configFile,
      APP_HEALTH_INTERVAL: '1s',
      PROXY_HEALTH_INTERVAL: '1s',
      PROMETHEUS_HEALTH_INTERVAL: '1s',
    });
    await project.run(['up', '--detach', '--build', '--scale', `app=${REPLICAS}`], { timeoutMs: 360_000, env: { ...tools.env, COMPOSE_HTTP_TIMEOUT: '240' } });
    await waitUntil('Prometheus to be ready', async () => ((await get(`http://127.0.0.1:${promPort}/-/ready`)).status === 200 ? true : undefined), {
      tries: 120, intervalMs: 500, timeoutMs: 60_000,
    });
  }, { timeout: 420_000 });

  after(async () => {
    if (project) {
      for (const id of paused) await docker(tools, ['unpause', id], { allowFailure: true });
      if (failed()) for (const s of ['prometheus', 'proxy', 'app']) console.error(`--- ${s} logs ---\n${(await project.logs(s)).split('\n').slice(-40).join('\n')}`);
      await project.down();
    }
    if (tools) await docker(tools, ['image', 'rm', appImage], { allowFailure: true });
    rmSync(configDir, { recursive: true, force: true });
  }, { timeout: 180_000 });

  check(`scrapes each of the ${REPLICAS} app replicas at its own address on the Compose network`, async () => {
    assert.ok(project);
    const ids = (await project.run(['ps', '-q', 'app'])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(ids.length, REPLICAS);
    const addresses = [];
    for (const id of ids) addresses.push(`${(await docker(tools, ['inspect', id, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'])).stdout.trim()}:8080`);
    const up = await waitUntil(`both replicas up in Prometheus`, async () => {
      const r = await query('up{job="socketship"} == 1');
      return r.length === REPLICAS ? r : undefined;
    }, { tries: 60, intervalMs: 500, timeoutMs: 45_000 });
    assert.deepEqual(up.map((s) => s.metric.instance).sort(), addresses.sort());
    // The app's own metrics, from each replica.
    const open = await query('ws_connections_open');
    assert.deepEqual(open.map((s) => s.metric.instance).sort(), addresses.sort());
    const heap = await query('nodejs_heap_size_used_bytes');
    assert.equal(heap.length, REPLICAS, 'prom-client default metrics scraped');
  });

  check('the public proxy does not serve /metrics; Prometheus reads the proxy\'s health findings instead', async () => {
    for (const path of ['/metrics', '/metrics?x=1', '//metrics', '/%6detrics', '/metrics/']) {
      const r = await get(`http://127.0.0.1:${httpPort}${path}`);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.text, /ws_connections_open/, path);
    }
    const health = await waitUntil('the proxy health check in Prometheus', async () => {
      const r = await query('socketship_proxy_health_check{job="proxy", check="http"}');
      return r[0]?.value[1] === '1' ? r : undefined;
    }, { tries: 60, intervalMs: 500, timeoutMs: 30_000 });
    assert.equal(health.length, 1);
  });

  check('loads every alerting rule of infra/prometheus/rules', async () => {
    const rules = parse(readFileSync(join(REPO, 'infra/prometheus/rules/socketship.yml'), 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
    const expected = rules.groups.flatMap((g) => g.rules.map((r) => r.alert ?? '')).sort();
    const r = await get(`http://127.0.0.1:${promPort}/api/v1/rules?type=alert`);
    const loaded = (JSON.parse(r.text) as { data: { groups: { rules: { name: string; health: string }[] }[] } }).data.groups.flatMap((g) => g.rules);
    assert.deepEqual(loaded.map((x) => x.name).sort(), expected);
    for (const rule of loaded) assert.notEqual(rule.health, 'err', `${rule.name} fails to evaluate`);
  });

  check('a replica that stops answering fires SocketshipInstanceDown; none left fires SocketshipDown', async () => {
    assert.ok(project);
    const [hung, stopped] = (await project.run(['ps', '-q', 'app'])).stdout.trim().split('\n').filter(Boolean);
    assert.ok(hung && stopped);
    const hungAddress = `${(await docker(tools, ['inspect', hung, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'])).stdout.trim()}:8080`;
    // Paused: still in Docker's DNS, so still a target, but it answers nothing. Stopped: gone
    // from the DNS answer and so from the targets.
    await docker(tools, ['pause', hung]);
    paused.push(hung);
    await docker(tools, ['stop', '--time', '15', stopped], { timeoutMs: 60_000 });
    const t0 = Date.now();
    const firing = await waitUntil('both alerts to fire', async () => {
      const r = await query('ALERTS{alertstate="firing", alertname=~"SocketshipInstanceDown|SocketshipDown"}');
      return r.length >= 2 ? r : undefined;
    }, { tries: 200, intervalMs: 1000, timeoutMs: 150_000 });
    log(`alerts firing ${Date.now() - t0} ms after the replicas stopped answering (for: 1m)`);
    const byName = new Map(firing.map((s) => [s.metric.alertname, s.metric]));
    assert.equal(byName.get('SocketshipInstanceDown')?.instance, hungAddress);
    assert.equal(byName.get('SocketshipInstanceDown')?.severity, 'critical');
    assert.equal(byName.get('SocketshipDown')?.severity, 'critical');
  });
});
