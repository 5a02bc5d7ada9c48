import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../src/realtime/session.ts';

test('token bucket allows a burst of twice the rate, then the rate', () => {
  const rate = 10;
  let now = 1_000_000;
  const s = new Session('c', '127.0.0.1', 'n', now, 1, rate);
  let allowed = 0;
  for (let i = 0; i < 100; i++) if (s.takeToken(now, rate)) allowed++;
  assert.equal(allowed, 20, 'burst');
  assert.equal(s.takeToken(now, rate), false);
  now += 100; // 100 ms refills one token at 10/s
  assert.equal(s.takeToken(now, rate), true);
  assert.equal(s.takeToken(now, rate), false);
  now += 60_000; // never more than the burst, however long the pause
  allowed = 0;
  for (let i = 0; i < 100; i++) if (s.takeToken(now, rate)) allowed++;
  assert.equal(allowed, 20);
});
