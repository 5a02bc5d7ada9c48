import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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
  assert.equal(c.jwksMaxStaleMs, 3_600_000);
  assert.equal(parseConfig({ JWKS_MAX_STALE_MS: '0' }).jwksMaxStaleMs, 0);
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
  ['JWKS_MAX_STALE_MS', '1h'],
  ['JWKS_MAX_STALE_MS', '-1'],
  ['JWKS_MAX_STALE_MS', '604800001'],
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

test('a Node older than engines.node stops npm start with one line naming the version needed', async () => {
  const { nodeVersionProblem } = await import('../../scripts/check-node.js');
  assert.equal(nodeVersionProblem('v20.20.2', '>=24'), 'Socketship needs Node.js 24 or newer (26 LTS recommended, see .node-version); this is Node.js v20.20.2.');
  assert.equal(nodeVersionProblem('v24.0.0', '>=24'), undefined);
  assert.equal(nodeVersionProblem('v26.1.0', '>=24'), undefined);
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> };
  assert.equal(pkg.scripts.prestart, 'node scripts/check-node.js');
  assert.equal(nodeVersionProblem('v20.20.2', pkg.engines.node)?.includes('24'), true);
  assert.match(await readFile(new URL('../../.npmrc', import.meta.url), 'utf8'), /^engine-strict=true$/m);
});

test('identity settings: secrets too short or unresolved Key Vault references stop start-up naming the variable, never showing the secret', async () => {
  const { parseIdentityConfig } = await import('../../src/config/identity.ts');
  const refused = (env: Record<string, string>, variable: string): void => {
    assert.throws(() => parseConfig(env), (err: unknown) => err instanceof ConfigError && err.variable === variable, JSON.stringify(env));
  };
  refused({ AUTH_JWT_SECRET: 'short-secret' }, 'AUTH_JWT_SECRET');
  assert.throws(() => parseConfig({ AUTH_JWT_SECRET: 'short-secret' }), (err: unknown) => err instanceof Error && !err.message.includes('short-secret') && err.message.includes('12 bytes'));
  refused({ AUTH_JWT_SECRET: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/jwt/)' }, 'AUTH_JWT_SECRET');
  refused({ API_KEY: '@Microsoft.KeyVault(VaultName=kv;SecretName=api-key)' }, 'API_KEY');
  // Key-mode Redis on Azure: refused as an unresolved reference, not by the generic URL check.
  const reference = '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/redis-url/)';
  assert.throws(() => parseConfig({ REDIS_URL: reference }), (err: unknown) => err instanceof ConfigError && err.variable === 'REDIS_URL' && err.message.includes('could not resolve this Key Vault reference'));
  refused({ API_KEY: 'too-short' }, 'API_KEY');
  refused({ AUTH_JWKS_URL: 'https://idp.example/keys' }, 'AUTH_ISSUER');
  refused({ AUTH_JWKS_URL: 'https://idp.example/keys', AUTH_ISSUER: 'https://idp.example/' }, 'AUTH_AUDIENCE');
  refused({ AUTH_JWKS_URL: 'http://idp.example/keys', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' }, 'AUTH_JWKS_URL');
  refused({ AUTH_ISSUER: 'https://idp.example/' }, 'AUTH_ISSUER');
  refused({ API_RATE_LIMIT_PER_SEC: '0' }, 'API_RATE_LIMIT_PER_SEC');
  assert.equal(parseIdentityConfig({}).auth, undefined, 'anonymous by default');
  const both = parseIdentityConfig({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', API_KEY: 'k'.repeat(32) });
  assert.equal(both.auth?.secret?.length, 32);
  assert.equal(both.auth?.jwksUrl?.href, 'http://127.0.0.1:1/jwks');
  assert.equal(both.apiKey, 'k'.repeat(32));
});
