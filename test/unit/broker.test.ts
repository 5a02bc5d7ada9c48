import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_LISTENER, type ChatMessage } from '../../src/broker/broker.ts';
import { createMemoryBroker } from '../../src/broker/memory.ts';
import { reconnectDelay } from '../../src/broker/redis/connection.ts';
import { parseCounts, parseEntries, parseHistoryReply, parseXRead, toChatMessage } from '../../src/broker/redis/replies.ts';
import { compareIdText, parseId } from '../../src/protocol/ids.ts';
import { ConfigError, parseConfig, redactUrl } from '../../src/config/config.ts';

test('ids compare as (milliseconds, sequence); a counter n is (n, 0)', () => {
  assert.deepEqual(parseId('17'), [17n, 0n]);
  assert.deepEqual(parseId('1700000000000-3'), [1700000000000n, 3n]);
  for (const bad of ['', '-1', '1-', '1-2-3', 'x', '1 2']) assert.equal(parseId(bad), undefined, bad);
  assert.ok(compareIdText('9', '10') < 0, 'numeric, not lexical');
  assert.ok(compareIdText('1700000000000-10', '1700000000000-9') > 0);
  assert.ok(compareIdText('1700000000001-0', '1700000000000-99') > 0);
  assert.equal(compareIdText('5-0', '5'), 0);
});

test('REDIS_URL, HISTORY_SIZE and PRESENCE_TTL_MS: defaults, values, refusals without the password', () => {
  const d = parseConfig({});
  assert.equal(d.redisUrl, undefined);
  assert.equal(d.historySize, 100);
  assert.equal(d.presenceTtlMs, 15000);
  const c = parseConfig({ REDIS_URL: 'rediss://:s3cret@cache.example:6380', HISTORY_SIZE: '500' });
  assert.equal(c.redisUrl, 'rediss://:s3cret@cache.example:6380');
  assert.equal(c.historySize, 500);
  for (const [name, value] of [['REDIS_URL', 'http://x'], ['REDIS_URL', 'localhost:6379'], ['HISTORY_SIZE', '0'], ['HISTORY_SIZE', 'lots'], ['PRESENCE_TTL_MS', '10']] as const) {
    assert.throws(() => parseConfig({ [name]: value }), (err: unknown) => err instanceof ConfigError && err.variable === name, `${name}=${value}`);
  }
  assert.throws(() => parseConfig({ REDIS_URL: 'http://:hunter2@x' }), (err: unknown) => err instanceof Error && !err.message.includes('hunter2'));
  assert.equal(redactUrl('rediss://user:hunter2@h:6380/0'), 'rediss://user:***@h:6380/0');
});

test('the memory broker keeps HISTORY_SIZE messages a room and replays after since', async () => {
  const broker = createMemoryBroker({ historySize: 3 });
  const seen: ChatMessage[] = [];
  broker.subscribe({ ...NO_LISTENER, message: (m) => seen.push(m) });
  for (let i = 1; i <= 5; i++) await broker.publish({ room: 'r', from: 'a', text: `t${i}`, ts: i });
  await broker.publish({ room: 'other', from: 'a', text: 'x', ts: 0 });
  assert.deepEqual(seen.map((m) => m.id), ['1', '2', '3', '4', '5', '1']);
  assert.deepEqual(await broker.history('r', '3'), { messages: seen.slice(3, 5), truncated: false, last: '5' });
  assert.deepEqual((await broker.history('r', '1')).truncated, true);
  assert.deepEqual((await broker.history('r', '2')).messages.map((m) => m.text), ['t3', 't4', 't5']);
  assert.equal((await broker.history('r', '2')).truncated, false);
  assert.deepEqual(await broker.history('empty', '0'), { messages: [], truncated: false, last: '0' });
});

test('Redis replies become typed values; anything malformed is dropped', () => {
  const entry = { id: '1-0', message: { from: 'a', text: 'hi', ts: '5', pid: 'x' } };
  assert.deepEqual(parseXRead([{ name: 'k', messages: [entry, { id: 'bad', message: {} }, 7] }]), [{ key: 'k', entries: [{ id: '1-0', fields: entry.message }] }]);
  assert.deepEqual(parseXRead(null), []);
  assert.deepEqual(parseEntries([['2-0', ['from', 'b', 'text', 'yo', 'ts', '9']], ['3-0', ['odd']]]), [{ id: '2-0', fields: { from: 'b', text: 'yo', ts: '9' } }]);
  assert.deepEqual(toChatMessage('r', { id: '1-0', fields: entry.message }), { id: '1-0', room: 'r', from: 'a', text: 'hi', ts: 5 });
  assert.equal(toChatMessage('r', { id: '1-0', fields: { from: 'a', text: 'hi', ts: 'soon' } }), undefined);
  assert.equal(toChatMessage('r', { id: '1-0', fields: { text: 'hi', ts: '1' } }), undefined);
  assert.deepEqual(parseHistoryReply([0]), { exists: false, lastId: '0-0', maxDeletedId: undefined, entries: [] });
  assert.deepEqual(parseHistoryReply([1, '5-0', '2-0', [['3-0', ['from', 'a', 'text', 't', 'ts', '1']]]])?.maxDeletedId, '2-0');
  assert.equal(parseHistoryReply([1, '5-0', '', []])?.maxDeletedId, undefined);
  assert.equal(parseHistoryReply('nope'), undefined);
  assert.deepEqual(parseCounts([1, '2', 0], 3), [1, 2, 0]);
  assert.equal(parseCounts([1, -2], 2), undefined);
  assert.equal(parseCounts([1], 2), undefined);
});

test('reconnect backoff grows, is capped at 5 s, and is jittered', () => {
  assert.equal(reconnectDelay(0, () => 0), 50);
  assert.equal(reconnectDelay(0, () => 1), 100);
  assert.ok(reconnectDelay(3, () => 1) > reconnectDelay(1, () => 1));
  assert.equal(reconnectDelay(50, () => 1), 5000);
  assert.equal(reconnectDelay(50, () => 0), 2500);
});
