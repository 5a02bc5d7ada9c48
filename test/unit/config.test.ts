import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/config.ts';

test('defaults match the documented values', () => {
  const c = parseConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.pingIntervalMs, 1000);
  assert.equal(c.pongTimeoutMs, 10000);
  assert.equal(c.pingCount, 0);
  assert.equal(c.maxMessageBytes, 65536);
  assert.equal(c.maxConnections, 10000);
  assert.equal(c.rateLimitPerSec, 20);
  assert.equal(c.maxBufferedBytes, 1048576);
  assert.deepEqual(c.allowedOrigins, { kind: 'same-origin' });
  assert.equal(c.trustProxy, false);
  assert.equal(c.shutdownTimeoutMs, 10000);
});

test('an empty variable means the default', () => {
  assert.equal(parseConfig({ PORT: '', LOG_LEVEL: ' ' }).port, 8080);
});

test('values are read and typed', () => {
  const c = parseConfig({ PORT: '9000', PING_COUNT: '10', TRUST_PROXY: 'true', LOG_LEVEL: 'DEBUG', ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080' });
  assert.equal(c.port, 9000);
  assert.equal(c.pingCount, 10);
  assert.equal(c.trustProxy, true);
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.allowedOrigins.kind, 'list');
  assert.ok(c.allowedOrigins.kind === 'list' && c.allowedOrigins.origins.has('http://b.example:8080'));
  assert.deepEqual(parseConfig({ ALLOWED_ORIGINS: '*' }).allowedOrigins, { kind: 'any' });
});

const bad: [string, string][] = [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['PORT', '-1'],
  ['HOST', 'bad host'],
  ['LOG_LEVEL', 'loud'],
  ['PING_INTERVAL_MS', '1.5'],
  ['PING_INTERVAL_MS', '0'],
  ['PONG_TIMEOUT_MS', 'soon'],
  ['PING_COUNT', '-3'],
  ['MAX_MESSAGE_BYTES', '10'],
  ['MAX_CONNECTIONS', '0'],
  ['RATE_LIMIT_PER_SEC', 'fast'],
  ['MAX_BUFFERED_BYTES', '1e6'],
  ['ALLOWED_ORIGINS', 'example.com'],
  ['ALLOWED_ORIGINS', 'https://example.com/path'],
  ['TRUST_PROXY', 'maybe'],
  ['SHUTDOWN_TIMEOUT_MS', 'never'],
];
for (const [name, value] of bad) {
  test(`${name}=${value} is refused with the variable's name and value`, () => {
    assert.throws(
      () => parseConfig({ [name]: value }),
      (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.includes(name) && err.message.includes(value) && err.message.includes('expected'),
    );
  });
}

test('PONG_TIMEOUT_MS below PING_INTERVAL_MS is refused', () => {
  assert.throws(() => parseConfig({ PING_INTERVAL_MS: '5000', PONG_TIMEOUT_MS: '1000' }), /PONG_TIMEOUT_MS/);
});
