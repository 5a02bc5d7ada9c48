// The proxy's choice of TLS key exchange groups (Mozilla guideline 6.0): the real
// infra/nginx/docker-entrypoint.d/19-socketship-env.envsh, sourced by /bin/sh as the nginx
// image's entrypoint does, in front of an `nginx -V` that reports a given OpenSSL. The post-quantum
// X25519MLKEM768 must be offered exactly when nginx runs with OpenSSL 3.5 or newer: an nginx
// whose OpenSSL does not know the group refuses to start with it. (The stand-in nginx runs with
// OpenSSL 3.0, so tls.test.ts sees the other branch for real.)
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO } from './stack/docker.ts';
import { run } from './stack/proc.ts';

const ENVSH = join(REPO, 'infra/nginx/docker-entrypoint.d/19-socketship-env.envsh');
const PQ = 'X25519MLKEM768:X25519:prime256v1:secp384r1';
const CLASSIC = 'X25519:prime256v1:secp384r1';

describe('proxy TLS groups follow the OpenSSL nginx runs with', () => {
  const bin = mkdtempSync(join(tmpdir(), 'fake-nginx-'));
  // nginx -V prints to stderr; the line under test comes from the environment.
  writeFileSync(join(bin, 'nginx'), '#!/bin/sh\necho "nginx version: nginx/1.30.0" >&2\necho "$FAKE_NGINX_SSL" >&2\n');
  chmodSync(join(bin, 'nginx'), 0o755);
  after(() => rmSync(bin, { recursive: true, force: true }));

  async function groups(sslLine: string): Promise<{ groups: string; log: string }> {
    const r = await run('/bin/sh', ['-c', `. "${ENVSH}" && printf '%s' "$SOCKETSHIP_TLS_GROUPS"`], {
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_NGINX_SSL: sslLine, PROXY_MODE: 'tls', DOMAIN: 'example.com' },
    });
    return { groups: r.stdout.split('\n').pop() ?? '', log: r.stdout };
  }

  const cases: [string, string][] = [
    ['built with OpenSSL 3.5.1 1 Jul 2025', PQ],
    ['built with OpenSSL 3.0.11 19 Sep 2023 (running with OpenSSL 3.5.4 30 Sep 2025)', PQ],
    ['built with OpenSSL 4.0.0 14 Apr 2026', PQ],
    ['built with OpenSSL 3.5.0 8 Apr 2025 (running with OpenSSL 3.0.17 1 Jul 2025)', CLASSIC],
    ['built with OpenSSL 3.4.1 11 Feb 2025', CLASSIC],
    ['built with OpenSSL 3.0.22 25 Aug 2026', CLASSIC],
    ['built with LibreSSL 4.0.0', CLASSIC],
  ];
  for (const [line, expected] of cases) {
    it(`"${line}" -> ${expected === PQ ? 'with' : 'without'} X25519MLKEM768`, async () => {
      const r = await groups(line);
      assert.equal(r.groups, expected);
      assert.match(r.log, expected === PQ ? /with the post-quantum group X25519MLKEM768/ : /without X25519MLKEM768 \(needs OpenSSL 3\.5 or newer\)/);
    });
  }
});
