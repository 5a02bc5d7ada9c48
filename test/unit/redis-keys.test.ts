// Every key the Redis broker uses together must carry the same hash tag, or a sharded Redis
// (Redis Cluster, Azure Managed Redis) refuses the multi-key XREAD and the scripts with CROSSSLOT.
// The e2e proof is test/e2e/redis-cluster.test.ts; this pins the rule without a Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_KEY_PREFIX, hashTagOf, redisKeys } from '../../src/broker/redis/keys.ts';

test('hashTagOf follows the cluster rule: the first {...} that is not empty', () => {
  assert.equal(hashTagOf('{socketship}:room:a'), 'socketship');
  assert.equal(hashTagOf('a{b}c{d}'), 'b');
  assert.equal(hashTagOf('{}x{y}'), undefined, 'an empty first tag means the whole key is hashed');
  assert.equal(hashTagOf('socketship:room:a'), undefined);
  assert.equal(hashTagOf('{open'), undefined);
});

test('every key of the default prefix, whatever the room name, has the tag socketship', () => {
  assert.equal(DEFAULT_KEY_PREFIX, '{socketship}:');
  const keys = redisKeys();
  const rooms = ['lobby', '{evil}', '}{', 'ünï', 'a:b', ''];
  const all = [keys.events, keys.instances, `${keys.instanceHashPrefix}abc123`, ...rooms.map((r) => keys.room(r))];
  assert.deepEqual(new Set(all.map(hashTagOf)), new Set(['socketship']));
  for (const room of rooms) assert.equal(keys.roomOf(keys.room(room)), room);
  assert.equal(keys.roomOf(keys.events), undefined);
});

test('a prefix without a hash tag is refused', () => {
  assert.throws(() => redisKeys('socketship:'), /hash tag/);
  assert.throws(() => redisKeys('{}socketship:'), /hash tag/);
  assert.equal(redisKeys('{tenant-a}:').events, '{tenant-a}:presence:events');
});
