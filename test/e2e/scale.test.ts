// Rolling restart of the compose scale setup (docker-compose.yml + docker-compose.scale.yml):
// three app replicas behind nginx sharing one Redis, several chat clients under steady load
// through nginx, the replicas replaced one at a time (docker stop: SIGTERM, drain; then a fresh
// replica from `up --scale`, as a deploy does). Counts what was acknowledged, lost, repeated,
// and how long each client was away.
//
// Replicas are replaced rather than `docker start`ed again: with Debian's Docker 20.10 here, a
// restarted container's second exit was once missed by dockerd, leaving it 'Up' and the
// daemon's container lock held (docker info, inspect and compose down hung).
//
// Images come from NODE_IMAGE / NGINX_IMAGE / REDIS_IMAGE (CI points them at local stand-ins),
// else the compose files' defaults. Needs docker and docker-compose (or Compose v2). Also checks
// that the compose Redis is bounded (maxmemory, eviction policy) and least-privileged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chatLoad, ChatPeer, until } from '../helpers/chat.ts';
import { composeProject, docker, dockerTools, imageFromEnv, uniqueName } from './stack/docker.ts';
import type { ComposeProject, DockerTools } from './stack/docker.ts';
import { freePort, get } from './stack/net.ts';
import { waitUntil } from './stack/proc.ts';

const REPLICAS = 3;
const CLIENTS = 4;
const SAY_EVERY_MS = 100;
const BACK_WITHIN_MS = 5000;

describe('compose scale: rolling restart under chat load', () => {
  let tools: DockerTools;
  let project: ComposeProject | undefined;
  let port = 0;
  let failed = false;
  const runId = uniqueName('');
  const appImage = `socketship-scale-test:${runId}`;
  const peers: ChatPeer[] = [];

  before(async () => {
    tools = dockerTools();
    port = await freePort();
    project = composeProject(tools, `ssscale${runId}`, ['docker-compose.yml', 'docker-compose.scale.yml'], {
      NODE_IMAGE: imageFromEnv('NODE_IMAGE'),
      NGINX_IMAGE: imageFromEnv('NGINX_IMAGE'),
      REDIS_IMAGE: imageFromEnv('REDIS_IMAGE', 'docker-compose.scale.yml'),
      APP_IMAGE: appImage,
      HTTP_PORT: `127.0.0.1:${port}`,
      APP_HEALTH_INTERVAL: '1s',
      PROXY_HEALTH_INTERVAL: '1s',
      REDIS_HEALTH_INTERVAL: '1s',
      RATE_LIMIT_PER_SEC: '100',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // This suite is about restarts, not the history bound: a reconnect slowed by a busy
      // two-core machine must not turn into a (correctly reported) truncated replay.
      HISTORY_SIZE: '1000',
    });
    // A busy Docker engine (other suites, two cores) can take longer than Compose's default 60 s per API call.
    await project.run(['up', '--detach', '--build', '--scale', `app=${REPLICAS}`], { timeoutMs: 360_000, env: { ...tools.env, COMPOSE_HTTP_TIMEOUT: '240' } });
    await waitUntil('the proxy to answer /readyz', async () => ((await get(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), {
      tries: 120, intervalMs: 500, timeoutMs: 90_000,
    });
  }, { timeout: 420_000 });

  after(async () => {
    for (const p of peers) p.kill();
    if (project) {
      if (failed) for (const s of ['app', 'proxy', 'redis']) console.error(`--- ${s} logs ---\n${(await project.logs(s)).split('\n').slice(-40).join('\n')}`);
      await project.down();
    }
    if (tools) await docker(tools, ['image', 'rm', appImage], { allowFailure: true });
  }, { timeout: 180_000 });

  it('Redis runs bounded: maxmemory with volatile-lru eviction, a client output buffer limit, as user redis, read-only, no capability', async () => {
    try {
      assert.ok(project);
      const id = await project.containerId('redis');
      const config = (await docker(tools, ['exec', id, 'redis-cli', 'CONFIG', 'GET', 'maxmemory*'])).stdout.trim().split('\n');
      const get = (key: string): string | undefined => config[config.indexOf(key) + 1];
      assert.equal(get('maxmemory'), String(256 * 1024 * 1024));
      assert.equal(get('maxmemory-policy'), 'volatile-lru');
      const buffers = (await docker(tools, ['exec', id, 'redis-cli', 'CONFIG', 'GET', 'client-output-buffer-limit'])).stdout;
      assert.match(buffers, /normal 67108864 16777216 60/, 'a reader that does not keep up cannot fill Redis');
      const status = (await docker(tools, ['exec', id, 'sh', '-c', 'id -un; grep -E "^(CapEff|NoNewPrivs)" /proc/1/status'])).stdout;
      assert.match(status, /^redis\n/);
      assert.match(status, /CapEff:\s+0+\n/);
      assert.match(status, /NoNewPrivs:\s+1/);
      const hc = (await docker(tools, ['inspect', id, '--format', '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}'])).stdout.trim();
      assert.equal(hc, `true ${512 * 1024 * 1024} 64`);
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  it(`restarts ${REPLICAS} replicas one at a time: zero acknowledged messages lost, zero repeated, every client back within ${BACK_WITHIN_MS / 1000} s`, async () => {
    try {
      assert.ok(project);
      const ids = (await project.run(['ps', '-q', 'app'])).stdout.trim().split('\n').filter(Boolean);
      assert.equal(ids.length, REPLICAS, 'replicas running');
      const url = `ws://127.0.0.1:${port}/ws`;
      for (let i = 0; i < CLIENTS; i++) peers.push(new ChatPeer({ urls: [url], room: 'rolling', name: `client${i}`, loopback: true }));
      for (const p of peers) await p.start();

      const load = chatLoad(peers, SAY_EVERY_MS, 5000);
      await sleep(2000);
      const started = Date.now();
      const known = new Set(ids);
      for (const id of ids) {
        const t0 = Date.now();
        await docker(tools, ['stop', '--time', '15', id], { timeoutMs: 60_000 });
        await until('every client joined again', () => peers.every((p) => p.open_), 15_000);
        await docker(tools, ['rm', id], { timeoutMs: 60_000 });
        await project.run(['up', '--detach', '--no-deps', '--no-build', '--no-recreate', '--scale', `app=${REPLICAS}`, 'app'], { timeoutMs: 120_000, env: { ...tools.env, COMPOSE_HTTP_TIMEOUT: '240' } });
        const fresh = (await project.run(['ps', '-q', 'app'])).stdout.trim().split('\n').find((x) => x && !known.has(x));
        assert.ok(fresh, 'a replacement replica');
        known.add(fresh);
        await waitUntil(`replica ${fresh.slice(0, 12)} healthy`, async () => {
          const s = (await docker(tools, ['inspect', fresh, '--format', '{{.State.Health.Status}}'])).stdout.trim();
          return s === 'healthy' ? s : undefined;
        }, { tries: 60, intervalMs: 500, timeoutMs: 30_000 });
        console.log(`# replica ${id.slice(0, 12)} drained and replaced by a healthy ${fresh.slice(0, 12)} in ${Date.now() - t0} ms`);
        await sleep(1000);
      }
      const rolling = Date.now() - started;
      await sleep(2000);
      await load.stop();

      const sent = peers.reduce((n, p) => n + p.sent.length, 0);
      // A message whose socket closed before its acknowledgement may or may not have been stored:
      // it is the sender's to resend. Give stored ones the time to come back through the replay.
      await sleep(2000);
      const acked = peers.flatMap((p) => [...p.acked]);
      await until('every client has every acknowledged message', () => peers.every((p) => acked.every((t) => p.texts().includes(t))), 10_000).catch(() => undefined);
      const lost = peers.map((p) => acked.filter((t) => !p.texts().includes(t)).length);
      const duplicates = peers.map((p) => p.duplicates.length);
      const outOfOrder = peers.map((p) => p.outOfOrder.length);
      const reconnects = peers.flatMap((p) => p.reconnects.map((r) => r.rejoinedAt - r.closedAt));
      const truncated = peers.flatMap((p) => p.histories).filter((h) => h.truncated === true).length;
      console.log(
        `# rolling restart of ${REPLICAS} replicas in ${rolling} ms under ${CLIENTS} clients x ${1000 / SAY_EVERY_MS} msg/s: ` +
          `${load.says} say attempts, ${sent} sent on an open socket, ${acked.length} acknowledged, ${sent - acked.length} unacknowledged (socket closed first), ` +
          `lost ${lost.reduce((a, b) => a + b, 0)}, duplicates ${duplicates.reduce((a, b) => a + b, 0)}, out of order ${outOfOrder.reduce((a, b) => a + b, 0)}, ` +
          `reconnects ${reconnects.length} (longest ${Math.max(0, ...reconnects)} ms), truncated replays ${truncated}`,
      );
      assert.ok(acked.length > CLIENTS * 50, 'the load ran');
      assert.deepEqual(lost, peers.map(() => 0), 'acknowledged messages missing per client');
      assert.deepEqual(duplicates, peers.map(() => 0), 'repeated messages per client');
      assert.deepEqual(outOfOrder, peers.map(() => 0), 'messages out of order per client');
      assert.equal(truncated, 0, 'no replay had to be truncated');
      assert.ok(reconnects.length >= 1, 'clients were moved by the restarts');
      assert.ok(Math.max(...reconnects) < BACK_WITHIN_MS, `every client back within ${BACK_WITHIN_MS} ms: ${reconnects.join(', ')}`);
      const texts = peers[0]!.texts();
      for (const p of peers) assert.deepEqual(p.texts(), texts, `${p.url}: every client sees the same messages in the same order`);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
