import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnvelope, type Parsed } from '../../src/protocol/parse.ts';
import { parseSay } from '../../src/realtime/features/chat.ts';
import { parseJoin, parseSubscribe, parseUnsubscribe } from '../../src/realtime/features/subscribe.ts';
import { parseRefresh } from '../../src/realtime/features/refresh.ts';
import { parseTypingMessage } from '../../src/realtime/features/typing.ts';

const PARSERS: Record<string, (fields: Record<string, unknown>) => Parsed<unknown>> = {
  join: parseJoin,
  say: parseSay,
  typing: parseTypingMessage,
  subscribe: parseSubscribe,
  unsubscribe: parseUnsubscribe,
  refresh: parseRefresh,
};

const text = (s: string) => parseEnvelope(Buffer.from(s), false);
/** The envelope, then the registered type's field parser, as connection.ts does. */
function json(v: unknown): Parsed<unknown> {
  const envelope = parseEnvelope(Buffer.from(JSON.stringify(v)), false);
  if (!envelope.ok) return envelope;
  if (!('fields' in envelope)) return { ok: true, message: 'pong' };
  const parse = PARSERS[envelope.type];
  return parse ? parse(envelope.fields) : { ok: false, code: 1008, reason: "Expected 'pong'" };
}

test('pong is the answer to ping', () => {
  assert.deepEqual(text('pong'), { ok: true, type: 'pong' });
});

test("anything else that is not a registered type is refused with 1008 Expected 'pong'", () => {
  for (const s of ['Pong', 'pong ', 'ping', '', 'hello', '{', '[1]', '"pong"', 'null', '{"type":"pong"}', '{"type":7}', '{"no":"type"}']) {
    assert.deepEqual(text(s), { ok: false, code: 1008, reason: "Expected 'pong'" }, s);
  }
  assert.deepEqual(json({ type: 'dance' }), { ok: false, code: 1008, reason: "Expected 'pong'" });
});

test('binary is refused with 1003', () => {
  assert.deepEqual(parseEnvelope(Buffer.from('pong'), true), { ok: false, code: 1003, reason: 'Unexpected message' });
});

test('join is typed', () => {
  assert.deepEqual(json({ type: 'join', room: 'a-B_9', name: 'Zoë 🚀' }), { ok: true, message: { room: 'a-B_9', name: 'Zoë 🚀', since: undefined } });
  assert.deepEqual(json({ type: 'join', room: 'r', name: 'n', since: '17' }), { ok: true, message: { room: 'r', name: 'n', since: '17' } });
});

test('join with a bad field names the field', () => {
  const cases: [unknown, string][] = [
    [{ type: 'join', name: 'n' }, 'room'],
    [{ type: 'join', room: '', name: 'n' }, 'room'],
    [{ type: 'join', room: 'has space', name: 'n' }, 'room'],
    [{ type: 'join', room: 'x'.repeat(65), name: 'n' }, 'room'],
    [{ type: 'join', room: '@me', name: 'n' }, 'room'],
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

test('say is typed and bounded to 1-2000 characters; its room and key are optional', () => {
  assert.deepEqual(json({ type: 'say', text: 'hi\nthere' }), { ok: true, message: { text: 'hi\nthere', room: undefined, key: undefined } });
  assert.deepEqual(json({ type: 'say', text: 'hi', room: 'r', key: 'k_1-A' }), { ok: true, message: { text: 'hi', room: 'r', key: 'k_1-A' } });
  for (const key of ['', 'k'.repeat(65), 'a b', 'é', 1, {}]) assert.deepEqual(json({ type: 'say', text: 'hi', key }), { ok: false, code: 1008, reason: 'Invalid field: key' }, JSON.stringify(key));
  assert.equal(json({ type: 'say', text: 'é'.repeat(2000) }).ok, true);
  for (const bad of [{ type: 'say' }, { type: 'say', text: '' }, { type: 'say', text: 'x'.repeat(2001) }, { type: 'say', text: 42 }, { type: 'say', text: 'bell\u0007' }]) {
    assert.deepEqual(json(bad), { ok: false, code: 1008, reason: 'Invalid field: text' }, JSON.stringify(bad));
  }
  assert.deepEqual(json({ type: 'say', text: 'hi', room: 'a b' }), { ok: false, code: 1008, reason: 'Invalid field: room' });
});

test('refresh carries a token of at most TOKEN_MAX_BYTES; what it says is the verifier\'s to judge', () => {
  assert.deepEqual(json({ type: 'refresh', token: 'a.b.c' }), { ok: true, message: { token: 'a.b.c' } });
  for (const token of [undefined, '', 7, 'x'.repeat(8193), ['a.b.c']]) assert.deepEqual(json({ type: 'refresh', token }), { ok: false, code: 1008, reason: 'Invalid field: token' }, JSON.stringify(token));
});

test('subscribe and unsubscribe name a room or @me, spelled exactly', () => {
  assert.deepEqual(json({ type: 'subscribe', room: 'r', since: '3' }), { ok: true, message: { room: 'r', since: '3' } });
  assert.deepEqual(json({ type: 'subscribe', room: '@me' }), { ok: true, message: { room: '@me', since: undefined } });
  assert.deepEqual(json({ type: 'unsubscribe', room: '@me' }), { ok: true, message: { room: '@me' } });
  for (const room of [undefined, '', '@ME', '@me ', ' @me', '@you', '@u:alice', '@', 'a/b', 7, ['r']]) {
    assert.deepEqual(json({ type: 'subscribe', room }), { ok: false, code: 1008, reason: 'Invalid field: room' }, String(room));
    assert.deepEqual(json({ type: 'unsubscribe', room }), { ok: false, code: 1008, reason: 'Invalid field: room' }, String(room));
  }
  assert.deepEqual(json({ type: 'subscribe', room: 'r', since: 'yesterday' }), { ok: false, code: 1008, reason: 'Invalid field: since' });
});
