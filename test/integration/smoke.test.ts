// The smoke CLI (scripts/smoke.ts) against the real service started as a child process:
// plain http, https through a local TLS terminator (certificate expiry), and failures
// (nothing listening, a /ws that answers 404 instead of 101, a certificate about to expire).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startService, REPO_ROOT } from '../infra/lib/service.ts';
import type { RunningService } from '../infra/lib/service.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function smoke(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/smoke.ts', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err && typeof err.code === 'number' ? err.code : err ? -1 : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function listen(server: Server | TlsServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server | TlsServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('npm run smoke', () => {
  let service: RunningService;

  before(async () => {
    service = await startService({ PING_INTERVAL_MS: '200', PONG_TIMEOUT_MS: '5000' });
  });

  after(async () => {
    await service.stop();
  });

  it('passes against the running service over http and reports every check', async () => {
    const run = await smoke([service.url]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}\n--- service ---\n${service.output()}`);
    assert.match(run.stdout, /PASS {2}GET \/healthz +200 \{"status":"ok"\}/);
    assert.match(run.stdout, /PASS {2}GET \/readyz +200 ready, \d+ connections/);
    assert.match(run.stdout, /PASS {2}WebSocket upgrade +101 Switching Protocols at ws:\/\/127\.0\.0\.1:\d+\/ws/);
    assert.match(run.stdout, /PASS {2}Welcome +id=\S+ room=lobby name=\S+/);
    assert.match(run.stdout, /PASS {2}Ping\/pong +answered [2-9]\d* server pings, every \d+ ms; round trip [\d.]+ ms/);
    assert.match(run.stdout, /PASS {2}Chat echo +message echoed in \d+ ms/);
    assert.match(run.stdout, /^6 checks passed, 0 failed$/m);
    assert.doesNotMatch(run.stdout, /TLS certificate/, 'no certificate check for http');
  });

  it('exits non-zero when nothing listens', async () => {
    const port = await freePort();
    const run = await smoke([`http://127.0.0.1:${port}`, '--timeout', '2000']);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /FAIL {2}GET \/healthz +.*ECONNREFUSED/);
    assert.match(run.stdout, /FAIL {2}WebSocket upgrade/);
    assert.match(run.stdout, /0 checks passed, 3 failed/);
  });

  it('exits non-zero when the proxy does not pass the upgrade (404 on /ws)', async () => {
    // Healthy HTTP endpoints, but every other request (the upgrade included) gets 404.
    const proxy = createServer((req, res) => {
      if (req.url === '/healthz') res.end('{"status":"ok"}');
      else if (req.url === '/readyz') res.end('{"status":"ready","connections":0}');
      else {
        res.statusCode = 404;
        res.end('not found');
      }
    });
    const port = await listen(proxy);
    try {
      const run = await smoke([`http://127.0.0.1:${port}`, '--timeout', '3000']);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /PASS {2}GET \/healthz/);
      assert.match(run.stdout, /FAIL {2}WebSocket upgrade +404 Not Found instead of 101 Switching Protocols/);
    } finally {
      await close(proxy);
    }
  });

  it('rejects bad usage with exit code 2', async () => {
    const run = await smoke(['ftp://example.invalid']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unsupported scheme ftp:/);
    assert.equal((await smoke([])).code, 2);
  });

  describe('over https (a local TLS terminator in front of the service)', () => {
    let dir: string;
    let tls: TlsServer;
    let url: string;
    let caEnv: Record<string, string>;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'smoke-tls-'));
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      const made = spawnSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
          '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE'],
        { encoding: 'utf8' },
      );
      assert.equal(made.error, undefined, 'openssl is needed for this test: apt-get install openssl');
      assert.equal(made.status, 0, made.stderr);
      // TLS in, plain TCP out: the upgrade passes through untouched, as behind App Service.
      tls = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (client) => {
        const upstream = connect(service.port, '127.0.0.1');
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      url = `https://localhost:${await listen(tls)}`;
      caEnv = { NODE_EXTRA_CA_CERTS: cert };
    });

    after(async () => {
      await close(tls);
      rmSync(dir, { recursive: true, force: true });
    });

    it('passes with wss:// and reports the certificate days to expiry', async () => {
      const run = await smoke([url], caEnv);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /PASS {2}TLS certificate +CN=localhost, TLSv1\.3, expires in (29|30) days/);
      assert.match(run.stdout, /PASS {2}WebSocket upgrade +101 Switching Protocols at wss:\/\/localhost:\d+\/ws/);
      assert.match(run.stdout, /^7 checks passed, 0 failed$/m);
    });

    it('fails when the certificate expires sooner than --min-cert-days', async () => {
      const run = await smoke([url, '--min-cert-days', '60'], caEnv);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /FAIL {2}TLS certificate +.*fewer than 60/);
    });

    it('fails when the certificate is not trusted', async () => {
      const run = await smoke([url, '--timeout', '3000']);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /FAIL {2}TLS certificate +.*(self[- ]signed|unable to verify)/i);
    });
  });
});
