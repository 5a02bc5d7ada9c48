// infra/redis.tf: the optional Azure Cache for Redis behind the broker (docs/scaling.md).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { bodies, loadModule } from './lib/terraform.ts';
import type { Body, Json, TerraformModule } from './lib/terraform.ts';
import { parseConfig } from '../../src/config/config.ts';

const INFRA = fileURLToPath(new URL('../../infra/azure/', import.meta.url));

describe('Azure Cache for Redis (infra/redis.tf)', () => {
  let tf: TerraformModule;
  let cache: Body;
  before(async () => {
    tf = await loadModule(INFRA);
    cache = bodies(tf.resource.azurerm_redis_cache?.main as Json)[0] as Body;
  });

  it('exists only when the plan has more than one instance or redis_enabled is set', () => {
    assert.ok(cache, 'azurerm_redis_cache.main');
    assert.equal(cache.count, '${local.redis_enabled ? 1 : 0}');
    assert.equal(tf.locals.redis_enabled, '${var.redis_enabled || var.instance_count > 1}');
    assert.equal(bodies(tf.variable.redis_enabled as Json)[0]?.default, false);
  });

  it('speaks TLS only: minimum TLS 1.2, the non-TLS port off; never evicts stream entries', () => {
    assert.equal(cache.minimum_tls_version, '1.2');
    assert.equal(cache.non_ssl_port_enabled, false);
    assert.equal(bodies(cache.redis_configuration)[0]?.maxmemory_policy, 'noeviction');
    assert.match(String(cache.tags), /local\.tags/);
  });

  it('gives the app a rediss:// REDIS_URL through a sensitive local, and no output shows it', () => {
    const app = bodies(Object.values(tf.resource.azurerm_linux_web_app ?? {})[0] as Json)[0] as Body;
    assert.equal((app.app_settings as Body).REDIS_URL, '${local.redis_url}');
    const url = String(tf.locals.redis_url);
    assert.match(url, /sensitive\("rediss:\/\/:\$\{urlencode\(azurerm_redis_cache\.main\[0\]\.primary_access_key\)\}@/);
    assert.match(url, /ssl_port/);
    for (const [name, list] of Object.entries(tf.output)) {
      const value = JSON.stringify(bodies(list as Json)[0]?.value ?? '');
      assert.doesNotMatch(value, /redis_url|access_key|connection_string/, `output ${name} exposes the Redis secret`);
    }
    // The URL shape the app's config accepts.
    assert.equal(parseConfig({ REDIS_URL: 'rediss://:k%2Bey%3D@redis-x.redis.cache.windows.net:6380' }).redisUrl, 'rediss://:k%2Bey%3D@redis-x.redis.cache.windows.net:6380');
  });
});
