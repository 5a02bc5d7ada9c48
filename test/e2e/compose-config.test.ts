// Every combination of the compose files, as Compose itself resolves it (`config`): clean (no
// error, no warning), and every service bounded and least-privileged: rotated logs from the
// shared `x-service` anchor, a memory and a process limit, no-new-privileges, every capability
// dropped but the few a service needs, a read-only root, and nothing published beyond the proxy
// (and Prometheus on loopback). Needs docker-compose (or Compose v2).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { composeProject, dockerTools, REPO, uniqueName } from './stack/docker.ts';
import type { DockerTools } from './stack/docker.ts';

const EXTRAS = ['docker-compose.tls.yml', 'docker-compose.scale.yml', 'docker-compose.monitoring.yml'];
/** The capabilities a service may get back, and why (docker-compose.yml says it too). */
const CAPS: Record<string, string[]> = {
  // nginx's master: binds 80/443, switches its workers to user nginx, chowns its temp dirs.
  proxy: ['CHOWN', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'],
};

interface Service {
  logging?: { driver?: string; options?: Record<string, string> };
  mem_limit?: string | number;
  pids_limit?: number;
  security_opt?: string[];
  cap_drop?: string[];
  cap_add?: string[];
  read_only?: boolean;
  restart?: string;
  ports?: (string | { published?: string | number; host_ip?: string })[];
}

function combinations(): string[][] {
  const out: string[][] = [];
  for (let mask = 0; mask < 1 << EXTRAS.length; mask++) out.push(['docker-compose.yml', ...EXTRAS.filter((_, i) => mask & (1 << i))]);
  return out;
}

describe('docker compose config: every combination of the compose files', () => {
  let tools: DockerTools;
  before(() => {
    tools = dockerTools();
  });

  it('each file repeats the same x-service anchor (YAML anchors do not cross files)', () => {
    const anchor = (file: string): unknown => (parse(readFileSync(join(REPO, file), 'utf8'), { merge: true }) as Record<string, unknown>)['x-service'];
    const base = anchor('docker-compose.yml');
    assert.ok(base, 'docker-compose.yml has x-service');
    for (const file of EXTRAS) assert.deepEqual(anchor(file), base, `${file}'s x-service differs from docker-compose.yml's`);
  });

  for (const files of combinations()) {
    it(`${files.join(' + ')}: clean, every service bounded and least-privileged`, async () => {
      // The TLS file needs DOMAIN (and says so without it: tls.test.ts); nothing else is set.
      const project = composeProject(tools, `sscfg${uniqueName('')}`, files, files.includes('docker-compose.tls.yml') ? { DOMAIN: 'example.com' } : {});
      try {
        const r = await project.run(['config'], { allowFailure: true });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr.trim(), '', 'no warning');
        const services = (parse(r.stdout) as { services: Record<string, Service> }).services;
        const expected = ['app', 'proxy', ...(files.includes('docker-compose.tls.yml') ? ['certbot'] : []),
          ...(files.includes('docker-compose.scale.yml') ? ['redis'] : []), ...(files.includes('docker-compose.monitoring.yml') ? ['prometheus'] : [])];
        assert.deepEqual(Object.keys(services).sort(), expected.sort());
        for (const [name, s] of Object.entries(services)) {
          assert.deepEqual(s.logging, { driver: 'local', options: { 'max-size': '10m', 'max-file': '5' } }, `${name}: bounded logs`);
          assert.match(String(s.mem_limit ?? ''), /^\d+[kmg]?$/i, `${name}: memory limit`);
          assert.ok(Number.isInteger(s.pids_limit) && (s.pids_limit ?? 0) > 0, `${name}: pids limit`);
          assert.ok(s.security_opt?.includes('no-new-privileges:true'), `${name}: no-new-privileges`);
          assert.deepEqual(s.cap_drop, ['ALL'], `${name}: cap_drop ALL`);
          assert.deepEqual([...(s.cap_add ?? [])].sort(), CAPS[name] ?? [], `${name}: capabilities added back`);
          assert.equal(s.read_only, true, `${name}: read-only root filesystem`);
          assert.equal(s.restart, 'unless-stopped', `${name}: restart policy`);
          const published = (s.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.host_ip ?? ''}:${String(p.published ?? '')}`));
          if (name === 'prometheus') assert.deepEqual(published.map((p) => p.replace(/:9090(\/tcp)?$/, '')), ['127.0.0.1:9090'], 'Prometheus on loopback only');
          else if (name !== 'proxy') assert.deepEqual(published, [], `${name} is not published`);
        }
      } finally {
        await project.down();
      }
    });
  }
});
