// The app settings (infra/azure/app-settings.tf) read back through the app's own config parser,
// so the Terraform and the service cannot drift apart; and the rules that tie settings
// together, checked for every value the variables allow, not just the defaults.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, parseConfig } from '../../src/config/config.ts';
import { bodies, loadModule } from './lib/terraform.ts';
import type { Body, Json, TerraformModule } from './lib/terraform.ts';
import { accepts, evaluate, inputs, one, variable, variableDefault } from './lib/policy.ts';

const INFRA = fileURLToPath(new URL('../../infra/azure/', import.meta.url));
const APP_NAME = 'app-0123456789abc';

/** App Service's SIGKILL delay when WEBSITES_CONTAINER_STOP_TIME_LIMIT is not set. */
const DEFAULT_STOP_SECONDS = 5;
/** After draining, the service flushes telemetry (bounded at 5 s in src/telemetry/start.ts) and exits. */
const EXIT_MARGIN_MS = 5_000;

let tf: TerraformModule;
let base: Body;

/** The container's environment for these variable values, as App Service would set it. */
function environment(overrides: Record<string, Json> = {}): Record<string, string> {
  const vars = inputs(tf, { environment_name: 'dev', location: 'westeurope', subscription_id: 'sub', ...overrides });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (key === 'ALLOWED_ORIGINS') env[key] = `https://${APP_NAME}.azurewebsites.net`;
    else if (key === 'ALLOWED_HOSTS') env[key] = `${APP_NAME}.azurewebsites.net`;
    else if (key === 'APPLICATIONINSIGHTS_CONNECTION_STRING') env[key] = 'InstrumentationKey=00000000-0000-0000-0000-000000000000';
    else env[key] = String(evaluate(tf, value, vars));
  }
  return env;
}

/** The drain rule: App Service must wait longer than the service drains, plus its exit margin. */
function stopPolicyViolation(settings: Record<string, string | undefined>): string | undefined {
  const drainMs = Number(settings.SHUTDOWN_TIMEOUT_MS ?? DEFAULTS.SHUTDOWN_TIMEOUT_MS);
  const stopSeconds = Number(settings.WEBSITES_CONTAINER_STOP_TIME_LIMIT ?? DEFAULT_STOP_SECONDS);
  if (!(stopSeconds * 1000 >= drainMs + EXIT_MARGIN_MS)) return `App Service kills after ${stopSeconds} s but the service drains for ${drainMs} ms (+${EXIT_MARGIN_MS} ms to exit)`;
  if (stopSeconds > 120) return `WEBSITES_CONTAINER_STOP_TIME_LIMIT ${stopSeconds} s is beyond what this template allows (120 s)`;
  return undefined;
}

describe('app settings (infra/azure/app-settings.tf)', () => {
  before(async () => {
    tf = await loadModule(INFRA);
    base = tf.locals.base_settings as Body;
    assert.ok(base && typeof base === 'object', 'local.base_settings must be a plain object');
  });

  it('merges the base settings with the Redis and secret settings into what site and slot get', () => {
    assert.equal(tf.locals.app_settings, '${merge(local.base_settings, local.redis_settings, local.secret_settings)}');
  });

  it("are read by the app's config: port, proxy trust, origins, connection cap, shutdown timeout", () => {
    assert.equal(base.WEBSITES_PORT, DEFAULTS.PORT);
    const config = parseConfig(environment());
    assert.equal(config.port, Number(base.WEBSITES_PORT));
    assert.equal(config.trustProxy, true);
    assert.deepEqual(config.allowedOrigins, { kind: 'list', origins: new Set([`https://${APP_NAME}.azurewebsites.net`]) });
    assert.equal(config.maxConnections, 350);
    assert.equal(config.shutdownTimeoutMs, variableDefault(tf, 'shutdown_timeout_ms'));
  });

  it('sets no setting the provider manages itself', () => {
    for (const key of Object.keys(base)) {
      assert.ok(!/^DOCKER_REGISTRY_/.test(key) && key !== 'WEBSITE_HEALTHCHECK_MAXPINGFAILURES', `${key} is managed by the provider`);
    }
  });

  describe('deploys, restarts and scale-in drain sockets with 1001 instead of being cut (1006)', () => {
    it('WEBSITES_CONTAINER_STOP_TIME_LIMIT outlasts SHUTDOWN_TIMEOUT_MS plus the exit margin, for every allowed timeout', () => {
      assert.equal(base.SHUTDOWN_TIMEOUT_MS, '${tostring(var.shutdown_timeout_ms)}');
      assert.equal(base.WEBSITES_CONTAINER_STOP_TIME_LIMIT, '${tostring(local.container_stop_seconds)}');
      let checked = 0;
      for (let ms = 0; ms <= 200_000; ms += 250) {
        if (!accepts(tf, 'shutdown_timeout_ms', ms)) continue;
        const env = environment({ shutdown_timeout_ms: ms });
        assert.equal(stopPolicyViolation(env), undefined, `shutdown_timeout_ms=${ms}: ${stopPolicyViolation(env) ?? ''}`);
        assert.equal(parseConfig(env).shutdownTimeoutMs, ms);
        checked++;
      }
      assert.ok(checked > 100, `only ${checked} allowed values checked`);
      assert.equal(accepts(tf, 'shutdown_timeout_ms', 200_000), false, 'timeouts beyond the stop limit must be refused');
    });

    it('the rule fails on the old settings (no stop limit: 5 s against a 10 s drain) and on a limit set too short', () => {
      const env = environment();
      assert.match(String(stopPolicyViolation({ ...env, WEBSITES_CONTAINER_STOP_TIME_LIMIT: undefined, SHUTDOWN_TIMEOUT_MS: undefined })), /kills after 5 s but the service drains for 10000 ms/);
      assert.ok(stopPolicyViolation({ ...env, WEBSITES_CONTAINER_STOP_TIME_LIMIT: '12' }), 'a limit of 12 s for a 10 s drain leaves no time to exit');
    });

    it('sends traffic to a new or swapped-in container only once /readyz answers 200', () => {
      assert.equal(base.WEBSITE_WARMUP_PATH, '/readyz');
      assert.equal(base.WEBSITE_WARMUP_STATUSES, '200');
      assert.equal(base.WEBSITE_SWAP_WARMUP_PING_PATH, '/readyz');
      assert.equal(base.WEBSITE_SWAP_WARMUP_PING_STATUSES, '200');
    });
  });

  it('answers to its own host, the staging slot and the custom domain only, and allows their https origins', () => {
    assert.equal(base.ALLOWED_HOSTS, '${join(",", local.app_hosts)}');
    assert.equal(base.ALLOWED_ORIGINS, '${join(",", local.app_origins)}');
    assert.equal(tf.locals.app_hosts, '${compact([local.app_host, var.staging_slot_enabled ? local.slot_host : "", var.custom_domain])}');
    assert.equal(tf.locals.app_origins, '${concat([for host in local.app_hosts : "https://${host}"], var.extra_allowed_origins)}');
    assert.equal(tf.locals.slot_host, '${local.app_name}-staging.azurewebsites.net');
    assert.equal(tf.locals.app_host, '${local.app_name}.azurewebsites.net');
    assert.deepEqual(variableDefault(tf, 'extra_allowed_origins'), []);
  });

  it('gives AUTH_JWT_SECRET and API_KEY to the app only as Key Vault references, and only when set', () => {
    for (const name of ['AUTH_JWT_SECRET', 'API_KEY', 'REDIS_URL']) assert.ok(!(name in base), `${name} must not be a plain setting`);
    for (const name of ['auth_jwt_secret', 'api_key']) {
      assert.equal(variable(tf, name).sensitive, true, `${name} must be sensitive`);
      assert.equal(variableDefault(tf, name), '');
    }
    assert.equal(tf.locals.secret_settings, '${{ for name in local.secret_names : name => "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.app[name].versionless_id})" }}');
    assert.match(String(tf.locals.secret_names), /nonsensitive\(var\.auth_jwt_secret != ""\) \? \["AUTH_JWT_SECRET"\]/);
    assert.match(String(tf.locals.secret_names), /nonsensitive\(var\.api_key != ""\) \? \["API_KEY"\]/);
    const vault = one(tf, 'azurerm_key_vault');
    assert.equal(vault.rbac_authorization_enabled, true);
    assert.equal(vault.count, '${local.key_vault_enabled ? 1 : 0}');
    assert.equal(accepts(tf, 'auth_jwt_secret', 'x'.repeat(31)), false, 'the app refuses secrets under 32 bytes; so does the variable');
    assert.equal(bodies(tf.resource.azurerm_key_vault_secret?.app as Json)[0]?.for_each, '${local.secret_names}');
  });
});
