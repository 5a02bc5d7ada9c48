// The publish hook (issue 20, docs/events.md, "The publish hook"): a URL of the application's backend that sees
// every `say` before it is stored and accepts, rejects or rewrites it. Parsed and checked at start
// like every setting; their defaults are part of DEFAULTS (config.ts), so README and .env.example
// are checked against them. WEBHOOK_SECRET itself is the webhooks' setting (webhook.ts): here it
// is only required, since every hook call is signed with it.
import { ConfigError, type Env } from './error.ts';
import { refuseUnresolvedKeyVaultReference } from './key-vault.ts';

/** What a say gets when the hook fails or does not answer in time: refused (`reject`), or stored unchanged (`accept`). */
export type PublishHookOnError = 'reject' | 'accept';

export interface PublishHookConfig {
  /** An absolute http: or https: URL; undefined: no hook, every say is stored as today. */
  publishHookUrl: string | undefined;
  /** A say's verdict is due this long after it arrived, waiting for a free call included. */
  publishHookTimeoutMs: number;
  /** Past the timeout, or on any answer but a good one. */
  publishHookOnError: PublishHookOnError;
  /** Calls in flight at once, and the pool's sockets to the backend. */
  publishHookConcurrency: number;
  /** Says waiting for a call, beyond those in flight; past both, a say is refused `busy` at once. */
  publishHookQueue: number;
}

/**
 * No hook by default: a say is stored as soon as the server's own checks pass.
 * 2 s: a moderation call is a lookup, tens of ms; a backend that takes seconds is failing, and a
 * user waits for the verdict before anyone sees the message.
 * Fail closed: a hook exists to keep some messages out; a backend that is down must not let them in.
 * 64 calls and 1024 waiting: at 2000 characters a say (its text and its JSON body), some 13 MB
 * held at most, and a 20 ms backend takes 3200 says a second per instance before any is `busy`.
 */
export const PUBLISH_HOOK_DEFAULTS = {
  PUBLISH_HOOK_URL: '',
  PUBLISH_HOOK_TIMEOUT_MS: '2000',
  PUBLISH_HOOK_ON_ERROR: 'reject',
  PUBLISH_HOOK_CONCURRENCY: '64',
  PUBLISH_HOOK_QUEUE: '1024',
} as const;

/** As AUTH_JWT_SECRET: an HMAC-SHA256 key shorter than its output is the weak link. */
export const HOOK_SECRET_MIN_BYTES = 32;

type Name = keyof typeof PUBLISH_HOOK_DEFAULTS;

function value(env: Env, name: Name): string {
  const given = env[name]?.trim();
  // An empty variable means "use the default", as for every other setting.
  return given === undefined || given === '' ? PUBLISH_HOOK_DEFAULTS[name] : given;
}

function integer(env: Env, name: Name, min: number, max: number): number {
  const text = value(env, name);
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, text, `an integer from ${min} to ${max}`);
  return n;
}

/** A URL as an error may show it: its userinfo (Basic auth for the backend) hidden. */
function shown(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function hookUrl(env: Env): string | undefined {
  const text = value(env, 'PUBLISH_HOOK_URL');
  if (text === '') return undefined;
  refuseUnresolvedKeyVaultReference('PUBLISH_HOOK_URL', text);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new ConfigError('PUBLISH_HOOK_URL', shown(text), 'empty (no hook) or an absolute http:// or https:// URL of your backend, like https://backend.example.com/socketship/publish');
  }
  return text;
}

/** WEBHOOK_SECRET (kept as `webhookSecret` by webhook.ts) signs every hook call: required here, whether or not WEBHOOK_URL is set. */
function requireSecret(env: Env): void {
  const secret = env.WEBHOOK_SECRET?.trim() ?? '';
  refuseUnresolvedKeyVaultReference('WEBHOOK_SECRET', secret);
  if (Buffer.byteLength(secret) < HOOK_SECRET_MIN_BYTES) {
    // Only the length of a secret is ever shown.
    throw new ConfigError('WEBHOOK_SECRET', `<${Buffer.byteLength(secret)} bytes, hidden>`, `a secret of at least ${HOOK_SECRET_MIN_BYTES} bytes (e.g. openssl rand -base64 48): PUBLISH_HOOK_URL is set, and every hook call is signed with it`);
  }
}

export function parsePublishHookConfig(env: Env): PublishHookConfig {
  const publishHookUrl = hookUrl(env);
  if (publishHookUrl !== undefined) requireSecret(env);
  const onError = value(env, 'PUBLISH_HOOK_ON_ERROR').toLowerCase();
  if (onError !== 'reject' && onError !== 'accept') {
    throw new ConfigError('PUBLISH_HOOK_ON_ERROR', value(env, 'PUBLISH_HOOK_ON_ERROR'), "'reject' (a say the hook could not judge is refused) or 'accept' (it is stored unchanged)");
  }
  return {
    publishHookUrl,
    publishHookTimeoutMs: integer(env, 'PUBLISH_HOOK_TIMEOUT_MS', 10, 60_000),
    publishHookOnError: onError,
    publishHookConcurrency: integer(env, 'PUBLISH_HOOK_CONCURRENCY', 1, 10_000),
    publishHookQueue: integer(env, 'PUBLISH_HOOK_QUEUE', 0, 1_000_000),
  };
}
