// Webhook signatures, the way Stripe signs its webhooks: the header carries the time of signing
// and an HMAC-SHA256 over `<time>.<body>` with the shared secret (WEBHOOK_SECRET). The receiver
// recomputes it over the raw body, compares in constant time, and refuses a time too far from its
// own clock, so a captured request cannot be replayed later. docs/events.md has a test vector.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every webhook POST (and publish hook call) carries. */
export const SIGNATURE_HEADER = 'socketship-signature';

/** How far a signature's time may be from the receiver's clock, by default: 5 minutes, as Stripe's libraries. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header's value for `body` signed at `timestampSeconds` (Unix time): `t=<time>,v1=<hex>`. */
export function sign(secret: string, body: string, timestampSeconds: number): string {
  const t = Math.floor(timestampSeconds);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

/** True when `header` is a signature of `body` with `secret`, made within `toleranceSeconds` of `nowSeconds`. */
export function verify(secret: string, body: string, header: string | undefined, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): boolean {
  if (!header) return false;
  const parts = new Map(header.split(',').map((part) => {
    const eq = part.indexOf('=');
    return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] as const;
  }));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(mac(secret, t, body), 'hex'), Buffer.from(given, 'hex'));
}
