// The publish hook (PUBLISH_HOOK_URL, docs/events.md): before a `say` is stored, one signed
// POST asks the application's backend to accept it, reject it or replace its text. What it holds
// is bounded: at most PUBLISH_HOOK_CONCURRENCY calls in flight over one keep-alive pool, and
// PUBLISH_HOOK_CONCURRENCY + PUBLISH_HOOK_QUEUE says admitted in all; past that a say is answered
// `busy` at once, so a slow backend costs a bounded amount of memory, never a pile. Every say has
// its verdict within PUBLISH_HOOK_TIMEOUT_MS of its admission, waiting included: past it, or on
// any answer but a good one, PUBLISH_HOOK_ON_ERROR decides.
import type { IncomingMessage } from 'node:http';
import type { PublishHookOnError } from '../config/publish-hook.ts';
import type { Logger } from '../log/logger.ts';
import type { EventMetrics, PublishHookOutcome } from '../metrics/events.ts';
import { isRecord } from '../protocol/guards.ts';
import type { ErrorReason } from '../protocol/messages.ts';
import { textField } from '../protocol/parse.ts';
import { createSignedChannel } from './webhook/signed-channel.ts';

/** What the backend is asked about: one say that passed the server's own checks. The POST's body, as JSON. */
export interface HookSay {
  /** The server-side room. */
  room: string;
  /** The token's subject; absent in anonymous mode. */
  sub?: string;
  connId: string;
  /** The sender's display name. */
  from: string;
  text: string;
  /** The say's idempotency key, if it had one. */
  key?: string;
}

/** Why the hook kept a say out: the backend said no, could not say (ON_ERROR=reject), or too many says wait already. */
export type HookRefusal = Extract<ErrorReason, 'rejected' | 'hook_unavailable' | 'busy'>;

/** What becomes of a say: stored with `text` (its own, or the backend's replacement), or refused, with the backend's reason as `detail`. */
export type HookVerdict = { publish: true; text: string } | { publish: false; reason: HookRefusal; detail?: string };

/** What the chat feature uses. */
export interface PublishHookCheck {
  /**
   * The verdict on `say`; never rejects. Admitted (or answered `busy`) now; with `after` (the same
   * socket's previous say) its call starts only once that settles, so a socket has one call in
   * flight and the backend sees its says in order.
   */
  check(say: HookSay, after?: Promise<unknown>): Promise<HookVerdict>;
}

export interface PublishHook extends PublishHookCheck {
  /** Says admitted and not yet decided (in flight, waiting for a call or for `after`): never above concurrency + queue. */
  pending(): number;
  /** Closes the pool; says still waiting end as errors (ON_ERROR) at once. */
  close(): void;
}

export interface PublishHookOptions {
  /** PUBLISH_HOOK_URL: absolute http: or https:. Its userinfo, if any, is sent as Basic auth and never shown. */
  url: string;
  /** WEBHOOK_SECRET: signs every body, as webhooks are signed (webhook/signature.ts). */
  secret: string;
  /** PUBLISH_HOOK_TIMEOUT_MS, counted from admission. */
  timeoutMs: number;
  /** PUBLISH_HOOK_ON_ERROR. */
  onError: PublishHookOnError;
  /** PUBLISH_HOOK_CONCURRENCY: calls in flight, and the pool's sockets. */
  concurrency: number;
  /** PUBLISH_HOOK_QUEUE: says admitted beyond those in flight. */
  queue: number;
  metrics: Pick<EventMetrics, 'publishHook'>;
  /** One warning when failures start and one when they stop, at most a pair a second; never a text or the secret. */
  logger: Logger;
  /** The clock the signature's time is read from, in ms; Date.now by default. */
  now?: () => number;
}

/** The longest `detail` a sender is shown of the backend's reason, in code points. */
export const DETAIL_MAX = 100;

/** An answer is a small JSON object (a replacement text is 2000 characters at most): past this much, the backend is not speaking the protocol. */
const MAX_ANSWER_BYTES = 16_384;

/** What a sender must not be shown: control characters, line breaks, bidi overrides and isolates (as in chat text, protocol/text.ts). */
const UNSHOWABLE = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu;

type Decision =
  | { outcome: 'accepted' }
  | { outcome: 'replaced'; text: string }
  | { outcome: 'rejected'; detail: string | undefined }
  | { outcome: 'error' | 'timeout'; cause: string };

const failed = (outcome: 'error' | 'timeout', cause: string): Decision => ({ outcome, cause });

const BUSY: HookVerdict = { publish: false, reason: 'busy' };
const UNAVAILABLE: HookVerdict = { publish: false, reason: 'hook_unavailable' };

/** The backend's reason as a sender may see it: one line of at most DETAIL_MAX code points; none when nothing is left. */
export function detailOf(reason: unknown): string | undefined {
  if (typeof reason !== 'string') return undefined;
  const clean = [...reason.toWellFormed().replace(UNSHOWABLE, '')].slice(0, DETAIL_MAX).join('').trim();
  return clean === '' ? undefined : clean;
}

/**
 * A 200 with `{"action":"accept"}`, `{"action":"reject","reason":…}` or `{"action":"replace","text":…}`;
 * anything else is an error. A reject without a usable reason is still a reject: the backend's
 * intent is plain, and failing open on it would store what it refused.
 */
export function readAnswer(status: number, body: string): Decision {
  if (status !== 200) return failed('error', `status ${status}`);
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return failed('error', 'answer is not JSON');
  }
  if (!isRecord(answer)) return failed('error', 'answer is not a JSON object');
  if (answer.action === 'accept') return { outcome: 'accepted' };
  if (answer.action === 'reject') return { outcome: 'rejected', detail: detailOf(answer.reason) };
  if (answer.action !== 'replace') return failed('error', 'unknown action');
  // The replacement passes the checks a client's text does: the backend cannot store what a user could not.
  const text = textField(answer.text);
  return text.ok ? { outcome: 'replaced', text: text.message } : failed('error', 'replacement text invalid');
}

export function createPublishHook(options: PublishHookOptions): PublishHook {
  const { secret, timeoutMs, onError, concurrency, queue, metrics } = options;
  const now = options.now ?? Date.now;
  const channel = createSignedChannel({ url: options.url, secret, maxSockets: concurrency, userAgent: 'socketship-publish-hook', now });
  // What a log line names of the backend: never the userinfo, the path or the query (either may carry a credential).
  const hook = channel.origin;
  let admitted = 0;
  let inFlight = 0;
  // Says admitted and waiting for a call, first come first served: each entry starts one.
  const waiting: (() => void)[] = [];
  // The current run of failures, and whether (and when) the log was told of one.
  let failures = 0;
  let told = false;
  let toldAt = Number.NEGATIVE_INFINITY;
  let closed = false;
  options.logger.info({ hook, timeoutMs, onError, concurrency, queue }, 'publish hook on: every say waits for the backend\'s verdict');

  /** Resolves true with a call slot taken, or false when `deadline` (performance.now) passes first. */
  function slot(deadline: number): Promise<boolean> {
    if (inFlight < concurrency) {
      inFlight++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const start = (): void => {
        clearTimeout(timer);
        inFlight++;
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = waiting.indexOf(start);
        if (at !== -1) waiting.splice(at, 1);
        resolve(false);
      }, Math.max(1, deadline - performance.now()));
      timer.unref();
      waiting.push(start);
    });
  }

  function freeSlot(): void {
    inFlight--;
    waiting.shift()?.();
  }

  /** One signed POST; resolves with what it decided by `deadline` (performance.now), never rejects. */
  function call(body: string, deadline: number): Promise<Decision> {
    if (closed) return Promise.resolve(failed('error', 'hook closed'));
    return new Promise((resolve) => {
      let settled = false;
      const finish = (decision: Decision): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(decision);
      };
      const req = channel.post(body);
      const timer = setTimeout(() => {
        finish(failed('timeout', `no answer within ${timeoutMs} ms`));
        req.destroy();
      }, Math.max(1, deadline - performance.now()));
      timer.unref();
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
          finish(failed('error', 'answer too large'));
          res.destroy();
        });
        res.on('end', () => finish(readAnswer(status, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', () => finish(failed('error', 'answer cut off')));
        res.on('close', () => finish(failed('error', 'answer cut off')));
      });
      // Only the error's code leaves: its message may name the host, never the userinfo or secret.
      req.on('error', (err: NodeJS.ErrnoException) => finish(failed('error', err.code ?? 'network')));
    });
  }

  async function decide(say: HookSay, deadline: number): Promise<Decision> {
    if (performance.now() >= deadline || !(await slot(deadline))) return failed('timeout', `no free call within ${timeoutMs} ms`);
    try {
      // A slot freed just at the deadline: no call is started only to be cut off.
      if (performance.now() >= deadline) return failed('timeout', `no free call within ${timeoutMs} ms`);
      // The body's fields in a fixed order, absent ones left out (JSON drops undefined).
      return await call(JSON.stringify({ room: say.room, sub: say.sub, connId: say.connId, from: say.from, text: say.text, key: say.key }), deadline);
    } finally {
      freeSlot();
    }
  }

  /**
   * The histogram, and the log: one line when a run of failures starts, one when the backend
   * answers again. A backend that flaps starts a run at most once a second: a run that starts
   * sooner is told at its first failure past that second, or not at all if it ends first.
   */
  function record(outcome: PublishHookOutcome, seconds: number, cause: string): void {
    metrics.publishHook(outcome, seconds);
    if (outcome === 'accepted' || outcome === 'rejected' || outcome === 'replaced') {
      if (told) options.logger.warn({ hook, failures }, 'publish hook answering again');
      failures = 0;
      told = false;
      return;
    }
    failures++;
    const t = performance.now();
    if (told || t - toldAt < 1000) return;
    told = true;
    toldAt = t;
    // `busy` says are refused whatever ON_ERROR says: past the bound, nothing is waited for.
    options.logger.warn({ hook, outcome, cause, onError, failures }, 'publish hook failing');
  }

  function verdictOf(decision: Decision, text: string): HookVerdict {
    switch (decision.outcome) {
      case 'accepted':
        return { publish: true, text };
      case 'replaced':
        return { publish: true, text: decision.text };
      case 'rejected':
        return decision.detail === undefined ? { publish: false, reason: 'rejected' } : { publish: false, reason: 'rejected', detail: decision.detail };
      default:
        return onError === 'accept' ? { publish: true, text } : UNAVAILABLE;
    }
  }

  function check(say: HookSay, after?: Promise<unknown>): Promise<HookVerdict> {
    if (admitted >= concurrency + queue) {
      record('busy', 0, `${concurrency + queue} says admitted already (PUBLISH_HOOK_CONCURRENCY + PUBLISH_HOOK_QUEUE)`);
      return Promise.resolve(BUSY);
    }
    admitted++;
    const started = performance.now();
    const deadline = started + timeoutMs;
    const go = (): Promise<Decision> => decide(say, deadline).catch(() => failed('error', 'internal'));
    return (after ? after.then(go, go) : go()).then((decision) => {
      admitted--;
      record(decision.outcome, (performance.now() - started) / 1000, 'cause' in decision ? decision.cause : '');
      return verdictOf(decision, say.text);
    });
  }

  return {
    check,
    pending: () => admitted,
    close() {
      closed = true;
      channel.close();
      // Each takes a slot, finds the hook closed and gives it to the next.
      for (const start of waiting.splice(0)) start();
    },
  };
}
