// TLS mode end to end: docker-compose.yml + docker-compose.tls.yml, with a local ACME CA (pebble)
// standing in for Let's Encrypt and challtestsrv resolving the test domain to the proxy.
// Starts with no certificate; certbot obtains one through nginx's webroot (with no contact
// address: LETSENCRYPT_EMAIL is optional); nginx switches to it and later to two forced renewals
// without a restart, its old workers ending within PROXY_WORKER_SHUTDOWN_TIMEOUT while chat
// clients reconnect and miss nothing; the health check covers the TLS listener, the certificate's
// expiry and the watcher; clients trust only pebble's root.
//
// Images come from NODE_IMAGE, NGINX_IMAGE, CERTBOT_IMAGE, PEBBLE_IMAGE, CHALLTESTSRV_IMAGE
// (CI: local stand-ins), else the compose files' defaults. Needs docker, docker-compose (or v2),
// chromium and certutil (libnss3-tools); a missing one fails the suite with what to install.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { chatLoad, ChatPeer, until } from '../helpers/chat.ts';
import { loadtest, summaryOf } from '../helpers/loadtest.ts';
import { browserPingPong, chromiumPath } from './stack/browser.ts';
import { composeProject, docker, dockerTools, imageFromEnv, uniqueName } from './stack/docker.ts';
import type { ComposeProject, DockerTools } from './stack/docker.ts';
import { chatExchange, freePort, get, openPeer, pingPongRounds } from './stack/net.ts';
import { failureTracking, log, requireExecutable, run, waitUntil } from './stack/proc.ts';

const runId = uniqueName('');
const DOMAIN = `tls-${runId}.socketship.test`;
const PEBBLE_FILE = 'test/e2e/stack/compose.pebble.yml';
/** Shortened from the default 60s; longer than a renewal takes, so two generations of old workers overlap. */
const WORKER_SHUTDOWN_TIMEOUT_S = 20;

let tools: DockerTools;
let project: ComposeProject;
let httpPort = 0;
let httpsPort = 0;
let challPort = 0;
/** pebble's root, fetched from its management API: the only CA the clients trust. */
let rootPem = '';
const appImage = `socketship-tls-test:${runId}`;

const { check, failed } = failureTracking(it);

/** A /24 for the test's ACME network that no Docker network uses yet. */
async function freeSubnet(): Promise<string> {
  const ids = (await docker(tools, ['network', 'ls', '--quiet'])).stdout.trim().split('\n').filter(Boolean);
  const used = ids.length ? (await docker(tools, ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids])).stdout : '';
  for (let i = 0; i < 50; i++) {
    const prefix = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.x.y.0/24 for the test network');
}

interface Handshake {
  protocol: string | null;
  cipher: string;
  serial: string;
  issuer: string;
  ticket: boolean;
}

/** One TLS handshake with the proxy (SNI = the test domain), trusting only pebble's root. */
function handshake(opts: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: DOMAIN, ca: rootPem, ...opts });
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      resolve({
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        serial: cert.serialNumber,
        issuer: String(cert.issuer?.CN ?? ''),
        ticket: socket.getTLSTicket() !== undefined,
      });
      socket.end();
    });
    socket.once('error', reject);
  });
}

async function tlsError(opts: tls.ConnectionOptions): Promise<string> {
  try {
    const h = await handshake(opts);
    return `connected with ${h.protocol ?? '?'} ${h.cipher}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

async function containerStart(service: string): Promise<string> {
  const id = await project.containerId(service);
  return (await docker(tools, ['inspect', id, '--format', '{{.State.StartedAt}} restarts={{.RestartCount}}'])).stdout.trim();
}

/** nginx's worker processes (pids): those of the configuration in force, and old ones still shutting down. */
async function nginxWorkers(): Promise<{ current: number[]; old: number[] }> {
  const id = await project.containerId('proxy');
  const out = (await docker(tools, ['exec', id, 'sh', '-c', 'for p in /proc/[0-9]*; do printf "%s " "${p#/proc/}"; tr "\\0" " " <"$p/cmdline" 2>/dev/null; echo; done'])).stdout;
  const workers = out.split('\n').map((l) => /^(\d+) (nginx: worker process.*?)\s*$/.exec(l)).filter((m) => m !== null);
  return {
    current: workers.filter((m) => m[2] === 'nginx: worker process').map((m) => Number(m[1])),
    old: workers.filter((m) => m[2]?.startsWith('nginx: worker process is shutting down')).map((m) => Number(m[1])),
  };
}

/** Run the proxy's health check now, as Docker does, with extra environment. */
async function proxyHealth(env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const id = await project.containerId('proxy');
  const r = await docker(tools, ['exec', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), id, '/bin/sh', '/usr/local/lib/socketship/healthcheck.sh'], { allowFailure: true });
  return { code: r.code, output: r.stdout + r.stderr };
}

describe('TLS mode: Let\'s Encrypt flow against a local ACME server (pebble)', () => {
  let proxyStart = '';
  const wss = (): string => `wss://${DOMAIN}:${httpsPort}/ws`;
  const https = (path: string): string => `https://${DOMAIN}:${httpsPort}${path}`;
  const http = (path: string): string => `http://${DOMAIN}:${httpPort}${path}`;

  before(async () => {
    tools = dockerTools();
    chromiumPath();
    requireExecutable('certutil', 'apt-get install libnss3-tools');
    [httpPort, httpsPort, challPort] = [await freePort(), await freePort(), await freePort()];
    const pebblePort = await freePort();
    const net = await freeSubnet();
    project = composeProject(tools, `sstls${runId}`, ['docker-compose.yml', 'docker-compose.tls.yml', PEBBLE_FILE], {
      NODE_IMAGE: imageFromEnv('NODE_IMAGE'),
      NGINX_IMAGE: imageFromEnv('NGINX_IMAGE'),
      CERTBOT_IMAGE: imageFromEnv('CERTBOT_IMAGE', 'docker-compose.tls.yml'),
      PEBBLE_IMAGE: imageFromEnv('PEBBLE_IMAGE', PEBBLE_FILE),
      CHALLTESTSRV_IMAGE: imageFromEnv('CHALLTESTSRV_IMAGE', PEBBLE_FILE),
      APP_IMAGE: appImage,
      HTTP_PORT: `127.0.0.1:${httpPort}`,
      HTTPS_PORT: `127.0.0.1:${httpsPort}`,
      PEBBLE_MANAGEMENT_PORT: String(pebblePort),
      CHALLTESTSRV_MANAGEMENT_PORT: String(challPort),
      DOMAIN,
      // Optional: the account is registered without a contact address.
      LETSENCRYPT_EMAIL: '',
      PROXY_WORKER_SHUTDOWN_TIMEOUT: `${WORKER_SHUTDOWN_TIMEOUT_S}s`,
      ACME_SERVER: 'https://pebble:14000/dir',
      CERT_CHECK_INTERVAL: '1',
      CERTBOT_NO_RANDOM_SLEEP: '1',
      ISSUE_RETRY_INTERVAL: '5s',
      APP_HEALTH_INTERVAL: '1s',
      PROXY_HEALTH_INTERVAL: '1s',
      PING_INTERVAL_MS: '1000',
      ACME_SUBNET: `${net}.0/24`,
      ACME_PROXY_IP: `${net}.10`,
      ACME_PEBBLE_IP: `${net}.11`,
      ACME_DNS_IP: `${net}.12`,
    });
    await project.run(['up', '--detach', '--build'], { timeoutMs: 360_000 });
    proxyStart = await containerStart('proxy');

    // pebble's API certificate is signed by the CA in its image; with that, fetch the root it
    // issues under (new at every pebble start).
    const pebbleId = await project.containerId('pebble');
    const minica = (await run(tools.docker, ['cp', `${pebbleId}:/test/certs/pebble.minica.pem`, '-'], { env: tools.env })).stdout;
    const minicaPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(minica)?.[0];
    assert.ok(minicaPem, 'pebble.minica.pem from the pebble container');
    rootPem = await waitUntil('pebble\'s root from its management API', async () => {
      const r = await get(`https://127.0.0.1:${pebblePort}/roots/0`, { ca: minicaPem });
      return r.status === 200 && r.text.includes('BEGIN CERTIFICATE') ? r.text : undefined;
    }, { tries: 40, intervalMs: 500, timeoutMs: 30_000 });

    // Issuance: done when the proxy serves a certificate that chains to pebble's root.
    const issued = await waitUntil('the certificate to be issued and served', async () => (await handshake()).serial, {
      tries: 90, intervalMs: 1000, timeoutMs: 120_000,
    });
    log(`certificate ${issued} served for ${DOMAIN}`);
  }, { timeout: 600_000 });

  after(async () => {
    if (project) {
      if (failed()) {
        for (const s of ['app', 'proxy', 'certbot']) console.error(`--- ${s} logs ---\n${(await project.logs(s)).split('\n').slice(-50).join('\n')}`);
      }
      await project.down();
    }
    if (tools) await docker(tools, ['image', 'rm', appImage], { allowFailure: true });
  }, { timeout: 180_000 });

  check('nginx started before any certificate existed and switched to it without a restart', async () => {
    const logs = await project.logs('proxy');
    assert.match(logs, /no certificate yet at .*: serving plain HTTP/);
    assert.match(logs, /certificate for .* changed: reloaded nginx with it/);
    assert.equal(await containerStart('proxy'), proxyStart);
    assert.match(proxyStart, /restarts=0$/);
  });

  check('https:// serves the page with HSTS, under a certificate from the ACME server', async () => {
    const page = await get(https('/'), { ca: rootPem });
    assert.equal(page.status, 200);
    assert.match(page.text, /<script[^>]+src="\/app\.js"/);
    assert.equal(page.headers['strict-transport-security'], 'max-age=63072000');
    const h = await handshake();
    assert.match(h.issuer, /Pebble/i, 'issued by pebble, not self-signed');
  });

  check('wss:// runs ping/pong and a chat between two clients', async () => {
    const [a, b] = await Promise.all([openPeer(wss(), { ca: rootPem }), openPeer(wss(), { ca: rootPem })]);
    try {
      await pingPongRounds(a, 2, 10_000);
      await chatExchange(a, b, `tls-room-${runId}`);
    } finally {
      a.close();
      b.close();
    }
  });

  // npm run loadtest pointed at the deployment as a user would: through nginx, over wss://, the
  // name resolved by --resolve, pebble's root trusted by --ca (or NODE_EXTRA_CA_CERTS). About 5 s.
  check('npm run loadtest measures the deployment through nginx over wss:// with a private CA (--ca, NODE_EXTRA_CA_CERTS); without it, one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadtest-ca-'));
    const caFile = join(dir, 'pebble-root.pem');
    writeFileSync(caFile, rootPem);
    const target = ['--url', wss(), '--resolve', '127.0.0.1', '--quiet'];
    try {
      const [withCa, viaEnv, untrusted] = await Promise.all([
        loadtest([...target, '--ca', caFile, '--connections', '10', '--connect-rate', '20', '--rate', '10', '--duration', '4', '--json']),
        loadtest([...target, '--connections', '2', '--duration', '2', '--json'], { env: { NODE_EXTRA_CA_CERTS: caFile } }),
        loadtest(target),
      ]);
      const s = summaryOf(withCa);
      log(`loadtest through nginx: ${s.connect.opened}/${s.connect.requested} opened at ${s.connect.perSec.toFixed(1)}/s (handshake p50 ${s.connect.handshakeMs.p50} ms), ` +
        `${s.messages.sent} sent, broadcast p50/p99/max ${s.messages.broadcast.latencyMs.p50}/${s.messages.broadcast.latencyMs.p99}/${s.messages.broadcast.latencyMs.max} ms, echo p50 ${s.messages.echo.latencyMs.p50} ms`);
      assert.equal(withCa.code, 0, withCa.stderr + withCa.stdout);
      assert.deepEqual({ opened: s.connect.opened, failed: s.connect.failed, closed: s.connect.closed, errors: s.errors }, { opened: 10, failed: 0, closed: 0, errors: {} });
      assert.ok(s.messages.echo.received > 0 && s.messages.echo.received === s.messages.sent, 'every echo came back');
      assert.equal(s.messages.broadcast.received, s.messages.sent * 9, 'every broadcast copy arrived');
      assert.ok(s.messages.broadcast.latencyMs.p50 > 0 && s.connect.handshakeMs.p50 > 0);
      assert.equal(viaEnv.code, 0, viaEnv.stderr + viaEnv.stdout);
      assert.equal(summaryOf(viaEnv).connect.opened, 2);
      assert.equal(untrusted.code, 1);
      assert.equal(untrusted.stdout, '');
      assert.equal(untrusted.said.length, 1, untrusted.stderr);
      assert.match(untrusted.said[0] ?? '', new RegExp(`^loadtest: cannot connect to ${wss().replace(/[.]/g, '\\.')}: .*\\(a private CA\\? pass --ca FILE or set NODE_EXTRA_CA_CERTS\\)$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  check('TLS follows Mozilla intermediate: 1.3 offered, 1.2 with its ciphers only, 1.1 refused, no tickets', async () => {
    assert.equal((await handshake()).protocol, 'TLSv1.3');
    const v12 = await handshake({ maxVersion: 'TLSv1.2' });
    assert.equal(v12.protocol, 'TLSv1.2');
    assert.match(v12.cipher, /^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/);
    assert.equal(v12.ticket, false, 'no session ticket (ssl_session_tickets off)');
    // CBC suites are in nginx's default list but not in Mozilla's: the server must refuse them.
    // (OpenSSL names the alert codes differently across versions: SSLV3_ALERT_..., SSL/TLS_ALERT_...)
    assert.match(await tlsError({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384' }), /^ERR_SSL_\S*ALERT_HANDSHAKE_FAILURE$/);
    // The client offers TLS 1.1 (SECLEVEL=0 lets OpenSSL 3 do so); the alert shows the server refused it.
    assert.match(await tlsError({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), /^ERR_SSL_\S*ALERT_PROTOCOL_VERSION$/);
  });

  check('http:// redirects to https://, except the ACME challenge path and /healthz', async () => {
    const redirect = await get(http('/some/page?x=1'));
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, https('/some/page?x=1'));
    const token = `probe-${runId}`;
    const certbotId = await project.containerId('certbot');
    await docker(tools, ['exec', certbotId, 'sh', '-c', `mkdir -p /var/www/certbot/.well-known/acme-challenge && printf %s ${token} > /var/www/certbot/.well-known/acme-challenge/${token}`]);
    const challenge = await get(http(`/.well-known/acme-challenge/${token}`));
    assert.equal(challenge.status, 200);
    assert.equal(challenge.text, token);
    assert.equal((await get(http('/healthz'))).status, 200);
  });

  check(`two renewals with chat clients open: old nginx workers end within PROXY_WORKER_SHUTDOWN_TIMEOUT (${WORKER_SHUTDOWN_TIMEOUT_S}s), clients reconnect with since and miss nothing`, async () => {
    // An old worker that holds no socket exits at once; one that does, stays until the timeout.
    const normal = await waitUntil('no old nginx workers left from the first issuance', async () => {
      const w = await nginxWorkers();
      return w.old.length === 0 && w.current.length > 0 ? w.current.length : undefined;
    }, { tries: 60, intervalMs: 500, timeoutMs: (WORKER_SHUTDOWN_TIMEOUT_S + 10) * 1000 });
    const room = `renewals-${runId}`;
    const peers: ChatPeer[] = [];
    /** The load round during which each peer joined: it is owed every message of later rounds. */
    const joinedIn = new Map<ChatPeer, number>();
    const join = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const p = new ChatPeer({ urls: [wss()], room, name: `client${peers.length}`, loopback: true, ca: rootPem });
        await p.start();
        joinedIn.set(p, load.rounds);
        peers.push(p);
      }
    };
    const load = chatLoad(peers, 250, 2000);
    const renew = async (): Promise<number> => {
      const served = (await handshake()).serial;
      const certbotId = await project.containerId('certbot');
      await docker(tools, ['exec', certbotId, '/bin/sh', '/opt/socketship/certbot.sh', 'renew', '--force-renewal'], { timeoutMs: 120_000 });
      await waitUntil('nginx to serve the renewed certificate', async () => ((await handshake()).serial !== served ? true : undefined), {
        tries: 60, intervalMs: 250, timeoutMs: 20_000,
      });
      return Date.now();
    };
    try {
      await join(3);
      const first = (await nginxWorkers()).current;
      const firstReload = await renew();
      // These land on the workers of the first reload, which the second one makes old in turn.
      await join(3);
      const second = (await nginxWorkers()).current;
      const secondReload = await renew();
      const peak = await nginxWorkers();
      log(`nginx workers: ${normal} normally; after two reloads ${peak.current.length} current + ${peak.old.length} shutting down ` +
        `(${peak.old.filter((pid) => first.includes(pid)).length} of the first generation, ${peak.old.filter((pid) => second.includes(pid)).length} of the second; reloads ${secondReload - firstReload} ms apart)`);
      assert.equal(peak.current.length, normal);
      assert.ok(peak.old.some((pid) => first.includes(pid)), 'a worker of the first generation still holds sockets');
      assert.ok(peak.old.some((pid) => second.includes(pid)), 'a worker of the second generation still holds sockets');
      const back = await waitUntil('the worker count to return to normal', async () => {
        const w = await nginxWorkers();
        return w.old.length === 0 && w.current.length === normal ? Date.now() : undefined;
      }, { tries: 200, intervalMs: 250, timeoutMs: (WORKER_SHUTDOWN_TIMEOUT_S + 15) * 1000 });
      log(`old workers gone ${back - secondReload} ms after the second reload (${back - firstReload} ms after the first); timeout ${WORKER_SHUTDOWN_TIMEOUT_S} s`);
      assert.ok(back - secondReload <= WORKER_SHUTDOWN_TIMEOUT_S * 1000 + 3000, `old workers outlived the timeout: ${back - secondReload} ms`);
      await until('every client joined again', () => peers.every((p) => p.open_), 10_000);
      const rounds = load.rounds;
      await until('a few more rounds on the new workers', () => load.rounds >= rounds + 8, 10_000);
      await load.stop();
    } catch (err) {
      for (const p of peers) p.kill();
      throw err;
    } finally {
      await load.stop();
    }
    const acked = peers.flatMap((p) => [...p.acked]);
    const owed = (p: ChatPeer): string[] => acked.filter((t) => Number(t.split('-')[1]) > (joinedIn.get(p) ?? 0));
    await until('every client has every acknowledged message', () => peers.every((p) => owed(p).every((t) => p.texts().includes(t))), 10_000).catch(() => undefined);
    for (const p of peers) p.stop();
    const lost = peers.map((p) => owed(p).filter((t) => !p.texts().includes(t)).length);
    const reconnects = peers.map((p) => p.reconnects.length);
    log(`${acked.length} messages acknowledged; per client: reconnects ${reconnects.join('/')}, lost ${lost.join('/')}, closes ${peers.map((p) => p.closes.map((c) => c.code).join('+')).join(' ')}`);
    assert.ok(acked.length > 40, 'the chat ran');
    assert.deepEqual(lost, peers.map(() => 0), 'acknowledged messages missing per client');
    assert.deepEqual(peers.map((p) => p.duplicates.length + p.outOfOrder.length), peers.map(() => 0), 'repeated or reordered messages');
    assert.ok(reconnects.every((n) => n >= 1), 'every client was moved off an old worker');
    const replays = peers.flatMap((p) => p.histories);
    assert.ok(replays.length >= peers.length && replays.every((h) => h.truncated !== true), 'each came back through a full history replay (since)');
    assert.equal(await containerStart('proxy'), proxyStart, 'nginx was reloaded, not restarted');
  });

  check('a failed challenge shows certbot\'s reason and leaves the site up', async () => {
    const name = `fail-${runId}.socketship.test`;
    // Point the name at an address where nothing answers on port 80 (pebble's own).
    const pebbleIp = (await docker(tools, ['inspect', await project.containerId('pebble'), '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'])).stdout.trim();
    const added = await fetch(`http://127.0.0.1:${challPort}/add-a`, { method: 'POST', body: JSON.stringify({ host: `${name}.`, addresses: [pebbleIp] }) });
    assert.equal(added.status, 200);
    const attempt = await project.run(['run', '--rm', '-T', '--no-deps', '-e', `DOMAIN=${name}`, 'certbot', 'obtain'], { allowFailure: true, timeoutMs: 120_000 });
    const output = attempt.stdout + attempt.stderr;
    assert.notEqual(attempt.code, 0, output);
    assert.match(output, /could not obtain a certificate for fail-/);
    assert.match(output, /Challenge failed|Some challenges have failed|Certbot failed to authenticate/i, 'certbot\'s own reason is shown');
    assert.equal((await get(http('/healthz'))).status, 200, 'nginx keeps serving http');
    assert.equal((await get(https('/healthz'), { ca: rootPem })).status, 200);
  });

  check('LETSENCRYPT_EMAIL is optional; without DOMAIN Compose refuses to start and says why', async () => {
    assert.match(await project.logs('certbot'), /no LETSENCRYPT_EMAIL: registering the ACME account without a contact address/);
    const bare = composeProject(tools, `sstlsconfig${runId}`, ['docker-compose.yml', 'docker-compose.tls.yml'], {});
    try {
      const noDomain = await bare.run(['config', '--quiet'], { allowFailure: true });
      assert.notEqual(noDomain.code, 0);
      assert.match(noDomain.stdout + noDomain.stderr, /set DOMAIN in \.env/);
      const withDomain = await bare.run(['config', '--quiet'], { allowFailure: true, env: { ...tools.env, DOMAIN: 'example.com' } });
      assert.equal(withDomain.code, 0, withDomain.stderr);
    } finally {
      await bare.down();
    }
  });

  check('key exchange follows guideline 6.0 for the OpenSSL nginx runs with (X25519MLKEM768 from 3.5 on)', async () => {
    const said = /TLS key exchange (\S+), (with|without) /.exec(await project.logs('proxy'));
    assert.ok(said?.[1], 'the proxy logs the groups it chose');
    const proxyId = await project.containerId('proxy');
    assert.match((await docker(tools, ['exec', proxyId, 'nginx', '-T'])).stdout, new RegExp(`ssl_ecdh_curve ${said[1]};`));
    const pq = said[1].startsWith('X25519MLKEM768:');
    log(`nginx offers ${said[1]}`);
    assert.equal((await handshake({ ecdhCurve: 'X25519' })).protocol, 'TLSv1.3');
    assert.equal((await handshake({ ecdhCurve: 'prime256v1', maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    assert.match(await tlsError({ ecdhCurve: 'secp521r1' }), /^ERR_SSL_\S*(HANDSHAKE_FAILURE|NO_SUITABLE_KEY_SHARE)|^ECONNRESET$/, 'a group outside the guideline is refused');
    // Node's own OpenSSL (3.5+) can offer the hybrid group alone: it works exactly when nginx offers it.
    if (pq) assert.equal((await handshake({ ecdhCurve: 'X25519MLKEM768' })).protocol, 'TLSv1.3');
    else assert.match(await tlsError({ ecdhCurve: 'X25519MLKEM768' }), /^ERR_SSL_\S*(HANDSHAKE_FAILURE|NO_SUITABLE_KEY_SHARE)|^ECONNRESET$/);
  });

  check('the proxy health check covers the TLS listener, the served certificate\'s expiry (CERT_EXPIRY_DAYS) and the watcher', async () => {
    const healthy = await proxyHealth();
    assert.equal(healthy.code, 0, healthy.output);
    assert.match(healthy.output, /^http: ok/m);
    assert.match(healthy.output, new RegExp(`^https: ok: https://${DOMAIN.replace(/\./g, '\\.')}/healthz answers`, 'm'));
    assert.match(healthy.output, /^certificate: ok: served certificate valid until .* \((8[0-9]|9[0-9]) days\)/m);
    assert.match(healthy.output, /^watcher: ok/m);
    // pebble's certificates last 90 days: asking for more makes the check fail, and say why.
    const expiring = await proxyHealth({ CERT_EXPIRY_DAYS: '100' });
    assert.equal(expiring.code, 1, expiring.output);
    assert.match(expiring.output, /^certificate: fail: served certificate expires .*, within 100 days \(CERT_EXPIRY_DAYS\)/m);
    // What Prometheus reads on the internal port: the expiry of the certificate actually served.
    await proxyHealth();
    const proxyId = await project.containerId('proxy');
    const metrics = (await docker(tools, ['exec', proxyId, 'curl', '-fsS', 'http://127.0.0.1:9145/metrics'])).stdout;
    const expiry = Number(new RegExp(`socketship_tls_certificate_expiry_timestamp_seconds\\{domain="${DOMAIN}"\\} (\\d+)`).exec(metrics)?.[1]);
    const served = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: DOMAIN, ca: rootPem }, () => {
        resolve(socket.getPeerCertificate().valid_to);
        socket.end();
      });
      socket.once('error', reject);
    });
    assert.equal(expiry, Date.parse(served) / 1000, `exported expiry ${expiry}, served ${served}`);
    assert.match(metrics, new RegExp(`socketship_tls_certificate_expiry_threshold_seconds\\{domain="${DOMAIN}"\\} ${14 * 86400}`));
    assert.match(metrics, /socketship_proxy_health_check\{check="watcher"\} 1/);
  });

  check('Chromium, trusting pebble\'s root through NSS, loads the https page and runs ping/pong over wss:', async () => {
    const result = await browserPingPong(https('/'), { mapHost: DOMAIN, trustRootPem: rootPem, rounds: 3 });
    assert.equal(result.endpoint, wss());
    assert.ok(result.pings >= 3);
    assert.match(result.state, /open/);
    assert.equal(result.tlsProtocol, 'TLS 1.3');
    assert.match(result.tlsIssuer ?? '', /Pebble/i);
    assert.deepEqual(result.consoleErrors, []);
  });

  // Last: it leaves the proxy without its watcher.
  check('a dead certificate watcher turns the proxy unhealthy', async () => {
    const proxyId = await project.containerId('proxy');
    await docker(tools, ['exec', proxyId, 'sh', '-c', 'kill "$(cat /run/socketship/watcher.pid)"']);
    const t0 = Date.now();
    const status = await waitUntil('Docker to mark the proxy unhealthy', async () => {
      const s = (await docker(tools, ['inspect', proxyId, '--format', '{{.State.Health.Status}}'])).stdout.trim();
      return s === 'unhealthy' ? s : undefined;
    }, { tries: 80, intervalMs: 500, timeoutMs: 40_000 });
    log(`proxy ${status} ${Date.now() - t0} ms after its watcher died (CERT_CHECK_INTERVAL 1 s)`);
    const output = (await proxyHealth()).output;
    assert.match(output, /^watcher: fail: certificate watcher silent for \d+ s/m);
    assert.match(output, /^https: ok/m, 'only the watcher fails');
  });
});
