// `terraform validate` cannot run offline (no provider download), so this checks every
// resource type, argument, block and reference in infra/*.tf against the azurerm 4.x
// schema in test/infra/fixtures, and proves the checker fails on mistakes.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { checkNames, checkReferences, errors, loadAzurermSchema, loadModule, parseModuleText } from './lib/terraform.ts';
import type { ProviderSchema, TerraformModule } from './lib/terraform.ts';

const INFRA = fileURLToPath(new URL('../../infra/azure/', import.meta.url));

const GOOD_APP = `
resource "azurerm_linux_web_app" "app" {
  name                = "app"
  resource_group_name = "rg"
  location            = "westeurope"
  service_plan_id     = "plan"
  site_config {
    websockets_enabled = true
    application_stack {
      docker_image_name = "socketship:latest"
    }
  }
}
`;

async function findingsFor(schema: ProviderSchema, text: string): Promise<string[]> {
  const module = await parseModuleText({ 'snippet.tf': text });
  return errors([...checkNames(module, schema), ...checkReferences(module, schema)]);
}

describe('infra/*.tf against the offline azurerm 4.x schema', () => {
  let schema: ProviderSchema;
  let module: TerraformModule;

  before(async () => {
    schema = loadAzurermSchema();
    module = await loadModule(INFRA);
  });

  it('uses only resource types, arguments and blocks that azurerm 4.x has', () => {
    assert.deepEqual(errors(checkNames(module, schema)), []);
  });

  it('sets nothing deprecated or newer than the pinned provider floor', () => {
    const warnings = checkNames(module, schema).filter((f) => f.level === 'warning');
    assert.deepEqual(warnings, []);
  });

  it('resolves every var., local. and resource reference, including attribute names', () => {
    assert.deepEqual(errors(checkReferences(module, schema)), []);
  });

  it('covers the core resource types of the deployment', () => {
    const types = Object.keys(module.resource).sort();
    for (const t of ['azurerm_container_registry', 'azurerm_linux_web_app', 'azurerm_monitor_diagnostic_setting', 'azurerm_service_plan']) {
      assert.ok(types.includes(t), `${t} missing from infra/`);
    }
  });

  describe('the checker itself (negative cases on in-memory snippets)', () => {
    it('accepts a correct snippet', async () => {
      assert.deepEqual(await findingsFor(schema, GOOD_APP), []);
    });

    it('fails on a misspelt argument and suggests the right name', async () => {
      const found = await findingsFor(schema, GOOD_APP.replace('websockets_enabled', 'websocket_enabled'));
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0] ?? '', /site_config\.websocket_enabled: unknown argument or block "websocket_enabled" \(did you mean "websockets_enabled"\?\)/);
    });

    it('fails on a misspelt nested block', async () => {
      const found = await findingsFor(schema, GOOD_APP.replace('application_stack {', 'app_stack {'));
      assert.ok(found.some((f) => f.includes('unknown argument or block "app_stack"')), found.join('\n'));
    });

    it('fails on a name the 4.x provider removed (3.x docker_image)', async () => {
      const found = await findingsFor(schema, GOOD_APP.replace('docker_image_name = "socketship:latest"', 'docker_image = "socketship"'));
      assert.ok(found.some((f) => f.includes('unknown argument or block "docker_image"')), found.join('\n'));
    });

    it('fails on an unknown or misspelt resource type', async () => {
      const found = await findingsFor(schema, GOOD_APP.replace('azurerm_linux_web_app', 'azurerm_linux_webapp'));
      assert.ok(found.some((f) => f.includes('"azurerm_linux_webapp" is not in the offline azurerm schema')), found.join('\n'));
    });

    it('fails when a required argument is missing', async () => {
      const found = await findingsFor(schema, GOOD_APP.replace('service_plan_id     = "plan"', ''));
      assert.ok(found.some((f) => f.includes('required "service_plan_id" is missing')), found.join('\n'));
    });

    it('fails on a read-only (computed) name', async () => {
      const text = `
resource "azurerm_linux_web_app" "app" {
  name                = "app"
  resource_group_name = "rg"
  location            = "westeurope"
  service_plan_id     = "plan"
  site_config {}
  auth_settings_v2 {
    custom_oidc_v2 {
      name                          = "x"
      client_id                     = "x"
      openid_configuration_endpoint = "https://x"
      token_endpoint                = "https://x/token"
    }
    login {}
  }
}`;
      const found = await findingsFor(schema, text);
      assert.ok(found.some((f) => f.includes('"token_endpoint" is read-only')), found.join('\n'));
    });

    it('fails on a repeated single block and on a bad name inside a dynamic block', async () => {
      const twice = GOOD_APP.replace('site_config {', 'site_config {}\n  site_config {');
      assert.ok((await findingsFor(schema, twice)).some((f) => f.includes('"site_config" may appear at most once')));
      const dyn = `
resource "azurerm_monitor_action_group" "g" {
  name                = "g"
  resource_group_name = "rg"
  short_name          = "g"
  dynamic "email_receiver" {
    for_each = ["a@example.com"]
    content {
      name          = "x"
      email_adress  = email_receiver.value
    }
  }
}`;
      const found = await findingsFor(schema, dyn);
      assert.ok(found.some((f) => f.includes('email_receiver.email_adress: unknown argument or block')), found.join('\n'));
    });

    it('fails on references to undeclared variables, resources or attributes', async () => {
      const text = `${GOOD_APP}
output "x" { value = azurerm_linux_web_app.app.default_host_name }
output "y" { value = var.nope }
output "z" { value = azurerm_service_plan.missing.id }`;
      const found = await findingsFor(schema, text);
      assert.ok(found.some((f) => f.includes('has no attribute "default_host_name" (did you mean "default_hostname"?)')), found.join('\n'));
      assert.ok(found.some((f) => f.includes('undeclared variable "var.nope"')), found.join('\n'));
      assert.ok(found.some((f) => f.includes('undeclared azurerm_service_plan.missing')), found.join('\n'));
    });
  });
});
