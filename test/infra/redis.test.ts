// infra/azure/redis.tf: the optional Azure Managed Redis behind the broker (docs/scaling.md).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { bodies, loadModule } from './lib/terraform.ts';
import type { Body, Json, TerraformModule } from './lib/terraform.ts';
import { accepts, block, one, variableDefault } from './lib/policy.ts';
import { parseConfig } from '../../src/config/config.ts';

const INFRA = fileURLToPath(new URL('../../infra/azure/', import.meta.url));

describe('Azure Managed Redis (infra/azure/redis.tf)', () => {
  let tf: TerraformModule;
  let redis: Body;
  let database: Body;
  before(async () => {
    tf = await loadModule(INFRA);
    redis = one(tf, 'azurerm_managed_redis');
    database = block(redis, 'default_database');
  });

  it('replaces Azure Cache for Redis (being retired) and exists only when more than one instance is possible or asked for', () => {
    assert.equal(tf.resource.azurerm_redis_cache, undefined);
    assert.equal(redis.count, '${local.redis_enabled ? 1 : 0}');
    assert.equal(tf.locals.redis_enabled, '${var.redis_enabled || var.instance_count > 1 || var.autoscale_enabled}');
    assert.equal(variableDefault(tf, 'redis_enabled'), false);
    assert.equal(variableDefault(tf, 'redis_sku_name'), 'Balanced_B0');
    assert.equal(accepts(tf, 'redis_sku_name', 'Enterprise_E10'), false, 'Redis Enterprise SKUs are not Managed Redis');
  });

  it('speaks TLS only and never evicts stream entries', () => {
    assert.equal(database.client_protocol, 'Encrypted');
    assert.equal(database.eviction_policy, 'NoEviction');
    assert.match(String(redis.tags), /local\.tags/);
  });

  it('keeps one shard by default (NoCluster: the broker\'s Lua and multi-key XREAD work unchanged), refused above the sizes that allow it', () => {
    assert.equal(database.clustering_policy, '${var.redis_clustering_policy}');
    assert.equal(variableDefault(tf, 'redis_clustering_policy'), 'NoCluster');
    for (const sku of ['Balanced_B0', 'Balanced_B20', 'MemoryOptimized_M20', 'ComputeOptimized_X10']) {
      assert.equal(accepts(tf, 'redis_clustering_policy', 'NoCluster', { redis_sku_name: sku }), true, sku);
    }
    for (const sku of ['Balanced_B50', 'MemoryOptimized_M100', 'FlashOptimized_A250']) {
      assert.equal(accepts(tf, 'redis_clustering_policy', 'NoCluster', { redis_sku_name: sku }), false, sku);
      assert.equal(accepts(tf, 'redis_clustering_policy', 'EnterpriseCluster', { redis_sku_name: sku }), true, sku);
    }
    assert.match(String(tf.locals.redis_settings), /REDIS_CLUSTER\s*=\s*var\.redis_clustering_policy == "OSSCluster"/, 'the app must know when keys need a hash tag');
  });

  it('authenticates with Microsoft Entra ID from the app identity by default: access keys off, an access policy assignment, no secret', () => {
    assert.equal(variableDefault(tf, 'redis_auth'), 'entra');
    assert.equal(database.access_keys_authentication_enabled, '${var.redis_auth == "key"}');
    const grant = one(tf, 'azurerm_managed_redis_access_policy_assignment');
    assert.equal(grant.count, '${local.redis_enabled && var.redis_auth == "entra" ? 1 : 0}');
    assert.equal(grant.managed_redis_id, '${azurerm_managed_redis.main[0].id}');
    assert.equal(grant.object_id, '${azurerm_user_assigned_identity.app.principal_id}');
    const settings = String(tf.locals.redis_settings);
    assert.match(settings, /"rediss:\/\/\$\{local\.redis_endpoint\}"/, 'entra: a rediss:// URL without credentials');
    assert.match(settings, /REDIS_AUTH\s*=\s*var\.redis_auth == "entra" \? "entra-id" : "password"/);
    assert.match(settings, /AZURE_CLIENT_ID = azurerm_user_assigned_identity\.app\.client_id/);
    assert.equal(tf.locals.redis_endpoint, '${local.redis_enabled ? "${azurerm_managed_redis.main[0].hostname}:${azurerm_managed_redis.main[0].default_database[0].port}" : ""}');
  });

  it('in key mode keeps the URL with the key in Key Vault and gives the app a reference; no output shows it', () => {
    const secret = bodies(tf.resource.azurerm_key_vault_secret?.redis_url as Json)[0] as Body;
    assert.equal(secret.count, '${local.redis_key_in_vault ? 1 : 0}');
    assert.match(String(secret.value), /^rediss:\/\/:\$\{urlencode\(azurerm_managed_redis\.main\[0\]\.default_database\[0\]\.primary_access_key\)\}@/);
    assert.match(String(tf.locals.redis_settings), /@Microsoft\.KeyVault\(SecretUri=\$\{azurerm_key_vault_secret\.redis_url\[0\]\.versionless_id\}\)/);
    for (const [name, list] of Object.entries(tf.output)) {
      const value = JSON.stringify(bodies(list as Json)[0]?.value ?? '');
      assert.doesNotMatch(value, /redis|access_key|connection_string/, `output ${name} exposes a Redis secret`);
    }
    // The URL shapes the app's config accepts (entra: no password; key: password in the URL).
    assert.equal(parseConfig({ REDIS_URL: 'rediss://redis-x.westeurope.redis.azure.net:10000' }).redisUrl, 'rediss://redis-x.westeurope.redis.azure.net:10000');
    assert.equal(parseConfig({ REDIS_URL: 'rediss://:k%2Bey%3D@redis-x.westeurope.redis.azure.net:10000' }).redisUrl, 'rediss://:k%2Bey%3D@redis-x.westeurope.redis.azure.net:10000');
  });
});
