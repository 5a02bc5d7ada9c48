// TLS mode end to end: docker-compose.yml + docker-compose.tls.yml, with a local ACME CA (pebble)
// standing in for Let's Encrypt and challtestsrv resolving the test domain to the proxy.
// Starts with no certificate; certbot obtains one through nginx's webroot; nginx switches to it
// and later to a forced renewal without a restart; clients trust only pebble's root.
//
// Images come from NODE_IMAGE, NGINX_IMAGE, CERTBOT_IMAGE, PEBBLE_IMAGE, CHALLTESTSRV_IMAGE
// (CI: local stand-ins), else the compose files' defaults. Needs docker, docker-compose (or v2),
// chromium and certutil (libnss3-tools); a missing one fails the suite with what to install.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import WebSocket from 'ws';
import { browserPingPong, chromiumPath } from './stack/browser.ts';
import { composeProject, docker, dockerTools, imageFromEnv, uniqueName } from './stack/docker.ts';
import type { ComposeProject, DockerTools } from './stack/docker.ts';
import { chatExchange, freePort, get, openPeer, pingPongRounds } from './stack/net.ts';
import type { Peer } from './stack/net.ts';
import { failureTracking, log, requireExecutable, run, waitUntil } from './stack/proc.ts';

const runId = uniqueName('');
const DOMAIN = `tls-${runId}.socketship.test`;
const PEBBLE_FILE = 'test/e2e/stack/compose.pebble.yml';

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
      LETSENCRYPT_EMAIL: 'admin@socketship.test',
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

  check('a forced renewal changes the served certificate without restarting nginx or dropping a wss client', async () => {
    const before = await handshake();
    const peer: Peer = await openPeer(wss(), { ca: rootPem });
    try {
      await pingPongRounds(peer, 1, 5_000);
      const certbotId = await project.containerId('certbot');
      await docker(tools, ['exec', certbotId, '/bin/sh', '/opt/socketship/certbot.sh', 'renew', '--force-renewal'], { timeoutMs: 120_000 });
      const renewed = await waitUntil('nginx to serve the renewed certificate', async () => {
        const h = await handshake();
        return h.serial !== before.serial ? h : undefined;
      }, { tries: 30, intervalMs: 1000, timeoutMs: 40_000 });
      log(`serial ${before.serial} -> ${renewed.serial}`);
      assert.equal(peer.ws.readyState, WebSocket.OPEN, 'the connected client was not dropped');
      await pingPongRounds(peer, 2, 10_000);
      assert.equal(await containerStart('proxy'), proxyStart, 'nginx was reloaded, not restarted');
    } finally {
      peer.close();
    }
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

  check('clear messages when DOMAIN or LETSENCRYPT_EMAIL is missing', async () => {
    const noEmail = await project.run(['run', '--rm', '-T', '--no-deps', '-e', 'LETSENCRYPT_EMAIL=', 'certbot', 'obtain'], { allowFailure: true, timeoutMs: 60_000 });
    assert.notEqual(noEmail.code, 0);
    assert.match(noEmail.stdout + noEmail.stderr, /LETSENCRYPT_EMAIL is not set/);
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

  check('Chromium, trusting pebble\'s root through NSS, loads the https page and runs ping/pong over wss:', async () => {
    const result = await browserPingPong(https('/'), { mapHost: DOMAIN, trustRootPem: rootPem, rounds: 3 });
    assert.equal(result.endpoint, wss());
    assert.ok(result.pings >= 3);
    assert.match(result.state, /open/);
    assert.equal(result.tlsProtocol, 'TLS 1.3');
    assert.match(result.tlsIssuer ?? '', /Pebble/i);
    assert.deepEqual(result.consoleErrors, []);
  });
});
