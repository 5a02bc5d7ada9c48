// Where and how backend events are delivered as signed webhooks (issue 20): the receiver's URL,
// the shared secret, and the bounds of delivery (tries, timeout, batch, queue, dead letters).
// Parsed and checked at start like every setting; the secret never appears in an error, only its
// length, and a URL's userinfo never either.
import { ConfigError, type Env } from './error.ts';
import { refuseUnresolvedKeyVaultReference } from './key-vault.ts';

export interface WebhookConfig {
  /** The receiver (WEBHOOK_URL); undefined: no webhooks. */
  webhookUrl: string | undefined;
  /** Signs every POST (WEBHOOK_SECRET); set whenever webhookUrl is. */
  webhookSecret: string | undefined;
  /** POSTs of one batch in all before it is given up (dead-lettered). */
  webhookMaxAttempts: number;
  /** A POST not answered in this long counts as failed (`timeout`) and is retried. */
  webhookTimeoutMs: number;
  /** Events per POST at most. */
  webhookBatchSize: number;
  /** Without Redis: events held in memory at most; past it the oldest are dropped. */
  webhookQueueMax: number;
  /** With Redis: the dead-letter stream keeps about this many entries (MAXLEN ~). */
  webhookDeadLetterMaxLen: number;
  /** The first retry waits up to this long; each next one up to twice as long... */
  webhookRetryBaseMs: number;
  /** ...but never more than this. */
  webhookRetryMaxMs: number;
}

/** As AUTH_JWT_SECRET: an HMAC key shorter than its hash's 32 bytes is weaker than the hash. */
export const WEBHOOK_SECRET_MIN_BYTES = 32;

/**
 * 15 attempts, retries from 0.5 s doubling to a 60 s cap: the waits' ceilings add up to
 * 0.5+1+2+4+8+16+32 + 7x60 = 483.5 s (full jitter waits half that on average), plus each attempt's
 * own time, up to the 5 s timeout. A batch is given up only after about four minutes of failure
 * without a break, so a receiver restarting or being redeployed loses nothing; one down longer
 * needs more attempts (each past the 8th adds up to WEBHOOK_RETRY_MAX_MS).
 * 5 s for an answer: a receiver should store the batch and answer at once, not process it first.
 * 250 events a POST is a body of about 62 kB (90 kB with 80-character message texts), under the
 * 100 kB a common framework's JSON parser takes by default (Express), and few enough round trips
 * that one batch in flight keeps up with tens of thousands of events a second; 10000 queued in
 * memory is a few MB.
 */
export const WEBHOOK_DEFAULTS = {
  WEBHOOK_URL: '',
  WEBHOOK_SECRET: '',
  WEBHOOK_MAX_ATTEMPTS: '15',
  WEBHOOK_TIMEOUT_MS: '5000',
  WEBHOOK_BATCH_SIZE: '250',
  WEBHOOK_QUEUE_MAX: '10000',
  WEBHOOK_DEAD_LETTER_MAXLEN: '10000',
  WEBHOOK_RETRY_BASE_MS: '500',
  WEBHOOK_RETRY_MAX_MS: '60000',
} as const;

type Name = keyof typeof WEBHOOK_DEFAULTS;

function raw(env: Env, name: Name): string {
  const given = env[name]?.trim();
  // An empty variable means "use the default", as for every other setting.
  return given === undefined || given === '' ? WEBHOOK_DEFAULTS[name] : given;
}

function integer(env: Env, name: Name, min: number, max: number): number {
  const value = raw(env, name);
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, value, `an integer from ${min} to ${max}`);
  return n;
}

/** The URL as it may be shown: without its userinfo, which can hold a password. */
function shown(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1***@');
}

function webhookUrl(env: Env): string | undefined {
  const value = raw(env, 'WEBHOOK_URL');
  if (value === '') return undefined;
  refuseUnresolvedKeyVaultReference('WEBHOOK_URL', value);
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
    throw new ConfigError('WEBHOOK_URL', shown(value), 'empty (no webhooks) or an absolute http:// or https:// URL, like https://backend.example.com/socketship/events');
  }
  return value;
}

function webhookSecret(env: Env, url: string | undefined): string | undefined {
  const value = raw(env, 'WEBHOOK_SECRET');
  refuseUnresolvedKeyVaultReference('WEBHOOK_SECRET', value);
  if (value === '') {
    if (url !== undefined) throw new ConfigError('WEBHOOK_SECRET', '', `a secret of at least ${WEBHOOK_SECRET_MIN_BYTES} bytes whenever WEBHOOK_URL is set (e.g. openssl rand -base64 48)`);
    return undefined;
  }
  if (Buffer.byteLength(value) < WEBHOOK_SECRET_MIN_BYTES) {
    throw new ConfigError('WEBHOOK_SECRET', `<${Buffer.byteLength(value)} bytes, hidden>`, `a secret of at least ${WEBHOOK_SECRET_MIN_BYTES} bytes (e.g. openssl rand -base64 48)`);
  }
  return value;
}

export function parseWebhookConfig(env: Env): WebhookConfig {
  const url = webhookUrl(env);
  const retryBase = integer(env, 'WEBHOOK_RETRY_BASE_MS', 10, 600_000);
  const retryMax = integer(env, 'WEBHOOK_RETRY_MAX_MS', 10, 3_600_000);
  if (retryMax < retryBase) throw new ConfigError('WEBHOOK_RETRY_MAX_MS', String(retryMax), `an integer from WEBHOOK_RETRY_BASE_MS (${retryBase}) to 3600000`);
  const batchSize = integer(env, 'WEBHOOK_BATCH_SIZE', 1, 10_000);
  const queueMax = integer(env, 'WEBHOOK_QUEUE_MAX', 1, 10_000_000);
  if (queueMax < batchSize) throw new ConfigError('WEBHOOK_QUEUE_MAX', String(queueMax), `an integer from WEBHOOK_BATCH_SIZE (${batchSize}) to 10000000`);
  return {
    webhookUrl: url,
    webhookSecret: webhookSecret(env, url),
    webhookMaxAttempts: integer(env, 'WEBHOOK_MAX_ATTEMPTS', 1, 1000),
    // At least 100 ms: less would fail a healthy receiver across a continent.
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 100, 120_000),
    webhookBatchSize: batchSize,
    webhookQueueMax: queueMax,
    webhookDeadLetterMaxLen: integer(env, 'WEBHOOK_DEAD_LETTER_MAXLEN', 1, 100_000_000),
    webhookRetryBaseMs: retryBase,
    webhookRetryMaxMs: retryMax,
  };
}
