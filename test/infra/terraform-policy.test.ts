// Policy over the parsed Terraform: each deliberate setting is asserted here, on the web app
// and on its staging slot alike (the app settings, read back through the app's own config
// parser, are in app-settings.test.ts; Redis, scale and the azd state rule in their own files).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bodies, isBody, loadAzurermSchema, loadModule } from './lib/terraform.ts';
import { all as policyAll, block, one as policyOne, variableDefault as policyDefault } from './lib/policy.ts';
import type { Body, Json, TerraformModule } from './lib/terraform.ts';
import { startService } from './lib/service.ts';
import type { RunningService } from './lib/service.ts';

const INFRA = fileURLToPath(new URL('../../infra/azure/', import.meta.url));

let tf: TerraformModule;
const schema = loadAzurermSchema();

const one = (type: string, name?: string): Body => policyOne(tf, type, name);
const all = (type: string): [string, Body][] => policyAll(tf, type);
const variableDefault = (name: string): Json | undefined => policyDefault(tf, name);

describe('Azure policy over infra/azure/*.tf', () => {
  before(async () => {
    tf = await loadModule(INFRA);
  });

  it('pins Terraform and azurerm 4.x with ~>', () => {
    const settings = tf.terraform[0];
    assert.ok(settings, 'no terraform block');
    assert.match(String(settings.required_version), /^>= ?1\.\d+/);
    const providers = bodies(settings.required_providers)[0];
    const azurerm = providers?.azurerm;
    assert.ok(isBody(azurerm));
    assert.equal(azurerm.source, 'hashicorp/azurerm');
    assert.match(String(azurerm.version), /^~> ?4\.\d+$/);
  });

  it('takes the azd inputs from main.tfvars.json, and declares every key there', () => {
    const tfvars = JSON.parse(readFileSync(new URL('main.tfvars.json', `file://${INFRA}`), 'utf8')) as Record<string, string>;
    assert.equal(tfvars.environment_name, '${AZURE_ENV_NAME}');
    assert.equal(tfvars.location, '${AZURE_LOCATION}');
    assert.equal(tfvars.subscription_id, '${AZURE_SUBSCRIPTION_ID}');
    for (const key of Object.keys(tfvars)) assert.ok(key in tf.variable, `main.tfvars.json sets undeclared variable ${key}`);
    for (const [name, list] of Object.entries(tf.variable)) {
      const v = bodies(list as Json)[0] as Body;
      if (!('default' in v)) assert.ok(name in tfvars, `variable ${name} has no default and azd does not set it`);
    }
  });

  it('tags every taggable resource azd-env-name, and the web app azd-service-name = app', () => {
    assert.deepEqual(tf.locals.tags, { 'azd-env-name': '${var.environment_name}' });
    for (const [type, byName] of Object.entries(tf.resource)) {
      for (const [name, list] of Object.entries(byName)) {
        const body = bodies(list as Json)[0] as Body;
        if (!('tags' in (schema.resources[type]?.arguments ?? {}))) continue; // types without a tags argument
        assert.match(String(body.tags), /local\.tags/, `${type}.${name} lacks the azd-env-name tags`);
      }
    }
    const app = one('azurerm_linux_web_app');
    assert.match(String(app.tags), /^\$\{merge\(local\.tags, \{ ?"?azd-service-name"? = "app" ?\}\)\}$/);
  });

  it('names resources with the azd abbreviations and a resource token', () => {
    assert.equal(one('azurerm_resource_group').name, 'rg-${var.environment_name}');
    assert.equal(one('azurerm_container_registry').name, 'cr${local.resource_token}');
    assert.equal(one('azurerm_service_plan').name, 'plan-${local.resource_token}');
    assert.equal(one('azurerm_linux_web_app').name, '${local.app_name}');
    assert.equal(tf.locals.app_name, 'app-${local.resource_token}');
    assert.match(String(tf.locals.resource_token), /sha256\(.*var\.subscription_id.*var\.environment_name.*var\.location/);
  });

  it('runs a Linux plan whose default SKU allows enough WebSockets, size and count from variables', () => {
    const plan = one('azurerm_service_plan');
    assert.equal(plan.os_type, 'Linux');
    assert.equal(plan.sku_name, '${var.app_service_plan_sku}');
    // With autoscale the autoscale setting owns the count (null: Optional+Computed, untouched).
    assert.equal(plan.worker_count, '${var.autoscale_enabled ? null : var.instance_count}');
    assert.match(String(variableDefault('app_service_plan_sku')), /^(B[1-3]|S[1-3]|P\d+v\d|P\d+mv\d)$/);
    assert.equal(variableDefault('instance_count'), 1);
  });

  it('keeps the registry admin user off; the app identity gets AcrPull and, with Key Vault, only Secrets User', () => {
    const acr = one('azurerm_container_registry');
    assert.equal(acr.admin_enabled, false);
    const grants = Object.fromEntries(all('azurerm_role_assignment'));
    assert.deepEqual(Object.keys(grants).sort(), ['app_acr_pull', 'app_key_vault_secrets', 'deployer_key_vault_secrets']);
    assert.equal(grants.app_acr_pull?.role_definition_name, 'AcrPull');
    assert.equal(grants.app_acr_pull?.scope, '${azurerm_container_registry.main.id}');
    assert.equal(grants.app_acr_pull?.principal_id, '${azurerm_user_assigned_identity.app.principal_id}');
    assert.equal(grants.app_key_vault_secrets?.role_definition_name, 'Key Vault Secrets User');
    assert.equal(grants.app_key_vault_secrets?.principal_id, '${azurerm_user_assigned_identity.app.principal_id}');
    assert.equal(grants.deployer_key_vault_secrets?.principal_id, '${data.azurerm_client_config.current.object_id}');
    for (const name of ['app_key_vault_secrets', 'deployer_key_vault_secrets']) {
      assert.equal(grants[name]?.count, '${local.key_vault_enabled ? 1 : 0}', `${name} exists only with the vault`);
      assert.equal(grants[name]?.scope, '${azurerm_key_vault.main[0].id}');
    }
  });

  // The site and its staging slot are twins: every check runs on both (slot.tf).
  for (const [label, type] of [['the web app', 'azurerm_linux_web_app'], ['the staging slot', 'azurerm_linux_web_app_slot']] as const) {
  describe(label, () => {
    let app: Body;
    let site: Body;
    before(() => {
      app = one(type);
      site = block(app, 'site_config');
    });

    it('enables WebSockets, Always On and HTTP/2', () => {
      assert.equal(site.websockets_enabled, true);
      assert.equal(site.always_on, true);
      assert.equal(site.http2_enabled, true);
    });

    it('is HTTPS only with TLS 1.2+ (site and SCM), FTPS and basic-auth publishing (FTP, WebDeploy) off', () => {
      assert.equal(app.https_only, true);
      assert.equal(site.minimum_tls_version, '1.2');
      assert.equal(site.scm_minimum_tls_version, '1.2');
      assert.equal(site.ftps_state, 'Disabled');
      assert.equal(app.ftp_publish_basic_authentication_enabled, false);
      assert.equal(app.webdeploy_publish_basic_authentication_enabled, false);
    });

    it('has client affinity (ARR) off, as Redis-backed instances need', () => {
      assert.equal(app.client_affinity_enabled, false);
    });

    it('pulls from ACR with the user-assigned identity, no registry password, and resolves Key Vault references with it', () => {
      assert.equal(site.container_registry_use_managed_identity, true);
      assert.equal(site.container_registry_managed_identity_client_id, '${azurerm_user_assigned_identity.app.client_id}');
      const identity = block(app, 'identity');
      assert.equal(identity.type, 'UserAssigned');
      assert.deepEqual(identity.identity_ids, ['${azurerm_user_assigned_identity.app.id}']);
      assert.equal(app.key_vault_reference_identity_id, '${azurerm_user_assigned_identity.app.id}');
      const stack = block(site, 'application_stack');
      assert.equal(stack.docker_registry_url, 'https://${azurerm_container_registry.main.login_server}');
      assert.equal(stack.docker_image_name, '${var.app_image}');
      assert.ok(!('docker_registry_username' in stack) && !('docker_registry_password' in stack));
    });

    it('lets azd deploy own the image tag (ignore_changes), so terraform apply never rolls it back', () => {
      const lifecycle = block(app, 'lifecycle');
      assert.deepEqual(lifecycle.ignore_changes, ['${site_config[0].application_stack[0].docker_image_name}']);
    });

    it('takes the one shared set of app settings (so a swap moves only the image)', () => {
      assert.equal(app.app_settings, '${local.app_settings}');
    });

    it('has the liveness route as health check, with an eviction time', () => {
      assert.equal(site.health_check_path, '/healthz');
      const eviction = Number(site.health_check_eviction_time_in_min);
      assert.ok(eviction >= 2 && eviction <= 10, 'health_check_eviction_time_in_min must be 2-10');
    });
  });
  }

  describe('the web app', () => {
    let site: Body;
    before(() => {
      site = block(one('azurerm_linux_web_app'), 'site_config');
    });

    it('is created after its AcrPull and Key Vault grants, so the first pull and the references work', () => {
      assert.deepEqual(one('azurerm_linux_web_app').depends_on, ['${azurerm_role_assignment.app_acr_pull}', '${azurerm_role_assignment.app_key_vault_secrets}', '${time_sleep.key_vault_rbac}']);
    });

    it('carries the azd-service-name tag; the slot (found through its app) only the environment tags', () => {
      assert.match(String(one('azurerm_linux_web_app_slot').tags), /^\$\{local\.tags\}$/);
    });

    describe("the health check path is the app's liveness route", () => {
      let service: RunningService;
      before(async () => {
        service = await startService();
      });
      after(async () => {
        await service.stop();
      });

      it('health_check_path answers 200 {"status":"ok"} on the real service, with an eviction time set', async () => {
        assert.equal(site.health_check_path, '/healthz');
        const eviction = Number(site.health_check_eviction_time_in_min);
        assert.ok(eviction >= 2 && eviction <= 10, 'health_check_eviction_time_in_min must be 2-10');
        const res = await fetch(`${service.url}${String(site.health_check_path)}`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { status: 'ok' });
      });
    });
  });

  it('sends console, HTTP and platform logs and all metrics to Log Analytics (resource-specific tables)', () => {
    const diag = one('azurerm_monitor_diagnostic_setting');
    assert.equal(diag.target_resource_id, '${azurerm_linux_web_app.app.id}');
    assert.equal(diag.log_analytics_workspace_id, '${azurerm_log_analytics_workspace.main.id}');
    assert.equal(diag.log_analytics_destination_type, 'Dedicated');
    const categories = bodies(diag.enabled_log).map((b) => b.category);
    for (const c of ['AppServiceConsoleLogs', 'AppServiceHTTPLogs', 'AppServicePlatformLogs']) assert.ok(categories.includes(c), `${c} not enabled`);
    assert.deepEqual(bodies(diag.enabled_metric).map((b) => b.category), ['AllMetrics']);
  });

  it('alerts on health check status below 100 and on HTTP 5xx through an action group mailed from a variable', () => {
    const group = one('azurerm_monitor_action_group');
    const receiver = bodies(bodies(isBody(group.dynamic) ? group.dynamic.email_receiver : undefined)[0]?.content)[0];
    assert.equal(receiver?.email_address, '${email_receiver.value}');
    assert.match(String(bodies(isBody(group.dynamic) ? group.dynamic.email_receiver : undefined)[0]?.for_each), /var\.alert_email/);

    const alerts = all('azurerm_monitor_metric_alert').map(([, b]) => ({ body: b, criteria: (bodies(b.criteria)[0] ?? {}) as Body }));
    for (const a of alerts) {
      assert.deepEqual(bodies(a.body.action).map((x) => x.action_group_id), ['${azurerm_monitor_action_group.main.id}']);
    }
    const health = alerts.find((a) => a.criteria.metric_name === 'HealthCheckStatus');
    assert.ok(health, 'no HealthCheckStatus alert');
    assert.equal(health.body.scopes?.toString(), '${azurerm_linux_web_app.app.id}');
    assert.equal(health.criteria.metric_namespace, 'Microsoft.Web/sites');
    assert.equal(health.criteria.operator, 'LessThan');
    assert.equal(health.criteria.threshold, 100);
    const errors5xx = alerts.find((a) => a.criteria.metric_name === 'Http5xx');
    assert.ok(errors5xx, 'no Http5xx alert');
    assert.equal(errors5xx.criteria.operator, 'GreaterThan');
  });

  it('creates a workspace-based Application Insights and hands the app its connection string', () => {
    const appi = one('azurerm_application_insights');
    assert.equal(appi.workspace_id, '${azurerm_log_analytics_workspace.main.id}');
    assert.equal(appi.application_type, 'Node.JS');
    assert.equal((tf.locals.base_settings as Body).APPLICATIONINSIGHTS_CONNECTION_STRING, '${azurerm_application_insights.main.connection_string}');
  });

  it('probes /healthz and /readyz from outside, from several locations, and alerts the action group when 2 fail', () => {
    const test = one('azurerm_application_insights_standard_web_test');
    assert.equal(test.for_each, '${toset(["/healthz", "/readyz"])}');
    assert.equal(test.application_insights_id, '${azurerm_application_insights.main.id}');
    assert.equal(block(test, 'request').url, '${local.app_origin}${each.key}');
    const rules = block(test, 'validation_rules');
    assert.equal(rules.expected_status_code, 200);
    assert.equal(rules.ssl_check_enabled, true);
    assert.equal(test.geo_locations, '${var.availability_test_locations}');
    assert.ok((variableDefault('availability_test_locations') as string[]).length >= 5);
    const alert = one('azurerm_monitor_metric_alert', 'availability');
    assert.equal(alert.for_each, '${azurerm_application_insights_standard_web_test.route}');
    const criteria = block(alert, 'application_insights_web_test_location_availability_criteria');
    assert.equal(criteria.web_test_id, '${each.value.id}');
    assert.equal(criteria.failed_location_count, 2);
    assert.deepEqual(bodies(alert.action).map((x) => x.action_group_id), ['${azurerm_monitor_action_group.main.id}']);
  });

  it('creates every availability test enabled (the provider has no default: omitted, the test never runs)', () => {
    const tests = all('azurerm_application_insights_standard_web_test');
    assert.ok(tests.length > 0);
    for (const [name, test] of tests) assert.equal(test.enabled, true, `standard web test ${name} must set enabled = true`);
  });

  it('waits, bounded, for Key Vault role propagation before writing secrets and starting the app', () => {
    const wait = one('time_sleep', 'key_vault_rbac');
    assert.equal(wait.count, '${local.key_vault_enabled ? 1 : 0}');
    assert.equal(wait.create_duration, '${var.key_vault_rbac_wait}');
    assert.match(String(variableDefault('key_vault_rbac_wait')), /^\d+(s|m)$/);
    assert.deepEqual(wait.triggers, {
      deployer: '${azurerm_role_assignment.deployer_key_vault_secrets[0].id}',
      app: '${azurerm_role_assignment.app_key_vault_secrets[0].id}',
    });
    for (const [name, secret] of all('azurerm_key_vault_secret')) {
      assert.deepEqual(secret.depends_on, ['${time_sleep.key_vault_rbac}'], `secret ${name} must wait for the grant to take effect`);
    }
    assert.ok((one('azurerm_linux_web_app').depends_on as string[]).includes('${time_sleep.key_vault_rbac}'), 'the app starts after the wait');
    const provider = bodies(tf.terraform[0]?.required_providers)[0]?.time;
    assert.ok(isBody(provider) && provider.source === 'hashicorp/time', 'time_sleep needs hashicorp/time in required_providers');
  });

  it('alerts on a reconnect storm with a log query over the metric the app sends', () => {
    const rule = one('azurerm_monitor_scheduled_query_rules_alert_v2');
    assert.deepEqual(rule.scopes, ['${azurerm_application_insights.main.id}']);
    const criteria = block(rule, 'criteria');
    assert.match(String(criteria.query), /customMetrics\s*\n\s*\| where name == "ws_connections_opened_total"/);
    assert.equal(criteria.threshold, '${var.reconnect_storm_threshold}');
    assert.deepEqual(bodies(rule.action)[0]?.action_groups, ['${azurerm_monitor_action_group.main.id}']);
  });

  it('outputs what azd needs and the user reads: registry endpoint, app and wss URLs, group, workspace', () => {
    const value = (name: string): string => {
      const out = bodies(tf.output[name] as Json)[0];
      assert.ok(out, `output ${name} missing`);
      return String(out.value);
    };
    assert.equal(value('AZURE_CONTAINER_REGISTRY_ENDPOINT'), '${azurerm_container_registry.main.login_server}');
    assert.equal(value('AZURE_RESOURCE_GROUP'), '${azurerm_resource_group.main.name}');
    assert.equal(value('APP_URL'), 'https://${azurerm_linux_web_app.app.default_hostname}');
    assert.equal(value('APP_WSS_URL'), 'wss://${azurerm_linux_web_app.app.default_hostname}/ws');
    assert.equal(value('AZURE_LOG_ANALYTICS_WORKSPACE_NAME'), '${azurerm_log_analytics_workspace.main.name}');
    assert.equal(value('SERVICE_APP_NAME'), '${azurerm_linux_web_app.app.name}');
  });
});
