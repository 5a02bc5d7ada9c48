// The azd hooks in azure.yaml, run for real with sh: the secret check that keeps azd from
// writing broken JSON into main.tfvars.json, and the choice of deploy target that azd 1.24+
// needs when the site has a slot. azd itself cannot reach Azure here, so a stand-in `azd`
// (a shell script keeping `azd env` values in a file, as azd keeps .azure/<env>/.env) takes
// the script's calls.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOOKS = `${ROOT}infra/azure/hooks/`;

function run(script: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sh', [`${HOOKS}${script}`], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A stand-in azd: `env get-value K` (exit 1 when unset, as azd does) and `env set K V`. */
function standInAzd(values: Record<string, string>): { bin: string; values: () => Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'azd-'));
  const store = join(dir, 'env');
  writeFileSync(store, Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(''));
  const bin = join(dir, 'azd');
  writeFileSync(bin, `#!/bin/sh
store='${store}'
case "$1 $2" in
  "env get-value") line=$(grep "^$3=" "$store") || { echo "ERROR: key '$3' not found" >&2; exit 1; }; echo "\${line#*=}" ;;
  "env set") grep -v "^$3=" "$store" > "$store.new" || true; echo "$3=$4" >> "$store.new"; mv "$store.new" "$store" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
`, { mode: 0o755 });
  const read = (): Record<string, string> => Object.fromEntries(readFileSync(store, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { bin, values: read };
}

/** What azd does to main.tfvars.json: ${NAME} replaced by the raw value, no escaping. */
function substitute(template: string, env: Record<string, string>): string {
  return template.replace(/\$\{(\w+)\}/g, (_, name: string) => env[name] ?? '');
}

describe('azd hooks (azure.yaml)', () => {
  it('azure.yaml runs the secret check before provision and the target choice after it', () => {
    const doc = parseYaml(readFileSync(`${ROOT}azure.yaml`, 'utf8')) as { hooks?: Record<string, { shell?: string; run?: string }> };
    assert.deepEqual(doc.hooks?.preprovision, { shell: 'sh', run: './infra/azure/hooks/check-secrets.sh' });
    assert.deepEqual(doc.hooks?.postprovision, { shell: 'sh', run: './infra/azure/hooks/select-slot.sh' });
  });

  describe('select-slot.sh', () => {
    it('deploys to the staging slot when it exists (STAGING_URL set by Terraform)', () => {
      const azd = standInAzd({ STAGING_URL: 'https://app-x-staging.azurewebsites.net' });
      const r = run('select-slot.sh', { AZD: azd.bin });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(azd.values().AZD_DEPLOY_APP_SLOT_NAME, 'staging');
    });

    it('names production when there is no slot (empty output, or none at all), replacing a stale staging', () => {
      for (const start of [{ STAGING_URL: '' }, {}, { AZD_DEPLOY_APP_SLOT_NAME: 'staging' }] as Record<string, string>[]) {
        const azd = standInAzd(start);
        const r = run('select-slot.sh', { AZD: azd.bin });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(azd.values().AZD_DEPLOY_APP_SLOT_NAME, 'production', JSON.stringify(start));
      }
    });
  });

  describe('check-secrets.sh', () => {
    const template = readFileSync(`${ROOT}infra/azure/main.tfvars.json`, 'utf8');

    it('refuses, by name and exit 1, what azd would write as broken JSON: a quote, a backslash, a control character', () => {
      for (const [name, value] of [['AUTH_JWT_SECRET', `x${'a'.repeat(31)}"`], ['API_KEY', `${'k'.repeat(32)}\\n`], ['AUTH_JWT_SECRET', `${'s'.repeat(32)}\n`], ['API_KEY', `${'t'.repeat(16)}\t${'t'.repeat(16)}`]] as const) {
        const r = run('check-secrets.sh', { [name]: value });
        assert.equal(r.status, 1, `${name}=${JSON.stringify(value)} was accepted`);
        assert.match(r.stderr, new RegExp(`^${name}: `));
        assert.ok(!r.stderr.includes(value.trim()), 'the secret itself is never printed');
        // Why: the substituted file is not the JSON Terraform needs, or holds another value.
        let parsed: Record<string, string> | undefined;
        try { parsed = JSON.parse(substitute(template, { [name]: value })) as Record<string, string>; } catch { parsed = undefined; }
        assert.ok(parsed === undefined || parsed[name === 'API_KEY' ? 'api_key' : 'auth_jwt_secret'] !== value);
      }
    });

    it('accepts the rest of printable ASCII and no secret at all; what it accepts survives the substitution', () => {
      const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => c !== '"' && c !== '\\').join('');
      const env = { AUTH_JWT_SECRET: printable, API_KEY: 'k'.repeat(40) };
      assert.equal(run('check-secrets.sh', env).status, 0);
      assert.equal(run('check-secrets.sh', {}).status, 0);
      const parsed = JSON.parse(substitute(template, env)) as Record<string, string>;
      assert.equal(parsed.auth_jwt_secret, printable);
      assert.equal(parsed.api_key, env.API_KEY);
    });
  });
});
