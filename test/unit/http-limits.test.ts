// MAX_HTTP_CONNECTIONS, HTTP_HEADERS_TIMEOUT_MS and HTTP_BODY_TIMEOUT_MS (src/config/http.ts), read
// through the app's own parser: documented defaults, and a bad value stops the start with its name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULTS, parseConfig } from '../../src/config/config.ts';

test('defaults: 1024 plain HTTP connections, 10 s for headers, 10 s for a body; part of DEFAULTS', () => {
  const c = parseConfig({});
  assert.equal(c.maxHttpConnections, 1024);
  assert.equal(c.httpHeadersTimeoutMs, 10_000);
  assert.equal(c.httpBodyTimeoutMs, 10_000);
  assert.equal(DEFAULTS.MAX_HTTP_CONNECTIONS, '1024');
  assert.equal(parseConfig({ MAX_HTTP_CONNECTIONS: ' ' }).maxHttpConnections, 1024, 'empty means the default');
});

test('values are read', () => {
  const c = parseConfig({ MAX_HTTP_CONNECTIONS: '20', HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_BODY_TIMEOUT_MS: '1000' });
  assert.deepEqual([c.maxHttpConnections, c.httpHeadersTimeoutMs, c.httpBodyTimeoutMs], [20, 500, 1000]);
});

const bad: [string, string][] = [
  ['MAX_HTTP_CONNECTIONS', '0'],
  ['MAX_HTTP_CONNECTIONS', 'many'],
  ['MAX_HTTP_CONNECTIONS', '1000001'],
  // 0 would be Node's "no limit": a connection that sends nothing held forever.
  ['HTTP_HEADERS_TIMEOUT_MS', '0'],
  ['HTTP_HEADERS_TIMEOUT_MS', '10s'],
  ['HTTP_BODY_TIMEOUT_MS', '0'],
  ['HTTP_BODY_TIMEOUT_MS', '600001'],
  ['HTTP_BODY_TIMEOUT_MS', '-5'],
];
for (const [name, value] of bad) {
  test(`${name}=${value} is refused with the variable's name and value`, () => {
    assert.throws(
      () => parseConfig({ [name]: value }),
      (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.includes(value) && err.message.includes('expected'),
    );
  });
}
