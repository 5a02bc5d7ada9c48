// Instances, autoscale and the staging slot (infra/azure/variables.tf, autoscale.tf, slot.tf):
// what each App Service tier allows is enforced by variable validation, so a plan Azure would
// refuse fails at `terraform plan`, not halfway through an apply.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { bodies, loadModule } from './lib/terraform.ts';
import type { Body, Json, TerraformModule } from './lib/terraform.ts';
import { accepts, block, one, variable } from './lib/policy.ts';

const INFRA = fileURLToPath(new URL('../../infra/azure/', import.meta.url));

let tf: TerraformModule;

describe('instances, autoscale, staging slot', () => {
  before(async () => {
    tf = await loadModule(INFRA);
  });

  it('limits instance_count to what each tier allows: Basic 3, Standard 10, Premium 30', () => {
    for (const [sku, max] of [['B1', 3], ['S1', 10], ['P1v3', 30], ['P0v3', 30]] as const) {
      assert.equal(accepts(tf, 'instance_count', max, { app_service_plan_sku: sku }), true, `${sku}: ${max}`);
      assert.equal(accepts(tf, 'instance_count', max + 1, { app_service_plan_sku: sku }), false, `${sku}: ${max + 1}`);
      assert.equal(accepts(tf, 'instance_count', 0, { app_service_plan_sku: sku }), false);
    }
  });

  it('refuses a staging slot and autoscale on Basic (App Service offers neither there)', () => {
    for (const name of ['staging_slot_enabled', 'autoscale_enabled']) {
      assert.equal(accepts(tf, name, true, { app_service_plan_sku: 'B1' }), false, `${name} on B1`);
      assert.equal(accepts(tf, name, true, { app_service_plan_sku: 'S1' }), true, `${name} on S1`);
      assert.equal(accepts(tf, name, false, { app_service_plan_sku: 'B1' }), true);
    }
    assert.equal(accepts(tf, 'autoscale_max_instances', 11, { app_service_plan_sku: 'S1' }), false);
    assert.equal(accepts(tf, 'autoscale_max_instances', 30, { app_service_plan_sku: 'P1v3' }), true);
  });

  it('scales the plan on CPU and on open WebSockets per instance, out fast and in slowly', () => {
    const setting = one(tf, 'azurerm_monitor_autoscale_setting');
    assert.equal(setting.count, '${var.autoscale_enabled ? 1 : 0}');
    assert.equal(setting.target_resource_id, '${azurerm_service_plan.main.id}');
    const profile = block(setting, 'profile');
    assert.deepEqual(block(profile, 'capacity'), { default: '${var.instance_count}', minimum: '${var.instance_count}', maximum: '${var.autoscale_max_instances}' });
    const rules = { ...(tf.locals.cpu_rules as Record<string, Body>), ...(tf.locals.connection_rules as Record<string, Body>) };
    assert.deepEqual(Object.keys(rules).sort(), ['connections_high', 'connections_low', 'cpu_high', 'cpu_low']);
    assert.equal(rules.cpu_high?.metric, 'CpuPercentage');
    assert.equal(rules.connections_high?.metric, 'ws_connections_open');
    assert.equal(rules.connections_high?.namespace, 'azure.applicationinsights');
    assert.equal(rules.connections_high?.resource, '${azurerm_application_insights.main.id}');
    for (const [name, rule] of Object.entries(rules)) {
      assert.equal(rule.direction, name.endsWith('_high') ? 'Increase' : 'Decrease');
      assert.equal(rule.cooldown, name.endsWith('_high') ? 'PT5M' : 'PT15M', `${name}: scale in more slowly than out`);
    }
    const dynamic = bodies((profile.dynamic as Record<string, Json>).rule)[0];
    assert.equal(dynamic?.for_each, '${local.autoscale_rules}');
    const trigger = block(bodies(dynamic?.content)[0] ?? {}, 'metric_trigger');
    assert.equal(trigger.statistic, '${rule.value.statistic}');
    assert.equal(trigger.time_aggregation, '${rule.value.aggregation}');
  });

  it('adds the connection rules only when asked (second step), on the busiest instance so an idle slot cannot halve them', () => {
    // Azure may refuse a rule on a custom metric no container has reported yet (first azd up).
    assert.equal(tf.locals.autoscale_rules, '${merge(local.cpu_rules, var.autoscale_on_connections ? local.connection_rules : {})}');
    assert.equal(variable(tf, 'autoscale_on_connections').default, false);
    // The staging slot reports ws_connections_open into the same Application Insights: an
    // average would count its idle container as an instance; a maximum cannot be lowered by it.
    for (const [name, rule] of Object.entries(tf.locals.connection_rules as Record<string, Body>)) {
      assert.equal(rule.statistic, 'Max', name);
      assert.equal(rule.aggregation, 'Maximum', name);
    }
    for (const [name, rule] of Object.entries(tf.locals.cpu_rules as Record<string, Body>)) assert.equal(rule.statistic, 'Average', name);
  });

  it('hands the instance count to autoscale while it exists (azd and autoscale own the values Terraform leaves alone)', () => {
    assert.equal(one(tf, 'azurerm_service_plan').worker_count, '${var.autoscale_enabled ? null : var.instance_count}');
    assert.equal(tf.locals.redis_enabled, '${var.redis_enabled || var.instance_count > 1 || var.autoscale_enabled}', 'more than one instance needs Redis');
  });

  it('creates the staging slot only when asked, named staging, on the same app', () => {
    const slot = one(tf, 'azurerm_linux_web_app_slot');
    assert.equal(slot.count, '${var.staging_slot_enabled ? 1 : 0}');
    assert.equal(slot.name, 'staging');
    assert.equal(slot.app_service_id, '${azurerm_linux_web_app.app.id}');
    assert.equal(tf.resource.azurerm_web_app_active_slot, undefined, 'swaps are a release step of the workflow, not Terraform state');
    assert.equal(bodies(tf.output.STAGING_URL as Json)[0]?.value, '${var.staging_slot_enabled ? "https://${azurerm_linux_web_app_slot.staging[0].default_hostname}" : ""}');
  });

  it('binds the custom domain with a managed certificate (SNI), only when one is given', () => {
    const binding = one(tf, 'azurerm_app_service_custom_hostname_binding');
    assert.equal(binding.hostname, '${var.custom_domain}');
    assert.equal(binding.app_service_name, '${azurerm_linux_web_app.app.name}');
    assert.deepEqual(block(binding, 'lifecycle').ignore_changes, ['${ssl_state}', '${thumbprint}']);
    const cert = one(tf, 'azurerm_app_service_managed_certificate');
    assert.equal(cert.custom_hostname_binding_id, '${azurerm_app_service_custom_hostname_binding.custom[0].id}');
    const tls = one(tf, 'azurerm_app_service_certificate_binding');
    assert.equal(tls.ssl_state, 'SniEnabled');
    for (const r of [binding, cert, tls]) assert.equal(r.count, '${var.custom_domain == "" ? 0 : 1}');
    // The validation's regex (RE2 in Terraform; this pattern means the same in JavaScript).
    const condition = String(bodies(variable(tf, 'custom_domain').validation)[0]?.condition);
    const literal = /regex\(("(?:[^"\\]|\\.)*")/.exec(condition)?.[1];
    assert.ok(literal, condition);
    const pattern = new RegExp(JSON.parse(literal) as string);
    assert.ok(pattern.test('chat.example.com'));
    for (const bad of ['https://chat.example.com', 'Chat.Example.com', 'localhost', 'chat.example.com/']) assert.ok(!pattern.test(bad), bad);
  });
});
