// `terraform fmt -check -recursive infra/azure`: the Terraform is in canonical format. Needs the
// terraform CLI (no provider download, so it works offline). The offline name and policy
// checks of the same files run in `npm test` (test/infra/).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL = 'terraform is not installed: install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install, or `apt-get install terraform` from the HashiCorp apt repository) and put it on PATH';

function terraform(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('terraform', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail(INSTALL);
  if (run.error) throw run.error;
  return run;
}

describe('terraform fmt', () => {
  it('infra/azure/ is formatted (terraform fmt -check -recursive infra/azure)', () => {
    const run = terraform(['fmt', '-check', '-recursive', '-diff', 'infra/azure']);
    assert.equal(run.status, 0, `terraform fmt would change these files (run \`terraform fmt -recursive infra/azure\`):\n${run.stdout}${run.stderr}`);
  });

  it('the check fails on badly formatted Terraform (negative check)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-fmt-'));
    try {
      writeFileSync(join(dir, 'bad.tf'), 'resource "azurerm_resource_group" "x" {\nname="x"\n      location = "westeurope"\n}\n');
      const run = terraform(['fmt', '-check', '-recursive', '.'], dir);
      assert.notEqual(run.status, 0);
      assert.match(run.stdout, /bad\.tf/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
