// azd keeps Terraform state per environment (.azure/<env>/...) unless it decides the module
// uses remote state, which it does by a plain substring search for `backend "azurerm"` in the
// text of every .tf file of the module folder, comments included (isRemoteBackendConfig in
// azd's cli/azd/pkg/infra/provisioning/terraform/terraform_provider.go). A match anywhere
// but in a real backend block switches azd to remote mode with empty settings: every azd
// environment on the machine then shares one state, and `azd env new prod && azd up` plans
// to replace dev. This is that check, ported, over infra/azure/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseModuleText } from './lib/terraform.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INFRA = `${ROOT}infra/azure`;
const NEEDLE = 'backend "azurerm"';
// azd 1.31's isRemoteBackendConfig switches to remote state on any of these texts (every
// Terraform backend type but local), and on a file holding both `terraform {` and `cloud {`
// (HCP Terraform). All are plain substring searches, comments included.
const BACKEND_TYPES = ['azurerm', 'remote', 's3', 'gcs', 'consul', 'cos', 'http', 'kubernetes', 'oss', 'pg'];
const NEEDLES = BACKEND_TYPES.map((type) => `backend "${type}"`);

/** Which of azd's remote-state triggers a file's text contains. */
function remoteTriggers(text: string): string[] {
  const found = NEEDLES.filter((needle) => text.includes(needle));
  if (text.includes('terraform {') && text.includes('cloud {')) found.push('terraform { ... cloud {');
  return found;
}

/** azd's isRemoteBackendConfig: any regular *.tf file directly in the folder with a trigger. */
function azdSeesRemoteBackend(files: Record<string, string>): boolean {
  return Object.entries(files).some(([name, text]) => name.endsWith('.tf') && remoteTriggers(text).length > 0);
}

function moduleFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isFile()) out[name] = readFileSync(path, 'utf8');
  }
  return out;
}

/** Does the text declare a real `terraform { backend "azurerm" {} }` block (not a comment or string)? */
async function declaresBackend(text: string): Promise<boolean> {
  const module = await parseModuleText({ 'check.tf': text });
  return module.terraform.some((t) => typeof t.backend === 'object' && t.backend !== null && 'azurerm' in t.backend);
}

// The comment infra/provider.tf carried before this fix, verbatim.
const OLD_PROVIDER_COMMENT = `# State: local by default (azd keeps it in .azure/<env>/infra/terraform.tfstate).
# The GitHub workflow adds a \`backend "azurerm"\` override at run time so CI runs
# share one remote state (see .github/workflows/azure-dev.yml and provider.conf.json).
terraform {
  required_version = ">= 1.9.0, < 2.0.0"
}
`;

describe('azd state mode (local per environment unless a real azurerm backend block exists)', () => {
  it('no .tf file in infra/azure/ contains any text azd searches for, so azd keeps state per environment', () => {
    const files = moduleFiles(INFRA);
    const offenders = Object.entries(files).filter(([name, text]) => name.endsWith('.tf') && remoteTriggers(text).length > 0).map(([name, text]) => `${name} (${remoteTriggers(text).join(', ')})`);
    assert.deepEqual(offenders, [], `azd would switch to remote state because of: ${offenders.join(', ')}`);
    assert.equal(azdSeesRemoteBackend(files), false);
  });

  it('every occurrence of the text, wherever it is allowed, is a real backend block', async () => {
    for (const [name, text] of Object.entries(moduleFiles(INFRA))) {
      if (name.endsWith('.tf') && text.includes(NEEDLE)) assert.ok(await declaresBackend(text), `${name} mentions ${NEEDLE} outside a backend block`);
    }
  });

  it('the check catches every trigger azd matches, in code or in a comment', () => {
    for (const type of BACKEND_TYPES) {
      assert.equal(azdSeesRemoteBackend({ 'x.tf': `# state could go to a backend "${type}" block\n` }), true, type);
    }
    assert.equal(azdSeesRemoteBackend({ 'x.tf': 'terraform {\n  cloud {\n    organization = "o"\n  }\n}\n' }), true, 'HCP Terraform');
    assert.equal(azdSeesRemoteBackend({ 'x.tf': 'terraform {\n  required_version = ">= 1.9"\n}\n' }), false);
    assert.equal(azdSeesRemoteBackend({ 'x.tf.json': 'backend "s3"', 'notes.md': 'backend "gcs"' }), false, 'only *.tf files count');
  });

  it('the check catches the old comment (the bug) and accepts the workflow\'s real override', async () => {
    assert.equal(azdSeesRemoteBackend({ 'provider.tf': OLD_PROVIDER_COMMENT }), true, 'the ported check must flag a comment');
    assert.equal(await declaresBackend(OLD_PROVIDER_COMMENT), false, 'a comment is not a backend block');
    // What .github/workflows/azure-dev.yml writes at run time: remote state in CI, documented.
    const workflow = readFileSync(`${ROOT}.github/workflows/azure-dev.yml`, 'utf8');
    const printf = /printf '([^']+)' > infra\/azure\/backend_override\.tf/.exec(workflow);
    assert.ok(printf, 'the deploy workflow no longer writes infra/azure/backend_override.tf');
    const override = (printf[1] ?? '').replace(/\\n/g, '\n');
    assert.equal(azdSeesRemoteBackend({ 'backend_override.tf': override }), true);
    assert.equal(await declaresBackend(override), true);
    assert.match(readFileSync(`${ROOT}docs/azure.md`, 'utf8'), /backend_override\.tf/, 'docs/azure.md must explain the remote-state mode');
  });
});
