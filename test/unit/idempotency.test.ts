// The in-process broker's memory of idempotency keys is bounded per room and over all rooms,
// whoever floods it, and forgets keys when their time passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIdempotencyStore } from '../../src/broker/idempotency.ts';
import { createMemoryBroker } from '../../src/broker/memory.ts';
import { IDEMPOTENCY_KEYS_PER_ROOM } from '../../src/protocol/limits.ts';

const message = (room: string, id: string) => ({ id, room, from: 'a', text: 't', ts: 0 });

test('a flood of distinct keys in one room keeps the newest IDEMPOTENCY_KEYS_PER_ROOM; the broker stores each message', async () => {
  const broker = createMemoryBroker({ historySize: 10 });
  for (let i = 0; i < IDEMPOTENCY_KEYS_PER_ROOM * 3; i++) await broker.publish({ room: 'r', from: 'a', text: `m${i}`, ts: 0 }, { idempotency: { key: `k${i}`, ttlMs: 60_000 } });
  assert.equal(broker.keptKeys(), IDEMPOTENCY_KEYS_PER_ROOM);
  const newest = await broker.publish({ room: 'r', from: 'a', text: 'again', ts: 0 }, { idempotency: { key: `k${IDEMPOTENCY_KEYS_PER_ROOM * 3 - 1}`, ttlMs: 60_000 } });
  assert.equal(newest.suppressed, true, 'the newest key is still remembered');
  const oldest = await broker.publish({ room: 'r', from: 'a', text: 'again', ts: 0 }, { idempotency: { key: 'k0', ttlMs: 60_000 } });
  assert.equal(oldest.suppressed, false, 'the oldest was forgotten to keep the bound');
  await broker.close();
});

test('over all rooms the store keeps at most its maximum, oldest forgotten first', () => {
  const store = createIdempotencyStore(10, 25);
  for (let room = 0; room < 10; room++) for (let k = 0; k < 10; k++) store.remember(`r${room}`, `k${k}`, message(`r${room}`, `${k}`), 1000);
  assert.equal(store.size(), 25);
  assert.equal(store.seen('r0', 'k0', 0), undefined);
  assert.deepEqual(store.seen('r9', 'k9', 0)?.id, '9');
});

test('a key past its time is forgotten; remembering it again renews it', () => {
  const store = createIdempotencyStore();
  store.remember('r', 'k', message('r', '1'), 100);
  assert.equal(store.seen('r', 'k', 99)?.id, '1');
  assert.equal(store.seen('r', 'k', 100), undefined);
  assert.equal(store.size(), 0);
  store.remember('r', 'k', message('r', '2'), 300);
  store.remember('r', 'k', message('r', '3'), 400);
  assert.equal(store.size(), 1);
  assert.equal(store.seen('r', 'k', 350)?.id, '3');
});
