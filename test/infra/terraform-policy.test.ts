// Policy over the parsed Terraform: each deliberate setting of the issue is asserted here,
// and the app settings are read back through the app's own config parser, so the
// Terraform and the service cannot drift apart (port, origins, liveness route).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, parseConfig } from '../../src/config/config.ts';
import { bodies, isBody, loadModule } from './lib/terraform.ts';
import type { Body, Json, TerraformModule } from './lib/terraform.ts';
import { startService } from './lib/service.ts';
import type { RunningService } from './lib/service.ts';

const INFRA = fileURLToPath(new URL('../../infra/azure/', import.meta.url));

let tf: TerraformModule;

function one(type: string, name?: string): Body {
  const byName = tf.resource[type];
  assert.ok(byName, `no ${type} in infra/`);
  const names = Object.keys(byName);
  const key = name ?? names[0] ?? '';
  if (name === undefined) assert.equal(names.length, 1, `expected one ${type}, found ${names.join(', ')}`);
  const list = bodies(byName[key] as Json);
  assert.equal(list.length, 1, `${type}.${key}`);
  return list[0] as Body;
}

function all(type: string): [string, Body][] {
  return Object.entries(tf.resource[type] ?? {}).map(([n, list]) => [n, bodies(list as Json)[0] as Body]);
}

function block(body: Body, name: string): Body {
  const list = bodies(body[name]);
  assert.equal(list.length, 1, `block ${name}`);
  return list[0] as Body;
}

function variableDefault(name: string): Json | undefined {
  const v = bodies(tf.variable[name] as Json)[0];
  assert.ok(v, `variable ${name} is not declared`);
  return v.default;
}

/** Resolve the simple expression forms used in app_settings: literals, var.x, tostring(var.x|local.x). */
function resolve(value: Json | undefined, locals: Record<string, string>): string {
  assert.equal(typeof value, 'string');
  const text = value as string;
  const m = /^\$\{(?:tostring\()?(var|local)\.(\w+)\)?\}$/.exec(text);
  if (!m) {
    assert.ok(!text.includes('${'), `cannot resolve ${text}`);
    return text;
  }
  if (m[1] === 'var') return String(variableDefault(m[2] ?? ''));
  const local = locals[m[2] ?? ''];
  assert.ok(local !== undefined, `no resolved value for local.${m[2]}`);
  return local;
}

describe('Azure policy over infra/*.tf', () => {
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
        if (['azurerm_role_assignment', 'azurerm_monitor_diagnostic_setting'].includes(type)) continue; // no tags argument
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
    assert.equal(plan.worker_count, '${var.instance_count}');
    assert.match(String(variableDefault('app_service_plan_sku')), /^(B[1-3]|S[1-3]|P\d+v\d|P\d+mv\d)$/);
    assert.equal(variableDefault('instance_count'), 1);
  });

  it('keeps the registry admin user off and grants AcrPull to the app identity only', () => {
    const acr = one('azurerm_container_registry');
    assert.equal(acr.admin_enabled, false);
    const grants = all('azurerm_role_assignment');
    assert.equal(grants.length, 1);
    const [, grant] = grants[0] as [string, Body];
    assert.equal(grant.role_definition_name, 'AcrPull');
    assert.equal(grant.scope, '${azurerm_container_registry.main.id}');
    assert.equal(grant.principal_id, '${azurerm_user_assigned_identity.app.principal_id}');
  });

  describe('the web app', () => {
    let app: Body;
    let site: Body;
    before(() => {
      app = one('azurerm_linux_web_app');
      site = block(app, 'site_config');
    });

    it('enables WebSockets, Always On and HTTP/2', () => {
      assert.equal(site.websockets_enabled, true);
      assert.equal(site.always_on, true);
      assert.equal(site.http2_enabled, true);
    });

    it('is HTTPS only with TLS 1.2+ (site and SCM), FTPS and basic-auth publishing off', () => {
      assert.equal(app.https_only, true);
      assert.equal(site.minimum_tls_version, '1.2');
      assert.equal(site.scm_minimum_tls_version, '1.2');
      assert.equal(site.ftps_state, 'Disabled');
      assert.equal(app.ftp_publish_basic_authentication_enabled, false);
      assert.equal(app.webdeploy_publish_basic_authentication_enabled, false);
    });

    it('has client affinity off', () => {
      assert.equal(app.client_affinity_enabled, false);
    });

    it('pulls from ACR with the user-assigned identity, no registry password', () => {
      assert.equal(site.container_registry_use_managed_identity, true);
      assert.equal(site.container_registry_managed_identity_client_id, '${azurerm_user_assigned_identity.app.client_id}');
      const identity = block(app, 'identity');
      assert.equal(identity.type, 'UserAssigned');
      assert.deepEqual(identity.identity_ids, ['${azurerm_user_assigned_identity.app.id}']);
      const stack = block(site, 'application_stack');
      assert.equal(stack.docker_registry_url, 'https://${azurerm_container_registry.main.login_server}');
      assert.equal(stack.docker_image_name, '${var.app_image}');
      assert.ok(!('docker_registry_username' in stack) && !('docker_registry_password' in stack));
      assert.deepEqual(app.depends_on, ['${azurerm_role_assignment.app_acr_pull}']);
    });

    it('lets azd deploy own the image tag (ignore_changes), so terraform apply never rolls it back', () => {
      const lifecycle = block(app, 'lifecycle');
      assert.deepEqual(lifecycle.ignore_changes, ['${site_config[0].application_stack[0].docker_image_name}']);
    });

    it('sets no setting the provider manages itself', () => {
      const settings = app.app_settings;
      assert.ok(isBody(settings));
      for (const key of Object.keys(settings)) {
        assert.ok(!/^DOCKER_REGISTRY_/.test(key) && key !== 'WEBSITE_HEALTHCHECK_MAXPINGFAILURES', `${key} is managed by the provider`);
      }
    });

    it("sets WEBSITES_PORT to the app's default PORT and app settings the app's config accepts", () => {
      const settings = app.app_settings;
      assert.ok(isBody(settings));
      assert.equal(settings.WEBSITES_PORT, DEFAULTS.PORT);
      assert.equal(settings.TRUST_PROXY, 'true');
      for (const key of ['ALLOWED_ORIGINS', 'LOG_LEVEL', 'PING_INTERVAL_MS', 'PONG_TIMEOUT_MS', 'MAX_CONNECTIONS']) {
        assert.ok(key in settings, `app setting ${key} missing`);
      }
      // The Azure environment as the container sees it (PORT unset: the app's default).
      const appName = 'app-0123456789abc';
      const env: Record<string, string> = {};
      const locals = { max_connections: '350', redis_url: '' };
      for (const [key, value] of Object.entries(settings)) {
        env[key] = key === 'ALLOWED_ORIGINS' ? `https://${appName}.azurewebsites.net` : resolve(value, locals);
      }
      const config = parseConfig(env);
      assert.equal(config.port, Number(settings.WEBSITES_PORT));
      assert.equal(config.trustProxy, true);
      assert.deepEqual(config.allowedOrigins, { kind: 'list', origins: new Set([`https://${appName}.azurewebsites.net`]) });
      assert.equal(config.maxConnections, 350);
    });

    it("allows the app's own https origin (derived from the app name) plus the extra origins", () => {
      const settings = app.app_settings as Body;
      assert.equal(settings.ALLOWED_ORIGINS, '${join(",", concat([local.app_origin], var.extra_allowed_origins))}');
      assert.equal(tf.locals.app_origin, 'https://${local.app_host}');
      assert.equal(tf.locals.app_host, '${local.app_name}.azurewebsites.net');
      assert.deepEqual(variableDefault('extra_allowed_origins'), []);
    });

    it('caps connections at the Basic plan WebSocket limit (350) by default', () => {
      assert.equal(variableDefault('max_connections'), 0);
      assert.equal(tf.locals.max_connections, '${var.max_connections > 0 ? var.max_connections : (local.plan_is_basic ? 350 : 10000)}');
      assert.equal((one('azurerm_linux_web_app').app_settings as Body).MAX_CONNECTIONS, '${tostring(local.max_connections)}');
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

    const alerts = all('azurerm_monitor_metric_alert').map(([, b]) => ({ body: b, criteria: bodies(b.criteria)[0] as Body }));
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

  it('leaves Application Insights out (no SDK in the app) and says why', () => {
    assert.equal(tf.resource.azurerm_application_insights, undefined);
    assert.match(readFileSync(new URL('monitoring.tf', `file://${INFRA}`), 'utf8'), /Application Insights is deliberately left out/);
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
