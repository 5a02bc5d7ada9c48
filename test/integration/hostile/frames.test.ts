// Hostile-input catalogue, part 1: malformed frames, fragmentation abuse, invalid UTF-8 in its
// forms, oversize. Each kind is written raw under a real `ws` client; each must get the close code
// on the wire that `ws` or the server chose, a warning naming it, the close counted under that
// same code, and the witness pair in the same room must hear every message during and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { closePayload, frame, OP, rawFrames, runKind, Witness, type Kind } from '../../helpers/hostile.ts';
import { serverPool } from '../../helpers/server.ts';

const server = serverPool({ pingIntervalMs: 200, pongTimeoutMs: 2000, rateLimitPerSec: 50, maxMessageBytes: 4096, refusalLogPerSec: 1000 });

const MAX = 4096;
const violation = (code: number, wsError?: string): Kind['expect'] => ({
  close: { code },
  log: { msg: 'protocol violation', code, ...(wsError ? { wsError } : {}) },
  metric: { name: 'ws_closes_total', labels: { code: String(code), by: 'server' }, by: 1 },
});
const raw = (bytes: Buffer | Buffer[]) => (s: Parameters<Kind['attack']>[0]) => rawFrames(s, bytes);

const start = (text = 'ab') => frame(OP.text, text, { fin: false });

const FRAME_KINDS: Kind[] = [
  { name: 'reserved data opcode 0x3', attack: raw(frame(0x3, 'x')), expect: violation(1002, 'WS_ERR_INVALID_OPCODE') },
  { name: 'reserved control opcode 0xB', attack: raw(frame(0xb, 'x')), expect: violation(1002, 'WS_ERR_INVALID_OPCODE') },
  { name: 'RSV1 without a negotiated extension', attack: raw(frame(OP.text, 'pong', { rsv: 0x40 })), expect: violation(1002, 'WS_ERR_UNEXPECTED_RSV_1') },
  { name: 'RSV2 and RSV3 set', attack: raw(frame(OP.text, 'pong', { rsv: 0x30 })), expect: violation(1002, 'WS_ERR_UNEXPECTED_RSV_2_3') },
  { name: 'unmasked client frame', attack: raw(frame(OP.text, 'pong', { mask: false })), expect: violation(1002, 'WS_ERR_EXPECTED_MASK') },
  { name: 'fragmented ping (control frame without FIN)', attack: raw(frame(OP.ping, 'x', { fin: false })), expect: violation(1002, 'WS_ERR_EXPECTED_FIN') },
  { name: 'control frame over 125 bytes', attack: raw(frame(OP.ping, Buffer.alloc(126))), expect: violation(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH') },
  { name: 'continuation with no message started', attack: raw(frame(OP.continuation, 'pong')), expect: violation(1002, 'WS_ERR_INVALID_OPCODE') },
  { name: 'new text frame inside a fragmented message', attack: raw([start(), frame(OP.text, 'pong')]), expect: violation(1002, 'WS_ERR_INVALID_OPCODE') },
  { name: 'absurd 64-bit length (top bit set)', attack: raw(frame(OP.text, '', { length: 1n << 63n })), expect: violation(1009, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') },
  { name: 'one frame over MAX_MESSAGE_BYTES', attack: raw(frame(OP.text, Buffer.alloc(MAX + 1, 0x61))), expect: violation(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') },
  {
    name: 'fragments adding up past MAX_MESSAGE_BYTES',
    attack: raw([frame(OP.text, Buffer.alloc(MAX / 2, 0x61), { fin: false }), frame(OP.continuation, Buffer.alloc(MAX / 2, 0x61), { fin: false }), frame(OP.continuation, 'aa')]),
    expect: violation(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'),
  },
  {
    name: 'fragment flood (empty continuations past MAX_FRAGMENTS)',
    attack: raw([start(''), ...Array.from({ length: 1100 }, () => frame(OP.continuation, '', { fin: false }))]),
    expect: violation(1008, 'WS_ERR_TOO_MANY_BUFFERED_PARTS'),
  },
  { name: 'invalid UTF-8 byte 0xFF', attack: raw(frame(OP.text, Buffer.from([0x70, 0xff]))), expect: violation(1007, 'WS_ERR_INVALID_UTF8') },
  { name: 'overlong UTF-8 (0xC0 0xAF for /)', attack: raw(frame(OP.text, Buffer.from([0xc0, 0xaf]))), expect: violation(1007, 'WS_ERR_INVALID_UTF8') },
  { name: 'UTF-8-encoded surrogate (0xED 0xA0 0x80)', attack: raw(frame(OP.text, Buffer.from([0xed, 0xa0, 0x80]))), expect: violation(1007, 'WS_ERR_INVALID_UTF8') },
  { name: 'code point above U+10FFFF (0xF4 0x90 0x80 0x80)', attack: raw(frame(OP.text, Buffer.from([0xf4, 0x90, 0x80, 0x80]))), expect: violation(1007, 'WS_ERR_INVALID_UTF8') },
  { name: 'UTF-8 sequence cut at the end of the message', attack: raw(frame(OP.text, Buffer.from([0x7b, 0xe2, 0x82]))), expect: violation(1007, 'WS_ERR_INVALID_UTF8') },
  {
    name: 'invalid UTF-8 across fragments',
    attack: raw([frame(OP.text, Buffer.from([0x7b, 0xe2]), { fin: false }), frame(OP.continuation, Buffer.from([0x28, 0xa1]))]),
    expect: violation(1007, 'WS_ERR_INVALID_UTF8'),
  },
  { name: 'invalid UTF-8 in a close reason', attack: raw(frame(OP.close, closePayload(1000, Buffer.from([0xff, 0xfe])))), expect: violation(1007, 'WS_ERR_INVALID_UTF8') },
  { name: 'close code 1005 (never on the wire)', attack: raw(frame(OP.close, closePayload(1005))), expect: violation(1002, 'WS_ERR_INVALID_CLOSE_CODE') },
  { name: 'close code 999 (out of range)', attack: raw(frame(OP.close, closePayload(999))), expect: violation(1002, 'WS_ERR_INVALID_CLOSE_CODE') },
  { name: 'close frame with a 1-byte payload', attack: raw(frame(OP.close, Buffer.from([0x03]))), expect: violation(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH') },
  {
    name: 'binary frame',
    attack: raw(frame(OP.binary, 'pong')),
    expect: { close: { code: 1003, reason: 'Unexpected message' }, log: { msg: 'protocol violation', code: 1003, binary: true }, metric: { name: 'ws_closes_total', labels: { code: '1003', by: 'server' }, by: 1 } },
  },
  {
    name: 'binary message in fragments',
    attack: raw([frame(OP.binary, 'po', { fin: false }), frame(OP.continuation, 'ng')]),
    expect: { close: { code: 1003, reason: 'Unexpected message' }, log: { msg: 'protocol violation', code: 1003 }, metric: { name: 'ws_closes_total', labels: { code: '1003', by: 'server' }, by: 1 } },
  },
];

test(`hostile frames: ${FRAME_KINDS.length} kinds, each answered with its close code, logged and counted, the witness unharmed`, async (t) => {
  const s = await server();
  const witness = await Witness.start(s);
  for (const kind of FRAME_KINDS) await t.test(kind.name, () => runKind(s, witness, kind));
  await witness.stop();
});

test('the catalogue covers every protocol error `ws` can raise on a server socket', () => {
  const wsMain = createRequire(import.meta.url).resolve('ws'); // .../node_modules/ws/index.js
  const receiver = readFileSync(join(dirname(wsMain), 'lib', 'receiver.js'), 'utf8');
  const raised = new Set(receiver.match(/WS_ERR_[A-Z0-9_]+/g));
  raised.delete('WS_ERR_UNEXPECTED_MASK'); // a masked frame from the server: only a client raises it
  assert.ok(raised.size >= 10, `found only ${raised.size} ws error codes: has receiver.js moved?`);
  const covered = new Set(FRAME_KINDS.map((k) => k.expect.log.wsError));
  assert.deepEqual([...raised].filter((code) => !covered.has(code)), [], 'ws error codes without a kind in the catalogue');
});
