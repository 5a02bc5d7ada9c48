// Who may open a socket: the checks run on the raw HTTP upgrade request, before `ws`
// spends anything on the connection.
import type { IncomingMessage } from 'node:http';
import type { OriginPolicy } from '../config/config.ts';
import { pathOf, WS_PATH } from '../protocol/path.ts';
import type { RejectReason } from '../protocol/refusals.ts';
import { firstHeader, hostAllowed, hostRepeated, requestHost } from '../request/hosts.ts';

export interface UpgradePolicy {
  allowedOrigins: OriginPolicy;
  allowedHosts: ReadonlySet<string>;
  trustProxy: boolean;
  maxConnections: number;
}

export type Verdict =
  | { ok: true }
  | { ok: false; status: number; reason: RejectReason; message: string; headers?: Record<string, string> };

const ACCEPT: Verdict = { ok: true };

/**
 * The browser's origin, whichever handshake carries it: `Origin` (version 13) or
 * `Sec-WebSocket-Origin` (version 8, which `ws` also accepts; refused below, but checked alike).
 */
export function originOf(req: IncomingMessage): string | undefined {
  return req.headers.origin ?? firstHeader(req.headers['sec-websocket-origin']);
}

/**
 * Same origin compares hosts only: behind a TLS-terminating proxy the browser's
 * https://host is the app's http://host, and what Cross-Site WebSocket Hijacking
 * needs stopped is another site, not another scheme. A DNS-rebinding page is same-origin
 * with a Host of its own choosing: ALLOWED_HOSTS is what stops it.
 */
export function originAllowed(origin: string | undefined, req: IncomingMessage, policy: UpgradePolicy): boolean {
  if (origin === undefined) return true; // not a browser: Origin is a browser's promise, nothing to check
  switch (policy.allowedOrigins.kind) {
    case 'any':
      return true;
    case 'list':
      return policy.allowedOrigins.origins.has(origin);
    case 'same-origin': {
      const host = requestHost(req, policy.trustProxy);
      if (!host) return false;
      try {
        return new URL(origin).host === new URL(`http://${host}`).host;
      } catch {
        return false;
      }
    }
  }
}

function refusal(status: number, reason: RejectReason, message: string, headers?: Record<string, string>): Verdict {
  return { ok: false, status, reason, message, ...(headers ? { headers } : {}) };
}

/** The memory budget's 503 (memory-budget.ts): its sweep runs every second and sheds load in one, so clients may retry soon. */
export const MEMORY_REFUSAL: Verdict & { ok: false } = { ok: false, status: 503, reason: 'memory', message: 'Server memory budget exceeded, try again', headers: { 'Retry-After': '5' } };

/** `memoryPressure`: the memory budget is exceeded (memory-budget.ts); a new socket would only add to it. */
export function judgeUpgrade(req: IncomingMessage, policy: UpgradePolicy, open: number, draining: boolean, memoryPressure = false): Verdict {
  if (hostRepeated(req)) return refusal(400, 'host', 'Bad Request: more than one Host header');
  if (!hostAllowed(requestHost(req, policy.trustProxy), policy.allowedHosts)) return refusal(421, 'host', 'Misdirected Request: unknown host');
  if (pathOf(req.url) !== WS_PATH) return refusal(404, 'not_found', 'Not Found');
  if (req.method !== 'GET') return refusal(405, 'method', 'Method Not Allowed', { Allow: 'GET' });
  // Only RFC 6455: older drafts carry the origin elsewhere and nothing here needs them.
  if (req.headers['sec-websocket-version'] !== '13') return refusal(400, 'version', 'Unsupported WebSocket version', { 'Sec-WebSocket-Version': '13' });
  if (!originAllowed(originOf(req), req, policy)) return refusal(403, 'origin', 'Origin not allowed');
  if (draining) return refusal(503, 'shutting_down', 'Server shutting down');
  if (open >= policy.maxConnections) return refusal(503, 'capacity', 'Too many connections');
  if (memoryPressure) return MEMORY_REFUSAL;
  return ACCEPT;
}
