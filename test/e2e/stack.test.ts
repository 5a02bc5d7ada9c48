// The container image and the `docker compose up` stack (app behind nginx), for real: the
// project's Dockerfile built by a real Docker engine, the project's nginx config in a real nginx,
// real WebSocket clients and a real browser, all on 127.0.0.1 and the test's own containers.
//
// Images come from NODE_IMAGE / NGINX_IMAGE (CI points them at local stand-ins: see
// docs/docker.md), else the defaults of docker-compose.yml. Needs docker (docker.io),
// docker-compose (or Compose v2) and chromium; a missing one fails the suite with what to install.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { parse } from 'yaml';
import { DEFAULTS } from '../../src/config/config.ts';
import { browserPingPong, chromiumPath } from './stack/browser.ts';
import { buildImage, composeDefault, composeProject, docker, dockerTools, imageFromEnv, jsonLines, REPO, uniqueName } from './stack/docker.ts';
import type { ComposeProject, DockerTools } from './stack/docker.ts';
import { chatExchange, freePort, get, openPeer, pingPongRounds } from './stack/net.ts';
import type { Peer } from './stack/net.ts';
import { failureTracking, log, waitUntil } from './stack/proc.ts';

const PING_INTERVAL_MS = 1000;
// Shortened from the default 3600s so that outliving it takes seconds, not minutes; still
// well above the ping interval, as the real default is.
const PROXY_TIMEOUT_S = 4;
const STOP_TIMEOUT_S = 10;

const packageVersion = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

let tools: DockerTools;
const runId = uniqueName('');
const nodeImage = imageFromEnv('NODE_IMAGE');
const nginxImage = imageFromEnv('NGINX_IMAGE');

before(() => {
  tools = dockerTools();
  chromiumPath();
});


const { check, failed } = failureTracking(it);

describe('container image (Dockerfile)', () => {
  const tag = `socketship-stack-test:${runId}`;
  let containerId = '';
  let port = 0;

  before(async () => {
    await buildImage(tools, tag, nodeImage);
  }, { timeout: 360_000 });

  after(async () => {
    if (!tools) return;
    if (containerId) await docker(tools, ['rm', '--force', '--volumes', containerId], { allowFailure: true });
    await docker(tools, ['image', 'rm', tag], { allowFailure: true });
  });

  check('is configured as the issue asks: user node, port 8080, node healthcheck, OCI labels', async () => {
    const inspect = await docker(tools, ['image', 'inspect', tag, '--format', '{{json .Config}}']);
    const config = JSON.parse(inspect.stdout) as {
      User: string;
      ExposedPorts: Record<string, unknown> | null;
      Cmd: string[];
      Env: string[];
      Healthcheck: { Test: string[] } | null;
      Labels: Record<string, string> | null;
    };
    assert.equal(config.User, 'node');
    assert.ok(config.ExposedPorts && '8080/tcp' in config.ExposedPorts, 'EXPOSE 8080');
    assert.equal(config.Cmd[0], 'node', 'CMD starts node itself, so signals reach it');
    assert.ok(config.Env.includes('NODE_ENV=production'));
    assert.deepEqual(config.Healthcheck?.Test.slice(0, 2), ['CMD', 'node']);
    const labels = config.Labels ?? {};
    assert.equal(labels['org.opencontainers.image.title'], 'socketship');
    assert.equal(labels['org.opencontainers.image.version'], packageVersion, 'label version follows package.json');
    assert.match(labels['org.opencontainers.image.source'] ?? '', /^https:\/\//);
    const listing = await docker(tools, ['run', '--rm', '--entrypoint', 'ls', tag, '-A', '/app']);
    assert.deepEqual(listing.stdout.trim().split('\n').sort(), ['client', 'node_modules', 'package-lock.json', 'package.json', 'public', 'src']);
    // The client library's modules only: its generated types and package files stay out.
    const client = await docker(tools, ['run', '--rm', '--entrypoint', 'ls', tag, '-A', '/app/client']);
    assert.ok(client.stdout.trim().split('\n').every((f) => f.endsWith('.js')), client.stdout);
    // Dev-only packages, as the lockfile marks them: a devDependency that a runtime package also
    // needs (yaml, @types/node under the telemetry distro) belongs in the image.
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devDependencies = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.dev === true && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path))
      .map(([path]) => path.slice('node_modules/'.length));
    assert.ok(devDependencies.includes('typescript') && devDependencies.includes('playwright-core'), 'the lockfile marks dev-only packages');
    const present = await docker(tools, ['run', '--rm', '--entrypoint', 'sh', tag, '-c', 'for d in "$@"; do test -e "/app/node_modules/$d" && echo "$d"; done; true', 'sh', ...devDependencies]);
    assert.equal(present.stdout.trim(), '', 'no dev dependency in the image');
  });

  check('reports its size and what the project adds to the base image', async () => {
    const size = async (image: string): Promise<number> => Number((await docker(tools, ['image', 'inspect', image, '--format', '{{.Size}}'])).stdout.trim());
    const [image, base] = [await size(tag), await size(nodeImage)];
    const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
    log(`image ${tag}: ${mb(image)}; base ${nodeImage}: ${mb(base)}; added by the project: ${mb(image - base)}`);
    assert.ok(Number.isFinite(image) && Number.isFinite(base) && base > 0, 'sizes read');
  });

  check('runs read-only, without capabilities, as a non-root user, turns healthy and answers /healthz', async () => {
    port = await freePort();
    const started = await docker(tools, [
      'run', '--detach', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '--health-interval', '1s', '--health-start-period', '5s',
      '--publish', `127.0.0.1:${port}:8080`, '--name', `socketship-stack-test-${runId}`, tag,
    ]);
    containerId = started.stdout.trim();
    const health = await waitUntil('the container to turn healthy', async () => {
      const s = (await docker(tools, ['inspect', containerId, '--format', '{{.State.Health.Status}}'])).stdout.trim();
      if (s === 'unhealthy') throw new Error('unhealthy');
      return s === 'healthy' ? s : undefined;
    }, { tries: 60, intervalMs: 500, timeoutMs: 45_000 });
    assert.equal(health, 'healthy');
    const uid = await docker(tools, ['exec', containerId, 'sh', '-c', 'id -u; grep CapEff /proc/1/status']);
    const [user, capEff] = uid.stdout.trim().split('\n');
    assert.notEqual(user, '0', 'the service must not run as root');
    assert.match(capEff ?? '', /CapEff:\s+0+$/, 'no effective capability');
    const reply = await get(`http://127.0.0.1:${port}/healthz`);
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text), { status: 'ok' });
  });

  check(`on docker stop closes open sockets with 1001 and exits 0 well within ${STOP_TIMEOUT_S} s`, async () => {
    assert.ok(containerId, 'needs the running container of the previous test');
    const peers = await Promise.all([openPeer(`ws://127.0.0.1:${port}/ws`), openPeer(`ws://127.0.0.1:${port}/ws`)]);
    await Promise.all(peers.map((p) => pingPongRounds(p, 1, 5_000)));
    const t0 = Date.now();
    await docker(tools, ['stop', '--time', String(STOP_TIMEOUT_S), containerId], { timeoutMs: 30_000 });
    const elapsed = Date.now() - t0;
    const closes = await Promise.all(peers.map((p) => Promise.race([p.closed, sleep(5_000).then(() => ({ code: -1, reason: 'not closed' }))])));
    for (const c of closes) assert.deepEqual(c, { code: 1001, reason: 'Server shutting down' });
    const state = (await docker(tools, ['inspect', containerId, '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}'])).stdout.trim();
    assert.equal(state, '0 false', 'exit code 0, not killed');
    log(`docker stop took ${elapsed} ms`);
    assert.ok(elapsed < (STOP_TIMEOUT_S * 1000) / 2, `stopped in ${elapsed} ms, not well within ${STOP_TIMEOUT_S} s`);
  });
});

describe('docker compose up: the app behind nginx', () => {
  let project: ComposeProject;
  let base = '';
  let port = 0;
  let idle: Peer | undefined;
  let idleSince = 0;
  const appImage = `socketship-stack-test-compose:${runId}`;

  before(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    project = composeProject(tools, `ssstack${runId}`, ['docker-compose.yml'], {
      NODE_IMAGE: nodeImage,
      NGINX_IMAGE: nginxImage,
      APP_IMAGE: appImage,
      HTTP_PORT: `127.0.0.1:${port}`,
      PROXY_TIMEOUT: `${PROXY_TIMEOUT_S}s`,
      PING_INTERVAL_MS: String(PING_INTERVAL_MS),
      APP_HEALTH_INTERVAL: '1s',
      PROXY_HEALTH_INTERVAL: '1s',
    });
    await project.run(['up', '--detach', '--build'], { timeoutMs: 360_000 });
    await waitUntil('the proxy to answer /healthz', async () => ((await get(`${base}/healthz`)).status === 200 ? true : undefined), {
      tries: 80, intervalMs: 500, timeoutMs: 60_000,
    });
    // Idle from now on (it only answers pings); checked in the last test.
    idle = await openPeer(`ws://127.0.0.1:${port}/ws`);
    idleSince = Date.now();
  }, { timeout: 420_000 });

  after(async () => {
    idle?.close();
    if (project) {
      if (failed()) {
        for (const s of ['app', 'proxy']) console.error(`--- ${s} logs ---\n${(await project.logs(s)).split('\n').slice(-60).join('\n')}`);
      }
      await project.down();
    }
    if (tools) await docker(tools, ['image', 'rm', appImage], { allowFailure: true });
  }, { timeout: 180_000 });

  check('both services are healthy, and only the proxy is published', async () => {
    const proxyId = await project.containerId('proxy');
    const appId = await project.containerId('app');
    for (const [name, id] of [['app', appId], ['proxy', proxyId]] as const) {
      await waitUntil(`${name} to turn healthy`, async () => {
        const s = (await docker(tools, ['inspect', id, '--format', '{{.State.Health.Status}}'])).stdout.trim();
        return s === 'healthy' ? s : undefined;
      }, { tries: 40, intervalMs: 500, timeoutMs: 30_000 });
    }
    const appPorts = (await docker(tools, ['inspect', appId, '--format', '{{json .NetworkSettings.Ports}}'])).stdout;
    assert.doesNotMatch(appPorts, /HostPort/, 'the app is not published to the host');
    const appConfig = (await docker(tools, ['inspect', appId, '--format', '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Init}}'])).stdout.trim();
    assert.equal(appConfig, 'true true', 'read-only root filesystem, init');
    const proxyPorts = JSON.parse((await docker(tools, ['inspect', proxyId, '--format', '{{json .NetworkSettings.Ports}}'])).stdout) as Record<string, unknown[] | null>;
    assert.deepEqual(Object.keys(proxyPorts).filter((p) => proxyPorts[p]), ['80/tcp'], 'the proxy publishes port 80 only (not its internal metrics port 9145)');
  });

  check('both run bounded and least-privileged: rotated logs, memory and pids limits, no-new-privileges, capabilities, read-only root', async () => {
    const caps: Record<string, string> = { app: '', proxy: 'CAP_CHOWN CAP_NET_BIND_SERVICE CAP_SETGID CAP_SETUID' };
    for (const service of ['app', 'proxy']) {
      const id = await project.containerId(service);
      const hc = JSON.parse((await docker(tools, ['inspect', id, '--format', '{{json .HostConfig}}'])).stdout) as {
        ReadonlyRootfs: boolean; Memory: number; PidsLimit: number | null; SecurityOpt: string[] | null; CapDrop: string[] | null; CapAdd: string[] | null;
        LogConfig: { Type: string; Config: Record<string, string> };
      };
      assert.equal(hc.ReadonlyRootfs, true, `${service}: read-only root`);
      assert.ok(hc.Memory >= 64 * 1024 * 1024, `${service}: memory limit (${hc.Memory})`);
      assert.ok((hc.PidsLimit ?? 0) > 0, `${service}: pids limit`);
      assert.deepEqual(hc.SecurityOpt, ['no-new-privileges:true'], `${service}: no-new-privileges`);
      assert.deepEqual(hc.CapDrop, ['ALL'], `${service}: every capability dropped`);
      // Docker 20.10 reports them as given in the compose file (CHOWN), newer engines as CAP_CHOWN.
      assert.equal((hc.CapAdd ?? []).map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`)).sort().join(' '), caps[service], `${service}: capabilities added back`);
      assert.deepEqual(hc.LogConfig, { Type: 'local', Config: { 'max-file': '5', 'max-size': '10m' } }, `${service}: rotated logs`);
    }
    // What the running processes hold: nginx's workers run as user nginx with no capability at all.
    const proxyId = await project.containerId('proxy');
    const status = (await docker(tools, ['exec', proxyId, 'sh', '-c', 'for p in /proc/[0-9]*; do c=$(tr "\\0" " " < $p/cmdline); case "$c" in "nginx: worker"*) grep -E "^(Uid|CapEff|NoNewPrivs)" $p/status | tr -s "\\t\\n" "  "; echo;; esac; done'])).stdout.trim().split('\n');
    assert.ok(status.length >= 1, 'nginx workers found');
    for (const line of status) {
      assert.match(line, /Uid: (\d+) \1 /, line);
      assert.doesNotMatch(line, /Uid: 0 /, `a worker runs as root: ${line}`);
      assert.match(line, /CapEff: 0+ /, `a worker holds capabilities: ${line}`);
      assert.match(line, /NoNewPrivs: 1/, line);
    }
    const health = (await docker(tools, ['inspect', proxyId, '--format', '{{json .State.Health.Log}}'])).stdout;
    assert.match(health, /http: ok: http:\/\/127\.0\.0\.1\/healthz answers/, 'the proxy health check says what it checked');
  });

  check('/metrics is not served through the public proxy, whatever the path spelling or the claimed address', async () => {
    for (const path of ['/metrics', '/metrics?x=1', '//metrics', '/%6detrics', '/metrics/', '/./metrics', '/metrics;x']) {
      for (const headers of [{}, { 'X-Forwarded-For': '10.0.0.1', 'X-Real-IP': '127.0.0.1' }] as Record<string, string>[]) {
        const r = await get(`${base}${path}`, { headers });
        assert.equal(r.status, 404, `${path} ${JSON.stringify(headers)}`);
        assert.doesNotMatch(r.text, /ws_connections_open|process_resident_memory/, path);
      }
    }
    // The app itself still serves it, on the Compose network (for the monitoring profile).
    const appId = await project.containerId('app');
    const inside = await docker(tools, ['exec', appId, 'node', '-e', "fetch('http://127.0.0.1:8080/metrics').then(async (r) => console.log(r.status, (await r.text()).includes('ws_connections_open')))"]);
    assert.equal(inside.stdout.trim(), '200 true');
  });

  check('nginx\'s access log keeps no access token (query string or Referer)', async () => {
    const secret = `SECRET-${runId}`;
    const userAgent = `stack-test-${runId}-token`;
    const headers = { 'User-Agent': userAgent };
    // A WebSocket through nginx (its line is written when it closes), and plain requests.
    const peer = await openPeer(`ws://127.0.0.1:${port}/ws?access_token=${secret}`, { headers }).catch(() => undefined);
    if (peer) {
      peer.close();
      await peer.closed;
    }
    await get(`${base}/ws?room=lobby&access_token=${secret}`, { headers });
    await get(`${base}/?acc%65ss_token=${secret}`, { headers });
    await get(`${base}/app.js?v=1`, { headers: { ...headers, Referer: `${base}/?access_token=${secret}` } });
    await get(`${base}/app.js?v=2`, { headers });
    const lines = await waitUntil('the access log lines of the requests', async () => {
      const found = (await project.logs('proxy')).split('\n').filter((l) => l.includes(userAgent));
      return found.length >= 5 && found.some((l) => l.includes('/app.js?v=2')) ? found : undefined;
    }, { tries: 30, intervalMs: 500, timeoutMs: 15_000 });
    assert.doesNotMatch(await project.logs('proxy'), new RegExp(secret), 'a token reached nginx\'s log');
    assert.ok(lines.some((l) => l.includes('"GET /ws?[hidden] HTTP/1.1" 101')), `the socket's line, masked: ${lines.join('\n')}`);
    assert.ok(lines.some((l) => l.includes('"GET /?[hidden] HTTP/1.1" 200')), 'a %-escaped spelling is masked too');
    assert.ok(lines.some((l) => l.includes('"GET /app.js?v=1 HTTP/1.1" 200') && l.includes('"[hidden]"')), 'the Referer is masked');
    assert.ok(lines.some((l) => l.includes('"GET /app.js?v=2 HTTP/1.1" 200')), 'other query strings are kept');
  });

  check('serves the page, its assets gzipped, /healthz, and 426 for /ws without upgrade', async () => {
    const page = await get(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<script[^>]+src="\/app\.js"/);
    const js = await get(`${base}/app.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-encoding'], 'gzip', 'nginx compresses static files');
    const health = await get(`${base}/healthz`);
    assert.deepEqual(JSON.parse(health.text), { status: 'ok' });
    const plain = await get(`${base}/ws`);
    assert.equal(plain.status, 426);
    const ready = await get(`${base}/readyz`);
    assert.equal(ready.status, 200);
  });

  check('runs ping/pong and a chat between two WebSocket clients through nginx', async () => {
    const [a, b] = await Promise.all([openPeer(`ws://127.0.0.1:${port}/ws`), openPeer(`ws://127.0.0.1:${port}/ws`)]);
    try {
      await pingPongRounds(a, 3, 10_000);
      await chatExchange(a, b, `room-${runId}`);
    } finally {
      a.close();
      b.close();
    }
  });

  check('passes the browser\'s Host, so same-origin sockets are accepted and others refused', async () => {
    const same = await openPeer(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: base } });
    same.close();
    await assert.rejects(openPeer(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: 'http://evil.example' } }), /answered 403/);
  });

  check('the app logs the client address nginx saw (right-most X-Forwarded-For), not a spoofed one', async () => {
    const userAgent = `stack-test-${runId}-xff`;
    const spoofed = '203.0.113.77';
    const peer = await openPeer(`ws://127.0.0.1:${port}/ws`, { headers: { 'User-Agent': userAgent, 'X-Forwarded-For': spoofed } });
    await pingPongRounds(peer, 1, 5_000);
    peer.close();
    await peer.closed;
    // nginx writes the access log line of a WebSocket request when it ends.
    const nginxLine = await waitUntil('the access log line of the socket', async () => {
      return (await project.logs('proxy')).split('\n').find((l) => l.includes(userAgent) && l.includes('GET /ws'));
    }, { tries: 20, intervalMs: 500, timeoutMs: 15_000 });
    const seenByNginx = /\|\s*(\S+) - /.exec(nginxLine)?.[1];
    assert.ok(seenByNginx, `remote address in: ${nginxLine}`);
    const opened = await waitUntil('the app\'s "socket opened" line', async () => {
      return jsonLines(await project.logs('app')).find((l) => l.msg === 'socket opened' && l.userAgent === userAgent);
    }, { tries: 20, intervalMs: 500, timeoutMs: 15_000 });
    const proxyId = await project.containerId('proxy');
    const proxyIps = (await docker(tools, ['inspect', proxyId, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}'])).stdout.trim().split(/\s+/);
    assert.notEqual(opened.ip, spoofed, 'a client-supplied X-Forwarded-For is not believed');
    assert.ok(!proxyIps.includes(String(opened.ip)), `the app logged the proxy's own address ${String(opened.ip)} (TRUST_PROXY not in effect?)`);
    assert.equal(opened.ip, seenByNginx, 'the app logs the address nginx saw');
  });

  check('loads in Chromium, and Start runs ping/pong over ws: through the proxy', async () => {
    const result = await browserPingPong(`${base}/`, { rounds: 3 });
    assert.equal(result.endpoint, `ws://127.0.0.1:${port}/ws`);
    assert.ok(result.pings >= 3);
    assert.match(result.state, /open/);
    assert.deepEqual(result.consoleErrors, []);
  });

  check(`an idle socket outlives the proxy read timeout (${PROXY_TIMEOUT_S}s here, nginx's default 60s) thanks to the pings`, async () => {
    const proxyId = await project.containerId('proxy');
    const rendered = (await docker(tools, ['exec', proxyId, 'nginx', '-T'])).stdout;
    assert.match(rendered, new RegExp(`proxy_read_timeout ${PROXY_TIMEOUT_S}s;`), 'the shortened timeout is the one in force');
    assert.ok(idle, 'the idle socket opened in before()');
    const wanted = 2 * PROXY_TIMEOUT_S * 1000 + 1000;
    const remaining = wanted - (Date.now() - idleSince);
    if (remaining > 0) await sleep(remaining);
    assert.equal(idle.ws.readyState, WebSocket.OPEN, `closed after ${Date.now() - idleSince} ms`);
    await pingPongRounds(idle, 1, 5_000);
    log(`idle socket alive after ${Date.now() - idleSince} ms, ${idle.pongs()} pings answered`);
  });

  check('docker compose config is clean with the defaults', async () => {
    const bare = composeProject(tools, `ssconfig${runId}`, ['docker-compose.yml'], {});
    try {
      const r = await bare.run(['config', '--quiet'], { allowFailure: true });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'no warning');
    } finally {
      await bare.down();
    }
    // Every setting of the app reaches its container (PORT, HOST, TRUST_PROXY are fixed there).
    const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8')) as { services: { app: { environment: Record<string, string> } } };
    const forwarded = Object.keys(compose.services.app.environment);
    assert.deepEqual(Object.keys(DEFAULTS).filter((name) => !forwarded.includes(name)), [], 'app settings missing from docker-compose.yml');
    assert.match(composeDefault('NGINX_IMAGE'), /^nginx:1\.\d+/);
    assert.match(composeDefault('NODE_IMAGE'), /^node:26\.\d+-\w+-slim$/);
  });
});
