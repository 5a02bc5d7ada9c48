// Unit rules of the hardening: text and names, hosts and client addresses, the history budget,
// the rate-limited warning, and the configuration that sets them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createMemoryBroker, messageCost } from '../../src/broker/memory.ts';
import { ConfigError, parseConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { rateLimitedWarn } from '../../src/log/rate-limited.ts';
import { isValidName, isValidText, normaliseText } from '../../src/protocol/text.ts';
import { clientAddress, hostAllowed, withoutPort } from '../../src/request/hosts.ts';

test('names need a visible character; no lone surrogates, bidi controls or invisible-only tricks', () => {
  for (const ok of ['Zoë', '🚀', '李雷', 'a b', 'ㅤx', 'e\u0301']) assert.ok(isValidName(ok, 32), JSON.stringify(ok));
  for (const bad of ['', ' ', '\u3164', '\u115f\u1160', '\uffa0', '\u2800', '\u200b', '\u0301', '\ufe0f', 'a\u202eb', 'a\u2066b', 'x\ud800', '\udc00y', 'a\nb', 'tab\there']) {
    assert.equal(isValidName(bad, 32), false, JSON.stringify(bad));
  }
});

test('chat text: line breaks normalised to LF and kept; controls, bidi overrides and lone surrogates refused', () => {
  assert.equal(normaliseText('a\r\nb\rc\nd'), 'a\nb\nc\nd');
  for (const ok of ['one\ntwo', 'tab\there', '👩‍💻 ZWJ', '❤️']) assert.ok(isValidText(ok, 2000), JSON.stringify(ok));
  for (const bad of ['', 'a\rb', 'nul\u0000', 'esc\u001b[2J', 'rlo\u202e', 'iso\u2067', 'ls\u2028', 'lone\ud83d']) assert.equal(isValidText(bad, 2000), false, JSON.stringify(bad));
});

test('ALLOWED_HOSTS: empty allows any; names match with any port, name:port only that port, *.domain its subdomains', () => {
  const allowed = parseConfig({ ALLOWED_HOSTS: 'Chat.Example.com, localhost:8080, *.apps.example' }).allowedHosts;
  assert.ok(hostAllowed('anything', new Set()));
  assert.ok(hostAllowed('chat.example.com', allowed));
  assert.ok(hostAllowed('CHAT.example.com:443', allowed));
  assert.ok(hostAllowed('localhost:8080', allowed));
  assert.ok(hostAllowed('a.apps.example', allowed));
  for (const bad of [undefined, 'localhost', 'localhost:9090', 'evil.example', 'chat.example.com.evil', 'apps.example', '127.0.0.1']) {
    assert.equal(hostAllowed(bad, allowed), false, String(bad));
  }
  assert.ok(hostAllowed('[::1]:8080', new Set(['[::1]'])));
  assert.throws(() => parseConfig({ ALLOWED_HOSTS: 'http://x.example' }), (e: unknown) => e instanceof ConfigError && e.variable === 'ALLOWED_HOSTS');
});

test('client addresses lose their port in every form a proxy writes them', () => {
  assert.equal(withoutPort('203.0.113.7:51234'), '203.0.113.7');
  assert.equal(withoutPort('[2001:db8::1]:443'), '2001:db8::1');
  assert.equal(withoutPort('2001:db8::1'), '2001:db8::1');
  assert.equal(withoutPort(' 10.0.0.1 '), '10.0.0.1');
  const req = (xff: string | undefined) => ({ headers: xff === undefined ? {} : { 'x-forwarded-for': xff }, socket: { remoteAddress: '127.0.0.1' } }) as unknown as IncomingMessage;
  assert.equal(clientAddress(req('1.1.1.1, 203.0.113.7:5000'), true), '203.0.113.7');
  assert.equal(clientAddress(req('203.0.113.7:5000'), false), '127.0.0.1', 'no proxy trusted: the socket address');
  assert.equal(clientAddress(req(undefined), true), '127.0.0.1');
});

test('history budget: room hoarding with long messages stays within HISTORY_MAX_BYTES; least recently active rooms go first', async () => {
  const maxBytes = 1024 * 1024;
  const broker = createMemoryBroker({ historySize: 100, maxBytes });
  const text = 'x'.repeat(2000);
  const firstIds: string[] = [];
  for (let room = 0; room < 300; room++) {
    for (let i = 0; i < 20; i++) {
      const { message: m } = await broker.publish({ room: `hoard-${room}`, from: 'h', text, ts: 0 });
      if (i === 0) firstIds.push(m.id);
    }
  }
  assert.ok(broker.keptBytes() <= maxBytes, `${broker.keptBytes()} bytes kept`);
  assert.ok(broker.keptBytes() > maxBytes / 2, 'the budget is used, not emptied');
  const recent = await broker.history('hoard-299', firstIds[299] ?? '');
  assert.deepEqual([recent.truncated, recent.messages.length], [false, 19], 'the most recent room is kept whole');
  const evicted = await broker.history('hoard-0', '5');
  assert.deepEqual([evicted.messages, evicted.truncated], [[], true], 'a forgotten room says truncated');
  // The forgotten room comes back counting above every id given before, so an old since still says truncated.
  const { message: back } = await broker.publish({ room: 'hoard-0', from: 'h', text: 'back', ts: 0 });
  assert.ok(Number(back.id) > 20, `id ${back.id}`);
  const replay = await broker.history('hoard-0', '5');
  assert.equal(replay.truncated, true);
  assert.deepEqual(replay.messages.map((m) => m.text), ['back']);
  await broker.close();
});

test('history budget: one room alone never holds more than the budget', async () => {
  const broker = createMemoryBroker({ historySize: 100_000, maxBytes: 65_536 });
  for (let i = 0; i < 200; i++) await broker.publish({ room: 'big', from: 'h', text: 'y'.repeat(1000), ts: 0 });
  assert.ok(broker.keptBytes() <= 65_536);
  const h = await broker.history('big', '1');
  assert.equal(h.truncated, true);
  assert.equal(h.messages.at(-1)?.text.length, 1000);
  await broker.close();
});

test('history TTL: a room idle for HISTORY_TTL_MS is forgotten, and its memory with it', async () => {
  let now = 0;
  const broker = createMemoryBroker({ ttlMs: 1000, now: () => now });
  await broker.publish({ room: 'idle', from: 'a', text: 'old', ts: 0 });
  now = 500;
  await broker.publish({ room: 'busy', from: 'a', text: 'fresh', ts: 0 });
  now = 1200;
  const idle = await broker.history('idle', '1');
  assert.deepEqual([idle.messages, idle.truncated], [[], false], 'nothing after since 1 was lost');
  assert.equal(broker.keptRooms(), 1);
  assert.deepEqual((await broker.history('idle', '0')).truncated, false);
  now = 1600;
  assert.equal((await broker.history('busy', '0')).messages.length, 0);
  assert.equal(broker.keptRooms(), 0);
  assert.equal(broker.keptBytes(), 0);
  assert.equal(messageCost({ id: '1', room: 'r', from: 'a', text: 'hi', ts: 0 }), 2 * 5 + 160);
  await broker.close();
});

test('rate-limited warnings: at most N a second, the next line says how many were left out', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  let now = 0;
  const warn = rateLimitedWarn(logger, 2, () => now);
  for (let i = 0; i < 10; i++) warn({ i }, 'refused');
  assert.deepEqual(lines.map((l) => l.i), [0, 1]);
  now = 1000;
  warn({ i: 10 }, 'refused');
  assert.equal(lines.at(-1)?.suppressed, 8);
  const silent = rateLimitedWarn(logger, 0, () => now);
  silent({}, 'never');
  assert.equal(lines.length, 3);
});

test('hardening variables: defaults keep history under 64 MB; bad values stop start-up by name', () => {
  const d = parseConfig({});
  assert.equal(d.allowedHosts.size, 0);
  assert.equal(d.historyMaxBytes, 16 * 1024 * 1024);
  assert.equal(d.historyTtlMs, 86_400_000);
  assert.equal(d.refusalLogPerSec, 10);
  for (const [name, value] of [['HISTORY_MAX_BYTES', '1000'], ['HISTORY_TTL_MS', 'soon'], ['REFUSAL_LOG_PER_SEC', '-1']] as const) {
    assert.throws(() => parseConfig({ [name]: value }), (e: unknown) => e instanceof ConfigError && e.variable === name, name);
  }
});
