// The webhook's pure parts: the signature (src/events/webhook/signature.ts) against a fixed test
// vector that docs/events.md repeats, the retry backoff's bounds (backoff.ts), and the
// WEBHOOK_* settings (src/config/webhook.ts), whose errors name the variable and never show the secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { sign, verify, SIGNATURE_TOLERANCE_SECONDS } from '../../src/events/webhook/signature.ts';
import { createSleeper, retryDelayMs } from '../../src/events/webhook/backoff.ts';
import { ConfigError } from '../../src/config/error.ts';
import { parseWebhookConfig, WEBHOOK_DEFAULTS } from '../../src/config/webhook.ts';
import { groupBacklog, readEntries } from '../../src/events/webhook/stream-replies.ts';
import { within } from '../helpers/bounded.ts';

const SECRET = 'whsec_test_secret_that_is_32_bytes!!';
const BODY = '{"events":[]}';
const T = 1700000000;
/** Computed once with node (createHmac('sha256', SECRET).update(`${T}.${BODY}`)) and kept: a change to the scheme fails here. */
const VECTOR = 't=1700000000,v1=a762dedd714ae76481739543c96b8e2d399c2b3c915701994fa061dd6e734df4';

test('the fixed test vector: sign gives exactly the documented header, and verify accepts it', () => {
  assert.equal(sign(SECRET, BODY, T), VECTOR);
  assert.equal(sign(SECRET, BODY, T + 0.9), VECTOR, 'the time is whole seconds');
  assert.equal(`t=${T},v1=${createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex')}`, VECTOR, "the docs' ten-line receiver computes the same");
  assert.equal(verify(SECRET, BODY, VECTOR, T), true);
  assert.equal(verify(SECRET, BODY, VECTOR, T + SIGNATURE_TOLERANCE_SECONDS), true, 'within the tolerance');
  assert.equal(verify(SECRET, BODY, ' t=1700000000 , v1=a762dedd714ae76481739543c96b8e2d399c2b3c915701994fa061dd6e734df4 ', T), true, 'spaces around parts');
});

test('verify refuses a changed body, a wrong secret, a stale or future time, and garbage headers', () => {
  assert.equal(verify(SECRET, '{"events":[{}]}', VECTOR, T), false, 'changed body');
  assert.equal(verify(SECRET, `${BODY} `, VECTOR, T), false, 'one byte more');
  assert.equal(verify(`${SECRET}x`, BODY, VECTOR, T), false, 'wrong secret');
  assert.equal(verify(SECRET, BODY, VECTOR, T + SIGNATURE_TOLERANCE_SECONDS + 1), false, 'stale');
  assert.equal(verify(SECRET, BODY, VECTOR, T - SIGNATURE_TOLERANCE_SECONDS - 1), false, 'from the future');
  assert.equal(verify(SECRET, BODY, VECTOR, T + 60, 30), false, 'a tighter tolerance');
  const mac = VECTOR.slice(VECTOR.indexOf('v1=') + 3);
  const garbage = [undefined, '', 'garbage', 't=,v1=', `v1=${mac}`, `t=${T}`, `t=${T},v1=${mac.slice(1)}`, `t=${T},v1=${mac.toUpperCase()}`, `t=${T},v1=${mac}00`, `t=${T}.5,v1=${mac}`, `t=abc,v1=${mac}`, `t=${T + 1},v1=${mac}`, `t=${T},v0=${mac}`];
  for (const header of garbage) assert.equal(verify(SECRET, BODY, header, T), false, `header ${JSON.stringify(header)}`);
});

test('backoff: full jitter below base doubling per attempt, capped, never negative', () => {
  assert.equal(retryDelayMs(1, 500, 30_000, () => 0), 0);
  assert.equal(retryDelayMs(1, 500, 30_000, () => 0.999999), 499, 'attempt 1: up to base');
  assert.equal(retryDelayMs(2, 500, 30_000, () => 0.999999), 999);
  assert.equal(retryDelayMs(4, 500, 30_000, () => 0.5), 2000);
  assert.equal(retryDelayMs(7, 500, 30_000, () => 0.999999), 29_999, 'capped (500 * 64 = 32000)');
  assert.equal(retryDelayMs(5000, 500, 30_000, () => 0.999999), 29_999, 'no overflow however many attempts');
  assert.equal(retryDelayMs(0, 500, 30_000, () => 0.999999), 499, 'attempt 0 counts as the first');
  assert.equal(retryDelayMs(3, 500, 30_000, () => 1), 1999, 'a random() of 1 still stays below the ceiling');
  for (let attempt = 1; attempt <= 12; attempt++) {
    const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
    for (let i = 0; i < 200; i++) {
      const d = retryDelayMs(attempt, 500, 30_000);
      assert.ok(Number.isInteger(d) && d >= 0 && d < ceiling, `attempt ${attempt}: ${d} in [0, ${ceiling})`);
    }
  }
});

test('a sleeper wakes at once when woken, and later sleeps do not wait', async () => {
  const sleeper = createSleeper();
  const long = sleeper.sleep(60_000);
  sleeper.wake();
  await within(long, 1000, 'the woken sleep');
  await within(sleeper.sleep(60_000), 1000, 'a sleep after wake');
});

test('WEBHOOK_* defaults: no webhooks, 15 attempts, 5 s, 250 a batch, 10000 queued or dead-lettered, 0.5 s to 60 s', () => {
  assert.deepEqual(parseWebhookConfig({}), {
    webhookUrl: undefined,
    webhookSecret: undefined,
    webhookMaxAttempts: 15,
    webhookTimeoutMs: 5000,
    webhookBatchSize: 250,
    webhookQueueMax: 10_000,
    webhookDeadLetterMaxLen: 10_000,
    webhookRetryBaseMs: 500,
    webhookRetryMaxMs: 60_000,
  });
  assert.equal(WEBHOOK_DEFAULTS.WEBHOOK_MAX_ATTEMPTS, '15');
  const empty = Object.fromEntries(Object.keys(WEBHOOK_DEFAULTS).map((k) => [k, ' ']));
  assert.deepEqual(parseWebhookConfig(empty), parseWebhookConfig({}), 'an empty variable means the default');
  const set = parseWebhookConfig({ WEBHOOK_URL: 'https://u:p@backend.example.com/hooks?x=1', WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_BATCH_SIZE: '7' });
  assert.equal(set.webhookUrl, 'https://u:p@backend.example.com/hooks?x=1');
  assert.equal(set.webhookSecret, SECRET);
  assert.deepEqual([set.webhookMaxAttempts, set.webhookBatchSize], [3, 7]);
  assert.equal(parseWebhookConfig({ WEBHOOK_SECRET: SECRET }).webhookSecret, SECRET, 'a secret alone is allowed (the publish hook may sign with it)');
});

test('stream replies read alike over RESP2 and RESP3; backlog is lag plus pending, or pending where lag is null or absent', () => {
  const resp2 = ['name', 'other', 'pending', 9, 'lag', 9, 'name', 'webhooks', 'consumers', 2, 'pending', 4, 'last-delivered-id', '1-0', 'entries-read', 7, 'lag', 3];
  assert.equal(groupBacklog([resp2.slice(0, 6), resp2.slice(6)], 'webhooks'), 7);
  assert.equal(groupBacklog([{ name: 'webhooks', pending: 4, lag: 3 }], 'webhooks'), 7, 'RESP3 maps');
  assert.equal(groupBacklog([new Map<string, unknown>([['name', 'webhooks'], ['pending', 4], ['lag', 3]])], 'webhooks'), 7, 'maps as Map');
  assert.equal(groupBacklog([{ name: 'webhooks', pending: 4, lag: null }], 'webhooks'), 4, 'lag null: pending alone');
  assert.equal(groupBacklog([['name', 'webhooks', 'consumers', 1, 'pending', 4, 'last-delivered-id', '1-0']], 'webhooks'), 4, 'Redis 6.2: no lag field');
  assert.equal(groupBacklog([], 'webhooks'), undefined, 'no such group');
  const entries = [['1-0', ['type', 'room.occupied', 'data', '{"type":"room.occupied","room":"r","id":"forged"}']], ['2-0', null], ['3-0', ['type', 'x', 'data', 'not json']]];
  for (const reply of [[['events', entries]], { events: entries }]) {
    const gone: string[] = [];
    const read = readEntries(reply, gone);
    assert.deepEqual(gone, ['2-0'], 'an entry trimmed away comes back without fields');
    assert.deepEqual(read.map((e) => [e.id, e.type, e.json === undefined ? undefined : JSON.parse(e.json)]), [
      ['1-0', 'room.occupied', { id: '1-0', type: 'room.occupied', room: 'r' }],
      ['3-0', 'x', undefined],
    ], 'the id is always the entry id, and first; bad data makes no event');
    assert.deepEqual(Object.keys(JSON.parse(read[0]!.json!) as object)[0], 'id');
    assert.equal(readEntries([['events', [['4-0', ['type', 't', 'data', '{"type":"t","seq":3}']]]]], [])[0]?.json, '{"id":"4-0","type":"t","seq":3}', 'spliced, not rewritten');
  }
  assert.deepEqual(readEntries(null, []), [], 'BLOCK ran out');
});

function refused(env: Record<string, string>, variable: string, check: (message: string) => boolean = () => true): void {
  assert.throws(
    () => parseWebhookConfig(env),
    (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.includes('expected') && check(err.message),
    `${JSON.stringify(env)} is refused naming ${variable}`,
  );
}

test('WEBHOOK_URL must be an absolute http: or https: URL, and its userinfo is never shown', () => {
  for (const url of ['backend.example.com/hooks', '/hooks', 'ftp://backend.example.com/', 'ws://backend.example.com/', 'file:///etc/passwd', 'https://', 'not a url']) {
    refused({ WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET }, 'WEBHOOK_URL');
  }
  refused({ WEBHOOK_URL: 'ftp://user:hunter2hunter2@backend.example.com/', WEBHOOK_SECRET: SECRET }, 'WEBHOOK_URL', (m) => !m.includes('hunter2') && !m.includes('user:'));
  refused({ WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/hook/)', WEBHOOK_SECRET: SECRET }, 'WEBHOOK_URL', (m) => m.includes('Key Vault'));
});

test('WEBHOOK_SECRET: required with WEBHOOK_URL, at least 32 bytes, and only its length is shown', () => {
  refused({ WEBHOOK_URL: 'https://backend.example.com/hooks' }, 'WEBHOOK_SECRET', (m) => m.includes('WEBHOOK_URL'));
  refused({ WEBHOOK_URL: 'https://backend.example.com/hooks', WEBHOOK_SECRET: '   ' }, 'WEBHOOK_SECRET');
  const short = 'short-secret-but-a-secret-all-3';
  refused({ WEBHOOK_URL: 'https://backend.example.com/hooks', WEBHOOK_SECRET: short }, 'WEBHOOK_SECRET', (m) => !m.includes(short) && m.includes('31 bytes'));
  refused({ WEBHOOK_SECRET: short }, 'WEBHOOK_SECRET', (m) => !m.includes(short));
  // Bytes, not characters: 11 three-byte characters are 33 bytes.
  assert.equal(parseWebhookConfig({ WEBHOOK_SECRET: '€'.repeat(11) }).webhookSecret, '€'.repeat(11));
  refused({ WEBHOOK_URL: 'http://127.0.0.1:9/', WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/hook/)' }, 'WEBHOOK_SECRET', (m) => m.includes('Key Vault'));
});

const badIntegers: [string, string][] = [
  ['WEBHOOK_MAX_ATTEMPTS', '0'],
  ['WEBHOOK_MAX_ATTEMPTS', 'ten'],
  ['WEBHOOK_MAX_ATTEMPTS', '1001'],
  ['WEBHOOK_TIMEOUT_MS', '0'],
  ['WEBHOOK_TIMEOUT_MS', '5s'],
  ['WEBHOOK_TIMEOUT_MS', '120001'],
  ['WEBHOOK_BATCH_SIZE', '0'],
  ['WEBHOOK_BATCH_SIZE', '-1'],
  ['WEBHOOK_QUEUE_MAX', '0'],
  ['WEBHOOK_QUEUE_MAX', '50'],
  ['WEBHOOK_DEAD_LETTER_MAXLEN', '0'],
  ['WEBHOOK_DEAD_LETTER_MAXLEN', '1e4'],
  ['WEBHOOK_RETRY_BASE_MS', '0'],
  ['WEBHOOK_RETRY_BASE_MS', '1.5'],
  ['WEBHOOK_RETRY_MAX_MS', '100'],
  ['WEBHOOK_RETRY_MAX_MS', '3600001'],
];
for (const [name, value] of badIntegers) {
  test(`${name}=${value} is refused with the variable's name and value`, () => {
    refused({ [name]: value }, name, (m) => m.includes(value));
  });
}
