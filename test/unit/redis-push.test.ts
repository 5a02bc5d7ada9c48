// The room channel's push is untrusted input (anyone with access to Redis can PUBLISH on it):
// parsePush takes only the publish scripts' shape, and the channel names round-trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisKeys } from '../../src/broker/redis/keys.ts';
import { parseLastIds, parsePush } from '../../src/broker/redis/replies.ts';

test('a push is [prev, id, [field, value, ...]]; anything else is not one', () => {
  const fields = ['from', 'a', 'text', 'hi', 'ts', '1'];
  assert.deepEqual(parsePush(JSON.stringify(['0-0', '5-1', fields])), { prev: '0-0', entry: { id: '5-1', fields: { from: 'a', text: 'hi', ts: '1' } } });
  for (const junk of ['', 'null', '{}', '[]', '["0-0","5-1"]', '["x","5-1",[]]', '["0-0","5-x",[]]', '["0-0","5-1",["from"]]', '["0-0","5-1",[1,2]]', '["0-0","5-1",[],4]']) {
    assert.equal(parsePush(junk), undefined, junk);
  }
});

test('the last-ids reply: one id or "" per room, of the length asked', () => {
  assert.deepEqual(parseLastIds(['1-0', ''], 2), ['1-0', '']);
  assert.equal(parseLastIds(['1-0'], 2), undefined);
  assert.equal(parseLastIds(['nope', ''], 2), undefined);
});

test("a room's channel names it back, and nothing else is a room's channel", () => {
  const keys = redisKeys('{t}:');
  assert.equal(keys.roomOfChannel(keys.channel('lobby:1')), 'lobby:1');
  assert.equal(keys.roomOfChannel(keys.room('lobby')), undefined);
  assert.equal(keys.roomOfChannel('{t}:presence:events'), undefined);
});
