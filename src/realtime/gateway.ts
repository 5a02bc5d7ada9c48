// Who may open a socket: the checks run on the raw HTTP upgrade request, before `ws`
// spends anything on the connection.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { OriginPolicy } from '../config/config.ts';
import { pathOf, WS_PATH } from '../protocol/path.ts';
import type { RejectReason } from '../protocol/refusals.ts';

export interface UpgradePolicy {
  allowedOrigins: OriginPolicy;
  trustProxy: boolean;
  maxConnections: number;
}

export type Verdict = { ok: true } | { ok: false; status: number; reason: RejectReason; message: string };

const ACCEPT: Verdict = { ok: true };

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

/**
 * Same origin compares hosts only: behind a TLS-terminating proxy the browser's
 * https://host is the app's http://host, and what Cross-Site WebSocket Hijacking
 * needs stopped is another site, not another scheme.
 */
export function originAllowed(origin: string | undefined, req: IncomingMessage, policy: UpgradePolicy): boolean {
  if (origin === undefined) return true; // not a browser: Origin is a browser's promise, nothing to check
  switch (policy.allowedOrigins.kind) {
    case 'any':
      return true;
    case 'list':
      return policy.allowedOrigins.origins.has(origin);
    case 'same-origin': {
      const host = (policy.trustProxy ? first(req.headers['x-forwarded-host']) : undefined) ?? req.headers.host;
      if (!host) return false;
      try {
        return new URL(origin).host === new URL(`http://${host}`).host;
      } catch {
        return false;
      }
    }
  }
}

export function judgeUpgrade(req: IncomingMessage, policy: UpgradePolicy, open: number, draining: boolean): Verdict {
  if (pathOf(req.url) !== WS_PATH) return { ok: false, status: 404, reason: 'not_found', message: 'Not Found' };
  if (!originAllowed(req.headers.origin, req, policy)) return { ok: false, status: 403, reason: 'origin', message: 'Origin not allowed' };
  if (draining) return { ok: false, status: 503, reason: 'shutting_down', message: 'Server shutting down' };
  if (open >= policy.maxConnections) return { ok: false, status: 503, reason: 'capacity', message: 'Too many connections' };
  return ACCEPT;
}

/** The client's address: the proxy's view of it (right-most X-Forwarded-For) only when the proxy is trusted. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for'];
    const list = Array.isArray(header) ? header.join(',') : header;
    // The right-most entry is the one our proxy appended; entries left of it are the client's own claims.
    const last = list?.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** Answers a refused upgrade on the raw socket, since no HTTP response object exists for it. */
export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (socket.writable) {
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(message)}\r\n${extra}\r\n${message}`,
    );
  } else {
    socket.destroy();
  }
}
