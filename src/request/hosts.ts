// Which host a request was sent to, whether the service answers to it, and who sent it. Applied to
// every HTTP request and every upgrade: a DNS-rebinding page reaches the server under a host name
// of its own, which ALLOWED_HOSTS does not list, so it gets nothing.
import type { IncomingMessage } from 'node:http';

/** The first value of a header that may come as a list or repeated (the left-most of `a, b`). */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

/** The host the client asked for: X-Forwarded-Host only behind a trusted proxy, else Host. */
export function requestHost(req: IncomingMessage, trustProxy: boolean): string | undefined {
  return (trustProxy ? firstHeader(req.headers['x-forwarded-host']) : undefined) ?? req.headers.host;
}

/** `host` (name[:port]) against ALLOWED_HOSTS: empty allows any; `*.example.com` allows its subdomains. */
export function hostAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return true;
  if (host === undefined) return false;
  const full = host.trim().toLowerCase();
  const name = full.startsWith('[') ? full.slice(0, full.indexOf(']') + 1) : full.replace(/:\d*$/, '');
  if (allowed.has(full) || allowed.has(name)) return true;
  const dot = name.indexOf('.');
  return dot > 0 && allowed.has(`*${name.slice(dot)}`);
}

/** An address as proxies write it (`1.2.3.4:5678`, `[::1]:443`, `::1`), without its port. */
export function withoutPort(address: string): string {
  const a = address.trim().slice(0, 100);
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return end > 0 ? a.slice(1, end) : a;
  }
  // One colon: IPv4 (or a name) with a port. More: a bare IPv6 address, which has no port here.
  const colon = a.indexOf(':');
  return colon !== -1 && colon === a.lastIndexOf(':') ? a.slice(0, colon) : a;
}

/**
 * The client's address without a port: the proxy's view of it (right-most X-Forwarded-For, which
 * the proxy appended; entries left of it are the client's own claims) only when the proxy is trusted.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for'];
    const list = Array.isArray(header) ? header.join(',') : header;
    const last = list?.split(',').at(-1)?.trim();
    if (last) return withoutPort(last);
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * More than one Host header: RFC 9112 (3.2) says to answer 400. Node keeps the first, which a
 * proxy that reads the last would not have checked: the request means two things.
 */
export function hostRepeated(req: IncomingMessage): boolean {
  let seen = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === 'host' && ++seen > 1) return true;
  return false;
}
