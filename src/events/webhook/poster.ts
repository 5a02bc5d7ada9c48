// One signed POST to the webhook receiver (WEBHOOK_URL), over a keep-alive pool of its own: the
// outlets send batch after batch to the same host, and a TLS handshake per batch would cost more
// than the batch. Every POST has a deadline on the whole exchange, connecting to last byte, so a
// receiver that accepts and never answers holds a batch for WEBHOOK_TIMEOUT_MS, not forever.
import type { IncomingMessage } from 'node:http';
import type { WebhookOutcome } from '../../metrics/events.ts';
import { createSignedChannel } from './signed-channel.ts';

export interface WebhookPosterOptions {
  /** An absolute http: or https: URL. Its userinfo, if any, is sent as Basic auth and never shown. */
  url: string;
  /** WEBHOOK_SECRET: signs every body (signature.ts). */
  secret: string;
  /** The deadline on one POST, connecting included (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Sockets the pool may open to the receiver. The outlets keep one batch in flight, so 1 or 2 do. */
  maxSockets: number;
  /** The clock the signature's time is read from, in ms; Date.now by default. */
  now?: () => number;
}

/** How one POST ended: `ok` for a 2xx; `status` when the receiver answered; `seconds` from start to end. */
export interface PostResult {
  outcome: WebhookOutcome;
  status?: number;
  seconds: number;
}

export interface WebhookPoster {
  /** POSTs `body` (JSON) signed now. Never rejects: every failure is a PostResult. */
  post(body: string): Promise<PostResult>;
  /** Closes the pool's sockets; later posts end as `network` at once. */
  close(): void;
}

/**
 * A receiver's answer is read to its end, so its socket can carry the next batch, but nothing of it
 * is kept. Past this many bytes the socket is given up instead: a receiver streaming an endless
 * body must not hold the batch until the deadline.
 */
const MAX_RESPONSE_BYTES = 4096;

export function createWebhookPoster(options: WebhookPosterOptions): WebhookPoster {
  const { secret, timeoutMs } = options;
  const now = options.now ?? Date.now;
  const channel = createSignedChannel({ url: options.url, secret, maxSockets: options.maxSockets, userAgent: 'socketship-webhooks', now });
  let closed = false;

  function post(body: string): Promise<PostResult> {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    if (closed) return Promise.resolve({ outcome: 'network', seconds: 0 });
    return new Promise((resolve) => {
      let status: number | undefined;
      let settled = false;
      const finish = (outcome: WebhookOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(status === undefined ? { outcome, seconds: seconds() } : { outcome, status, seconds: seconds() });
      };
      const answered = (): WebhookOutcome => (status !== undefined && status >= 200 && status < 300 ? 'ok' : 'http_error');
      const req = channel.post(body);
      const timer = setTimeout(() => {
        // An answer whose status arrived but whose body is late still counts as that status: a
        // 2xx means the receiver has the batch, and retrying it would only make a duplicate.
        finish(status === undefined ? 'timeout' : answered());
        req.destroy();
      }, timeoutMs);
      timer.unref();
      req.on('response', (res: IncomingMessage) => {
        status = res.statusCode;
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes <= MAX_RESPONSE_BYTES) return;
          finish(answered());
          res.destroy();
        });
        res.on('end', () => finish(answered()));
        res.on('error', () => finish(answered()));
        res.on('close', () => finish(answered()));
      });
      // Only the outcome leaves this function: the error's text may name the host, never the userinfo or secret.
      req.on('error', () => finish(status === undefined ? 'network' : answered()));
    });
  }

  return {
    post,
    close() {
      closed = true;
      channel.close();
    },
  };
}
