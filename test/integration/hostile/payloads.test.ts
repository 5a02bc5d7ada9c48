// Hostile-input catalogue, part 2: well-formed frames carrying what the protocol refuses (bad
// JSON, prototype-pollution payloads, traversal in room names, invisible and reordering names,
// bogus `since`, `@me` spelled otherwise), floods of every frame type, and the room cap. Each answered, logged, counted; the witness
// pair in the same room hears every message during and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../../helpers/client.ts';
import { attacker, frame, OP, runKind, textFrames, Witness, writeRaw, type Kind, type Outcome } from '../../helpers/hostile.ts';
import { serverPool, type TestServer } from '../../helpers/server.ts';

const RATE = 50; // a burst of 2 x RATE passes; floods send more than that at once
const server = serverPool({ pingIntervalMs: 200, pongTimeoutMs: 2000, rateLimitPerSec: RATE, maxMessageBytes: 8192, refusalLogPerSec: 1000, maxRoomsPerConnection: 8 });

const refused = (reason: string): Kind['expect'] => ({
  close: { code: 1008, reason },
  log: { msg: 'protocol violation', code: 1008, reason },
  metric: { name: 'ws_closes_total', labels: { code: '1008', by: 'server' }, by: 1 },
});
const send = (...data: (string | Record<string, unknown>)[]) => (s: TestServer) => textFrames(s, data);
const join = (fields: Record<string, unknown>) => send({ type: 'join', room: 'r', name: 'n', ...fields });
const say = (text: unknown) => send({ type: 'say', text });
const FLOOD = 3 * RATE;

/** Sends `count` copies of a frame in one write and returns the close. */
function flood(bytes: () => Buffer, count = FLOOD) {
  return async (s: TestServer): Promise<Outcome> => {
    const c = await attacker(s);
    await c.nextOf('welcome');
    writeRaw(c, Buffer.concat(Array.from({ length: count }, bytes)));
    return { close: await c.closed };
  };
}

const PAYLOAD_KINDS: Kind[] = [
  { name: 'text that is not pong', attack: send('hello'), expect: refused("Expected 'pong'") },
  { name: 'empty text frame', attack: send(''), expect: refused("Expected 'pong'") },
  { name: 'JSON array', attack: send('[{"type":"say","text":"x"}]'), expect: refused("Expected 'pong'") },
  { name: 'truncated JSON', attack: send('{"type":"say","text":'), expect: refused("Expected 'pong'") },
  { name: 'unknown message type', attack: send({ type: 'admin', cmd: 'shutdown' }), expect: refused("Expected 'pong'") },
  { name: 'deeply nested JSON', attack: send(`{"type":"say","text":${'['.repeat(3000)}${']'.repeat(3000)}}`), expect: refused('Invalid field: text') },
  {
    name: 'prototype pollution through __proto__',
    attack: async (s) => {
      const out = await send('{"__proto__":{"type":"say","text":"polluted","isAdmin":true}}')(s);
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype polluted');
      return out;
    },
    expect: refused("Expected 'pong'"),
  },
  { name: '__proto__ supplying join fields', attack: send('{"type":"join","__proto__":{"room":"r","name":"n"}}'), expect: refused('Invalid field: room') },
  { name: 'constructor.prototype payload', attack: send('{"type":"say","text":{"constructor":{"prototype":{"x":1}}}}'), expect: refused('Invalid field: text') },
  { name: 'path traversal as a room', attack: join({ room: '../../etc/passwd' }), expect: refused('Invalid field: room') },
  { name: 'encoded traversal as a room', attack: join({ room: '%2e%2e%2fadmin' }), expect: refused('Invalid field: room') },
  { name: 'room name of 65 characters', attack: join({ room: 'r'.repeat(65) }), expect: refused('Invalid field: room') },
  { name: 'name of Hangul fillers only', attack: join({ name: '\u3164\u115f\uffa0' }), expect: refused('Invalid field: name') },
  { name: 'name of a braille blank', attack: join({ name: '\u2800\u2800' }), expect: refused('Invalid field: name') },
  { name: 'name of zero-width characters', attack: join({ name: '\u200b\u200d' }), expect: refused('Invalid field: name') },
  { name: 'name with a bidi override', attack: join({ name: 'admin\u202e' }), expect: refused('Invalid field: name') },
  { name: 'name with a lone surrogate', attack: send('{"type":"join","room":"r","name":"x\\ud800"}'), expect: refused('Invalid field: name') },
  { name: 'name of combining marks only', attack: join({ name: '\u0301\u0308' }), expect: refused('Invalid field: name') },
  { name: 'chat text with a lone surrogate', attack: send('{"type":"say","text":"hi \\udc00"}'), expect: refused('Invalid field: text') },
  { name: 'chat text with a bidi override', attack: say('gnp.exe\u202efdp'), expect: refused('Invalid field: text') },
  { name: 'chat text with NUL and escape characters', attack: say('a\u0000\u001b[2J'), expect: refused('Invalid field: text') },
  { name: 'chat text over 2000 characters', attack: say('x'.repeat(2001)), expect: refused('Invalid field: text') },
  { name: 'since negative', attack: join({ since: '-1' }), expect: refused('Invalid field: since') },
  { name: 'since in exponent form', attack: join({ since: '1e9' }), expect: refused('Invalid field: since') },
  { name: 'since of 21 digits', attack: join({ since: '1'.repeat(21) }), expect: refused('Invalid field: since') },
  { name: 'since as an object', attack: join({ since: { $gt: '' } }), expect: refused('Invalid field: since') },
  { name: 'say flood', attack: send(...Array.from({ length: FLOOD }, (_, i) => ({ type: 'say', text: `flood ${i}` }))), expect: refused('Rate limit exceeded') },
  { name: 'text pong flood (unasked)', attack: send(...Array.from({ length: FLOOD }, () => 'pong')), expect: refused('Rate limit exceeded') },
  { name: 'typing flood', attack: send(...Array.from({ length: FLOOD }, () => ({ type: 'typing' }))), expect: refused('Rate limit exceeded') },
  {
    name: 'room hoarding: joins to a new room each',
    attack: send(...Array.from({ length: FLOOD }, (_, i) => ({ type: 'join', room: `hoard-${i}`, name: 'h' }))),
    expect: refused('Rate limit exceeded'),
  },
  {
    name: 'subscribe flood: a new room each',
    attack: send(...Array.from({ length: FLOOD }, (_, i) => ({ type: 'subscribe', room: `sub-flood-${i}` }))),
    expect: refused('Rate limit exceeded'),
  },
  { name: 'unsubscribe flood', attack: send(...Array.from({ length: FLOOD }, () => ({ type: 'unsubscribe', room: 'lobby' }))), expect: refused('Rate limit exceeded') },
  { name: '@me spelled @ME', attack: send({ type: 'subscribe', room: '@ME' }), expect: refused('Invalid field: room') },
  { name: "another user's channel by its server name", attack: send({ type: 'subscribe', room: '@u:alice' }), expect: refused('Invalid field: room') },
  { name: 'a room as a list', attack: send({ type: 'unsubscribe', room: ['lobby'] }), expect: refused('Invalid field: room') },
  { name: 'say into a room as an object', attack: send({ type: 'say', text: 'x', room: { $ne: '' } }), expect: refused('Invalid field: room') },
  {
    name: 'subscribe past MAX_ROOMS_PER_CONNECTION: too_many_rooms, the socket stays open',
    attack: async (s) => {
      const c = await attacker(s);
      await c.nextOf('welcome');
      for (let i = 1; i < s.config.maxRoomsPerConnection; i++) c.send({ type: 'subscribe', room: `cap-${i}` });
      c.send({ type: 'subscribe', room: 'cap-over' });
      assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'too_many_rooms', room: 'cap-over' });
      c.ws.close(1000);
      return { close: await c.closed };
    },
    expect: { close: { code: 1000 }, log: { msg: 'request refused', reason: 'too_many_rooms', room: 'cap-over' }, metric: { name: 'ws_messages_out_total', labels: { type: 'error' }, by: 1 } },
  },
  {
    name: 'ping control-frame flood',
    attack: flood(() => frame(OP.ping, 'x')),
    expect: { close: { code: 1008, reason: 'Rate limit exceeded' }, log: { msg: 'protocol violation', reason: 'Rate limit exceeded', control: true }, metric: { name: 'ws_closes_total', labels: { code: '1008', by: 'server' }, by: 1 } },
  },
  {
    name: 'unsolicited pong control-frame flood',
    attack: flood(() => frame(OP.pong, 'y')),
    expect: { close: { code: 1008, reason: 'Rate limit exceeded' }, log: { msg: 'protocol violation', reason: 'Rate limit exceeded', control: true }, metric: { name: 'ws_closes_total', labels: { code: '1008', by: 'server' }, by: 1 } },
  },
  {
    name: 'a future since: answered, not refused',
    attack: async (s) => {
      const c = await attacker(s);
      c.send({ type: 'join', room: 'lobby', name: 'time-traveller', since: '99999999' });
      const history = await c.nextOf('history');
      assert.deepEqual(history, { type: 'history', room: 'lobby', since: '99999999', truncated: true, count: Number(history.count) });
      c.ws.close(1000);
      return { close: await c.closed };
    },
    expect: { close: { code: 1000 }, log: { msg: 'socket closed', level: 'info', code: 1000 }, metric: { name: 'ws_messages_out_total', labels: { type: 'history' }, by: 1 } },
  },
];

test(`hostile payloads and floods: ${PAYLOAD_KINDS.length} kinds, each answered, logged and counted, the witness unharmed`, async (t) => {
  const s = await server();
  const witness = await Witness.start(s);
  for (const kind of PAYLOAD_KINDS) await t.test(kind.name, () => runKind(s, witness, kind));
  await witness.stop();
  // Hoarding left nothing behind: the rooms of refused joins never held anyone.
  const probe = await TestClient.connect(s.wsUrl);
  probe.send({ type: 'join', room: 'hoard-1', name: 'p' });
  assert.deepEqual(await probe.nextOf('presence', 3000, (m) => m.room === 'hoard-1'), { type: 'presence', room: 'hoard-1', members: 1 });
  probe.close();
});
