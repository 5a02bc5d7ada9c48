// Lint of the user-facing GitHub workflows: YAML that parses without duplicate keys, the
// structure GitHub Actions requires, expressions that close and name real contexts, shell
// scripts that parse (`bash -n`), npm scripts that exist, and each workflow's purpose.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = `${ROOT}.github/workflows/`;

type Map = Record<string, unknown>;

const WORKFLOW_KEYS = new Set(['name', 'run-name', 'on', 'permissions', 'env', 'defaults', 'concurrency', 'jobs']);
const JOB_KEYS = new Set([
  'name', 'needs', 'permissions', 'runs-on', 'environment', 'concurrency', 'outputs', 'env', 'defaults', 'if',
  'steps', 'timeout-minutes', 'strategy', 'continue-on-error', 'container', 'services', 'uses', 'with', 'secrets',
]);
const STEP_KEYS = new Set(['id', 'if', 'name', 'uses', 'run', 'shell', 'with', 'env', 'continue-on-error', 'timeout-minutes', 'working-directory']);
const CONTEXTS = new Set(['github', 'env', 'vars', 'secrets', 'matrix', 'steps', 'needs', 'runner', 'job', 'jobs', 'inputs', 'strategy']);
const PERMISSION_VALUES = new Set(['read', 'write', 'none']);

interface Step { job: string; index: number; step: Map }

function load(file: string): Map {
  const doc = parseDocument(readFileSync(`${DIR}${file}`, 'utf8'), { uniqueKeys: true, prettyErrors: true });
  assert.deepEqual(doc.errors.map((e) => e.message), [], `${file} does not parse`);
  const value = doc.toJS() as unknown;
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${file}: top level is not a mapping`);
  return value as Map;
}

function isMap(v: unknown): v is Map {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function steps(wf: Map): Step[] {
  const out: Step[] = [];
  for (const [job, body] of Object.entries(wf.jobs as Map)) {
    const list = (body as Map).steps;
    if (Array.isArray(list)) list.forEach((step, index) => out.push({ job, index, step: step as Map }));
  }
  return out;
}

function allStrings(v: unknown, into: string[] = []): string[] {
  if (typeof v === 'string') into.push(v);
  else if (Array.isArray(v)) for (const x of v) allStrings(x, into);
  else if (isMap(v)) for (const [k, x] of Object.entries(v)) { into.push(k); allStrings(x, into); }
  return into;
}

const packageScripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;

function lint(wf: Map): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(wf)) if (!WORKFLOW_KEYS.has(key)) problems.push(`unknown top-level key "${key}"`);
  if (!('on' in wf)) problems.push('no "on" trigger');
  if (isMap(wf.permissions)) {
    for (const [k, v] of Object.entries(wf.permissions)) if (!PERMISSION_VALUES.has(String(v))) problems.push(`permission ${k}: ${String(v)}`);
  }
  const jobs = wf.jobs;
  if (!isMap(jobs) || Object.keys(jobs).length === 0) return [...problems, 'no jobs'];
  for (const [id, job] of Object.entries(jobs)) {
    if (!/^[A-Za-z_][\w-]*$/.test(id)) problems.push(`job id "${id}" is not valid`);
    if (!isMap(job)) { problems.push(`job ${id} is not a mapping`); continue; }
    for (const key of Object.keys(job)) if (!JOB_KEYS.has(key)) problems.push(`job ${id}: unknown key "${key}"`);
    if (!('uses' in job)) {
      if (!('runs-on' in job)) problems.push(`job ${id}: no runs-on`);
      if (!Array.isArray(job.steps) || job.steps.length === 0) problems.push(`job ${id}: no steps`);
    }
    const needs = typeof job.needs === 'string' ? [job.needs] : Array.isArray(job.needs) ? job.needs : [];
    for (const n of needs) if (!(String(n) in jobs)) problems.push(`job ${id} needs unknown job ${String(n)}`);
  }
  for (const { job, index, step } of steps(wf)) {
    const where = `job ${job} step ${index + 1}${typeof step.name === 'string' ? ` (${step.name})` : ''}`;
    if (!isMap(step)) { problems.push(`${where}: not a mapping`); continue; }
    for (const key of Object.keys(step)) if (!STEP_KEYS.has(key)) problems.push(`${where}: unknown key "${key}"`);
    const hasUses = typeof step.uses === 'string';
    const hasRun = typeof step.run === 'string';
    if (hasUses === hasRun) problems.push(`${where}: needs exactly one of uses or run`);
    if (hasUses && !/^([\w.-]+\/[\w.-]+(\/[\w./-]+)?@[\w.-]+|\.\/[\w./-]+|docker:\/\/\S+)$/.test(String(step.uses))) {
      problems.push(`${where}: uses "${String(step.uses)}" is not owner/repo@ref`);
    }
    if (hasRun && 'with' in step) problems.push(`${where}: "with" on a run step`);
    if (hasUses && 'shell' in step) problems.push(`${where}: "shell" on a uses step`);
    if (hasRun) {
      // Expressions are substituted before the shell sees the script: stand in a word.
      const script = String(step.run).replace(/\$\{\{[^}]*\}\}/g, 'EXPR');
      const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      if (check.status !== 0) problems.push(`${where}: bash -n: ${check.stderr.trim()}`);
      for (const m of String(step.run).matchAll(/npm run ([\w:-]+)/g)) {
        if (!(m[1] && m[1] in packageScripts)) problems.push(`${where}: npm script "${m[1] ?? ''}" does not exist in package.json`);
      }
    }
  }
  for (const text of allStrings(wf)) {
    const opens = text.split('${{').length - 1;
    const closes = text.split('}}').length - 1;
    if (opens !== closes) problems.push(`unbalanced expression in "${text}"`);
    for (const m of text.matchAll(/\$\{\{([^}]*)\}\}/g)) {
      for (const ctx of (m[1] ?? '').matchAll(/(?<![\w.'-])([a-z_]+)\.[\w-]+/g)) {
        if (!CONTEXTS.has(ctx[1] ?? '')) problems.push(`unknown context "${ctx[1] ?? ''}" in ${m[0]}`);
      }
    }
  }
  return problems;
}

/** Every command occurs in the text, first occurrences in this order. */
function assertInOrder(text: string, order: string[], message: string): void {
  const at = order.map((cmd) => text.indexOf(cmd));
  assert.ok(at.every((i) => i >= 0), `missing one of ${order.join(', ')}`);
  assert.deepEqual([...at].sort((a, b) => a - b), at, message);
}

function runs(wf: Map): string {
  return steps(wf).map(({ step }) => (typeof step.run === 'string' ? step.run : '')).join('\n');
}

function uses(wf: Map): string[] {
  return steps(wf).flatMap(({ step }) => (typeof step.uses === 'string' ? [step.uses] : []));
}

describe('GitHub workflows', () => {
  const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

  it('include ci.yml and azure-dev.yml', () => {
    assert.ok(files.includes('ci.yml') && files.includes('azure-dev.yml'), files.join(', '));
  });

  for (const file of files) {
    it(`${file} passes the structural lint`, () => {
      assert.deepEqual(lint(load(file)), []);
    });
  }

  it('pin every action by full commit SHA, with the tag it was taken from in a comment', () => {
    for (const file of files) {
      const source = readFileSync(`${DIR}${file}`, 'utf8');
      for (const ref of uses(load(file))) {
        assert.match(ref, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${file}: ${ref} is not pinned by commit`);
        assert.match(source, new RegExp(`uses: ${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} # v\\d+(\\.\\d+)*\\s*$`, 'm'), `${file}: ${ref} has no "# vX.Y.Z" comment`);
      }
    }
    // The same action at the same commit everywhere.
    const pins = new Map<string, Set<string>>();
    for (const file of files) for (const ref of uses(load(file))) {
      const [action, sha] = ref.split('@') as [string, string];
      pins.set(action, (pins.get(action) ?? new Set()).add(sha));
    }
    for (const [action, shas] of pins) assert.equal(shas.size, 1, `${action} is pinned to ${[...shas].join(' and ')}`);
  });

  it('the lint catches broken workflows (negative check on a mutated ci.yml)', () => {
    const wf = structuredClone(load('ci.yml'));
    const job = (wf.jobs as Map).check as Map;
    const list = job.steps as Map[];
    list.push({ name: 'both', uses: 'actions/checkout@v4', run: 'echo' });
    list.push({ name: 'unpinned', uses: 'actions/checkout' });
    list.push({ name: 'bad shell', run: 'if true; then echo' });
    list.push({ name: 'no script', run: 'npm run no-such-script' });
    list.push({ name: 'bad expr', run: 'echo ${{ matrix.node }', env: { X: '${{ secret.X }}' } });
    list.push({ name: 'typo', runs: 'echo' });
    job.need = 'x';
    const problems = lint(wf).join('\n');
    for (const expected of [
      'needs exactly one of uses or run',
      'uses "actions/checkout" is not owner/repo@ref',
      'bash -n',
      'npm script "no-such-script" does not exist',
      'unbalanced expression',
      'unknown context "secret"',
      'unknown key "runs"',
      'job check: unknown key "need"',
    ]) {
      assert.ok(problems.includes(expected), `lint missed: ${expected}\n${problems}`);
    }
  });

  describe('ci.yml', () => {
    const wf = load('ci.yml');
    it('runs on push and pull requests with read-only permissions', () => {
      const on = wf.on as Map;
      assert.ok('push' in on && 'pull_request' in on);
      assert.deepEqual(wf.permissions, { contents: 'read' });
    });
    it('installs, lints, typechecks, tests, checks Terraform format, validates it and builds the image', () => {
      const text = runs(wf);
      for (const cmd of ['npm ci', 'npm run lint', 'npm run typecheck', 'npm test', 'terraform fmt -check -recursive', 'terraform init -backend=false', 'terraform validate', 'docker build', 'npm run smoke']) {
        assert.ok(text.includes(cmd), `ci.yml never runs "${cmd}"`);
      }
      assert.ok(uses(wf).some((u) => u.startsWith('actions/setup-node@')));
    });
  });

  describe('azure-dev.yml', () => {
    const wf = load('azure-dev.yml');
    const env = ((wf.jobs as Map).deploy as Map).env as Map;
    it('requests an OIDC token (id-token: write) and nothing more than read otherwise', () => {
      assert.deepEqual(wf.permissions, { 'id-token': 'write', contents: 'read' });
    });
    it('logs azd in with GitHub federated credentials and Terraform with OIDC, no client secret anywhere', () => {
      const text = runs(wf);
      assert.match(text, /azd auth login[\s\\]+--client-id "\$AZURE_CLIENT_ID"[\s\\]+--federated-credential-provider github/);
      assert.equal(env.ARM_USE_OIDC, 'true');
      for (const k of ['ARM_CLIENT_ID', 'ARM_TENANT_ID', 'ARM_SUBSCRIPTION_ID', 'AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_SUBSCRIPTION_ID']) {
        assert.ok(k in env, `${k} not set`);
      }
      const all = readFileSync(`${DIR}azure-dev.yml`, 'utf8');
      assert.doesNotMatch(all, /CLIENT_SECRET|AZURE_CREDENTIALS|client-secret|creds:/);
      // The only secrets are the app's own, which Terraform moves into Key Vault.
      const secrets = [...new Set([...all.matchAll(/\$\{\{\s*secrets\.(\w+)/g)].map((m) => m[1]))].sort();
      assert.deepEqual(secrets, ['API_KEY', 'AUTH_JWT_SECRET']);
    });
    it('gives the app secrets only to the steps that read them, and installs with no secret and no install scripts', () => {
      const job = (wf.jobs as Map).deploy as Map;
      assert.ok(!allStrings(job.env).some((v) => v.includes('secrets.')), 'no secret in the job-level env');
      const withSecrets = steps(wf).filter(({ step }) => allStrings(step).some((v) => v.includes('secrets.'))).map(({ step }) => String(step.name));
      assert.deepEqual(withSecrets, ['Check the app\'s secrets', 'Provision infrastructure']);
      const install = steps(wf).find(({ step }) => typeof step.run === 'string' && step.run.includes('npm ci'));
      assert.ok(install, 'no install step');
      assert.match(String(install.step.run), /npm ci --ignore-scripts/);
      assert.ok(!('env' in install.step));
      const names = steps(wf).map(({ step }) => String(step.name));
      assert.ok(names.indexOf('Check the app\'s secrets') < names.indexOf('Provision infrastructure'), 'secrets are checked before azd writes them');
    });
    it('uses action releases on the node24 runtime (hosted runners retire node20 for actions)', () => {
      // The first release of each on node24 (read from each action's action.yml, runs.using).
      const firstNode24: Record<string, number[]> = {
        'actions/checkout': [5, 0, 0], 'actions/setup-node': [5, 0, 0], 'hashicorp/setup-terraform': [4, 0, 0],
        'Azure/setup-azd': [2, 3, 0], 'azure/login': [3, 0, 0],
      };
      for (const file of files) {
        const source = readFileSync(`${DIR}${file}`, 'utf8');
        for (const m of source.matchAll(/uses: ([\w.-]+\/[\w.-]+)@[0-9a-f]{40} # v([\d.]+)/g)) {
          const floor = firstNode24[m[1] ?? ''];
          assert.ok(floor, `${file}: ${m[1] ?? ''} has no known node24 release in this table`);
          const version = (m[2] ?? '').split('.').map(Number);
          const newer = floor.findIndex((n, i) => (version[i] ?? 0) !== n);
          assert.ok(newer === -1 || (version[newer] ?? 0) > (floor[newer] ?? 0), `${file}: ${m[1] ?? ''} v${m[2] ?? ''} is older than its first node24 release`);
        }
      }
    });
    it('allows the job longer than the slowest create in the plan (Managed Redis, 45 min) plus the rest', () => {
      const job = (wf.jobs as Map).deploy as Map;
      assert.ok(Number(job['timeout-minutes']) >= 45 + 20, `timeout-minutes ${String(job['timeout-minutes'])} leaves no room after a 45-minute Redis create`);
    });
    it('runs only where the Azure variables are set (forks skip it instead of failing)', () => {
      const job = (wf.jobs as Map).deploy as Map;
      for (const v of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_SUBSCRIPTION_ID', 'AZURE_ENV_NAME']) {
        assert.match(String(job.if), new RegExp(`vars\\.${v} != ''`), `job if does not require ${v}`);
      }
    });
    it('names the deploy target before azd deploy (azd 1.24+ stops on slots with no target), and no longer relies on the old flow', () => {
      const text = runs(wf);
      assertInOrder(text, ['azd provision --no-prompt', 'sh infra/azure/hooks/select-slot.sh', 'azd deploy --no-prompt'], 'the target must be chosen after provision and before deploy');
      // The flow azd dropped in 1.24 (PR #7630): production and every slot on the first deploy.
      for (const file of ['.github/workflows/azure-dev.yml', 'docs/azure.md', 'infra/azure/slot.tf', 'infra/azure/variables.tf']) {
        assert.doesNotMatch(readFileSync(`${ROOT}${file}`, 'utf8'), /every slot|after the first deploy|only slot/i, `${file} still describes azd's old slot behaviour`);
      }
    });
    it('with a staging slot: smoke-checks the slot, then swaps it into production, then checks production', () => {
      const text = runs(wf);
      assertInOrder(text, ['azd deploy --no-prompt', 'azd env get-value STAGING_URL', 'npm run smoke -- "$staging"', 'az webapp deployment slot swap', 'npm run smoke -- "$(azd env get-value APP_URL)"'], 'steps out of order');
      assert.match(text, /--slot staging[\s\\]+--target-slot production/);
      assert.ok(uses(wf).some((u) => u.startsWith('azure/login@')), 'the swap needs the Azure CLI signed in (OIDC)');
    });
    it('provisions, deploys, then smoke-checks the live URL', () => {
      const text = runs(wf);
      assertInOrder(text, ['azd provision --no-prompt', 'azd deploy --no-prompt', 'npm run smoke -- "$(azd env get-value APP_URL)"'], 'steps out of order');
      assert.ok(uses(wf).some((u) => u.startsWith('Azure/setup-azd@')));
      assert.ok(uses(wf).some((u) => u.startsWith('hashicorp/setup-terraform@')));
    });
    it('switches Terraform to the remote state azd reads from infra/azure/provider.conf.json', () => {
      assert.match(runs(wf), /backend "azurerm"/);
      const conf = JSON.parse(readFileSync(`${ROOT}infra/azure/provider.conf.json`, 'utf8')) as Record<string, unknown>;
      for (const k of ['resource_group_name', 'storage_account_name', 'container_name', 'key']) assert.ok(k in conf, k);
      assert.equal(conf.storage_account_name, '${RS_STORAGE_ACCOUNT}');
    });
  });
});
