import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFrame } from '../../src/protocol/parse.ts';

const text = (s: string) => parseFrame(Buffer.from(s), false);
const json = (v: unknown) => text(JSON.stringify(v));

test('pong is the answer to ping', () => {
  assert.deepEqual(text('pong'), { ok: true, message: { type: 'pong' } });
});

test("anything else that is not chat is refused with 1008 Expected 'pong'", () => {
  for (const s of ['Pong', 'pong ', 'ping', '', 'hello', '{', '[1]', '{"type":"dance"}', '"pong"', 'null', '{"type":"pong"}']) {
    assert.deepEqual(text(s), { ok: false, code: 1008, reason: "Expected 'pong'" }, s);
  }
});

test('binary is refused with 1003', () => {
  assert.deepEqual(parseFrame(Buffer.from('pong'), true), { ok: false, code: 1003, reason: 'Unexpected message' });
});

test('join is typed', () => {
  assert.deepEqual(json({ type: 'join', room: 'a-B_9', name: 'Zoë 🚀' }), { ok: true, message: { type: 'join', room: 'a-B_9', name: 'Zoë 🚀' } });
  assert.deepEqual(json({ type: 'join', room: 'r', name: 'n', since: '17' }), { ok: true, message: { type: 'join', room: 'r', name: 'n', since: '17' } });
});

test('join with a bad field names the field', () => {
  const cases: [unknown, string][] = [
    [{ type: 'join', name: 'n' }, 'room'],
    [{ type: 'join', room: '', name: 'n' }, 'room'],
    [{ type: 'join', room: 'has space', name: 'n' }, 'room'],
    [{ type: 'join', room: 'x'.repeat(65), name: 'n' }, 'room'],
    [{ type: 'join', room: 'r' }, 'name'],
    [{ type: 'join', room: 'r', name: '' }, 'name'],
    [{ type: 'join', room: 'r', name: '   ' }, 'name'],
    [{ type: 'join', room: 'r', name: 'a\u0000b' }, 'name'],
    [{ type: 'join', room: 'r', name: 'x'.repeat(33) }, 'name'],
    [{ type: 'join', room: 'r', name: 7 }, 'name'],
    [{ type: 'join', room: 'r', name: 'n', since: 5 }, 'since'],
  ];
  for (const [value, field] of cases) assert.deepEqual(json(value), { ok: false, code: 1008, reason: `Invalid field: ${field}` }, JSON.stringify(value));
  // 32 characters, counted as characters, not UTF-16 units
  assert.equal(json({ type: 'join', room: 'r', name: '😀'.repeat(32) }).ok, true);
});

test('say is typed and bounded to 1-2000 characters', () => {
  assert.deepEqual(json({ type: 'say', text: 'hi\nthere' }), { ok: true, message: { type: 'say', text: 'hi\nthere' } });
  assert.equal(json({ type: 'say', text: 'é'.repeat(2000) }).ok, true);
  for (const bad of [{ type: 'say' }, { type: 'say', text: '' }, { type: 'say', text: 'x'.repeat(2001) }, { type: 'say', text: 42 }, { type: 'say', text: 'bell\u0007' }]) {
    assert.deepEqual(json(bad), { ok: false, code: 1008, reason: 'Invalid field: text' }, JSON.stringify(bad));
  }
});
