// The client library's parts on their own: a room's replay bookkeeping (when it goes live, what
// is a repeat), the keyed sends, and the outbox's pacing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox } from '../../client/outbox.js';
import type { Message, ServerFrame } from '../../client/protocol.js';
import { Room } from '../../client/room.js';
import { Sends } from '../../client/sends.js';
import { eventually } from '../helpers/server.ts';

const msg = (id: string, extra: Partial<Message> = {}): ServerFrame => ({ type: 'message', id, room: 'r', from: 'a', text: `t${id}`, ts: 0, ...extra });

test('a room subscribed without since is live at its answer, and resumes from the room\'s last id', () => {
  const got: string[] = [];
  const room = new Room('r', { message: (m) => got.push(m.id) });
  assert.deepEqual(room.subscribeFrame(), { type: 'subscribe', room: 'r' });
  assert.equal(room.receive(msg('1')), 'dropped', 'a frame before the answer belongs to an earlier membership');
  assert.equal(room.receive({ type: 'subscribed', room: 'r', last: '7' }), 'live');
  room.receive(msg('8'));
  room.disconnected();
  assert.deepEqual(room.subscribeFrame(), { type: 'subscribe', room: 'r', since: '8' });
  assert.deepEqual(got, ['8']);
});

test('with since, a room goes live after the replay it was announced, repeats included; a truncated replay forgets what was seen', () => {
  const got: string[] = [];
  const room = new Room('r', { message: (m) => got.push(m.id) });
  room.subscribeFrame();
  room.receive({ type: 'subscribed', room: 'r', last: '0' });
  room.receive(msg('5'));
  room.disconnected();
  assert.deepEqual(room.subscribeFrame(), { type: 'subscribe', room: 'r', since: '5' });
  assert.equal(room.receive({ type: 'subscribed', room: 'r', last: '6' }), undefined, 'not live before the replay');
  room.receive({ type: 'history', room: 'r', since: '5', truncated: false, count: 2 });
  assert.equal(room.receive(msg('5')), 'dropped');
  assert.equal(room.receive(msg('6')), 'live', 'the last of the replay, even after a repeat');
  room.disconnected();
  room.subscribeFrame();
  room.receive({ type: 'subscribed', room: 'r', last: '2' });
  room.receive({ type: 'history', room: 'r', since: '6', truncated: true, count: 2 });
  room.receive(msg('1'));
  assert.equal(room.receive(msg('2')), 'live');
  assert.deepEqual(got, ['5', '6', '1', '2'], 'ids counted anew after a truncation are new');
});

test('sends: bounded, acknowledged by key and room, the oldest in flight refused first', async () => {
  const sends = new Sends(2);
  const a = sends.add('r', 'a', 'ka');
  const b = sends.add('r', 'b', 'kb');
  assert.equal(sends.add('r', 'c', 'kc'), undefined, 'queueMax');
  assert.ok(a && b);
  a.send.sent = b.send.sent = true;
  assert.equal(sends.acknowledge({ id: '1', room: 'other', from: 'x', text: 'a', ts: 0, key: 'ka' }), undefined, 'another room\'s message');
  sends.acknowledge({ id: '1', room: 'r', from: 'x', text: 'a', ts: 0, key: 'ka' });
  assert.equal((await a.done).id, '1');
  sends.refuseOldest('r', 'forbidden');
  await assert.rejects(b.done, { name: 'SendError', reason: 'forbidden' });
  assert.equal(sends.byKey.size, 0);
});

test('sends: a refusal naming a key (the publish hook) fails that send, not the oldest', async () => {
  const sends = new Sends(3);
  const first = sends.add('r', 'a', 'ka');
  const second = sends.add('r', 'b', 'kb');
  assert.ok(first && second);
  first.send.sent = second.send.sent = true;
  sends.refuseKey('kb', 'rejected');
  await assert.rejects(second.done, { name: 'SendError', reason: 'rejected' });
  assert.deepEqual([...sends.byKey.keys()], ['ka'], 'the older send still waits for its acknowledgement');
  sends.refuseKey('unknown', 'busy');
  assert.equal(sends.byKey.size, 1);
});

test('the outbox sends a second\'s worth at once, the rest paced; pong goes out at once and takes a token', async () => {
  const written: string[] = [];
  const outbox = new Outbox(5, (text) => (written.push(text), true));
  for (let i = 0; i < 8; i++) outbox.send({ i });
  assert.equal(written.length, 5);
  outbox.pong();
  assert.equal(written.at(-1), 'pong');
  const started = Date.now();
  await eventually(() => written.length === 9, 3000, 'the rest, paced');
  assert.ok(Date.now() - started >= 500, 'not all at once');
  outbox.clear();
});
