// docs/azure.md stays true to the Terraform it describes: every output, variable and log
// table it tells the user to use exists, every app setting is described, and the commands it
// gives name real npm scripts.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bodies, loadModule } from './lib/terraform.ts';
import type { Json, TerraformModule } from './lib/terraform.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(`${ROOT}docs/azure.md`, 'utf8');

describe('docs/azure.md', () => {
  let tf: TerraformModule;
  before(async () => {
    tf = await loadModule(`${ROOT}infra/azure`);
  });

  it('reads only outputs that exist (terraform output / azd env get-value)', () => {
    const used = [...doc.matchAll(/(?:output -raw|get-value) ([A-Z_]+)/g)].map((m) => m[1] ?? '');
    assert.ok(used.length >= 5, 'expected the doc to read several outputs');
    for (const name of used) assert.ok(name in tf.output, `docs read output ${name}, which infra/outputs.tf lacks`);
  });

  it('names only variables that exist, and every variable is documented', () => {
    for (const m of doc.matchAll(/-var "([a-z_]+)=/g)) assert.ok((m[1] ?? '') in tf.variable, `unknown -var ${m[1] ?? ''}`);
    for (const name of Object.keys(tf.variable)) {
      if (['environment_name', 'location', 'subscription_id', 'log_retention_days', 'pong_timeout_ms', 'ping_interval_ms'].includes(name)) continue;
      assert.ok(doc.includes(`\`${name}\``) || doc.includes(`${name}=`), `variable ${name} is not mentioned in docs/azure.md`);
    }
  });

  it('documents every app setting the Terraform gives the app', () => {
    const base = tf.locals.base_settings;
    assert.ok(base && typeof base === 'object' && !Array.isArray(base));
    const names = [...Object.keys(base), 'REDIS_URL', 'REDIS_AUTH', 'REDIS_CLUSTER', 'AZURE_CLIENT_ID', 'AUTH_JWT_SECRET', 'API_KEY'];
    for (const name of names) {
      if (name === 'WEBSITES_ENABLE_APP_SERVICE_STORAGE') continue;
      assert.ok(doc.includes(`\`${name}\``) || (name.startsWith('WEBSITE_SWAP_WARMUP_PING_') && doc.includes('`WEBSITE_SWAP_WARMUP_PING_PATH`')), `app setting ${name} is not in docs/azure.md`);
    }
    for (const name of ['REDIS_AUTH', 'REDIS_CLUSTER', 'AZURE_CLIENT_ID']) assert.match(String(tf.locals.redis_settings), new RegExp(name));
  });

  it('queries the log tables the diagnostic setting fills', () => {
    const diag = bodies(Object.values(tf.resource.azurerm_monitor_diagnostic_setting ?? {})[0] as Json)[0];
    const enabled = new Set(bodies(diag?.enabled_log).map((b) => String(b.category)));
    const queried = [...doc.matchAll(/^(AppService\w+)$/gm)].map((m) => m[1] ?? '');
    assert.ok(queried.includes('AppServiceConsoleLogs'), 'no KQL over the console logs');
    for (const table of queried) assert.ok(enabled.has(table), `KQL reads ${table}, which is not sent to Log Analytics`);
  });

  it('uses the smoke script with the same flags the CLI accepts', () => {
    const smoke = readFileSync(`${ROOT}scripts/smoke.ts`, 'utf8');
    for (const m of doc.matchAll(/npm run smoke -- \S+((?: --[a-z-]+ \S+)*)/g)) {
      for (const flag of (m[1] ?? '').matchAll(/--([a-z-]+)/g)) assert.ok(smoke.includes(`--${flag[1] ?? ''} `), `smoke has no --${flag[1] ?? ''}`);
    }
  });
});
