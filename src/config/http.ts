// Plain HTTP's bounds (issue 22): how many connections may wait on the server at once, and how long
// a request's headers and body may take to arrive. Parsed and checked at start like every setting;
// their defaults are part of DEFAULTS (config.ts), so README and .env.example are checked against them.
import { ConfigError, type Env } from './error.ts';

export interface HttpLimits {
  /**
   * Plain HTTP connections open at once: requests, probes, static files, keep-alive sockets between
   * requests and upgrades not yet completed. A socket leaves this count once it is a WebSocket
   * (MAX_CONNECTIONS counts those). Past it, a new connection gets 503 and is closed.
   */
  maxHttpConnections: number;
  /** A request whose headers take longer than this gets 408 (Node's `headersTimeout`). */
  httpHeadersTimeoutMs: number;
  /** A request body still arriving this long after its headers gets 408 and its socket closed. */
  httpBodyTimeoutMs: number;
}

/**
 * 1024: the WebSocket cap's default (MAX_CONNECTIONS, 10000) plus these, plus as many refused
 * sockets lingering for their 503, stays near 12000 descriptors, well inside the 20000 open-files
 * limit the service is measured with (docs/performance.md). Legitimate plain HTTP is probes, page
 * loads and the backend's API calls; the count that can spike is upgrades in flight during a
 * reconnect storm (each a plain HTTP connection until its token is checked): the cap sheds them
 * with 503 and Retry-After, which the client's backoff retries.
 * 10 s for headers and for a body: the API takes at most 16 kB, which even a slow mobile link
 * sends in a few seconds.
 */
export const HTTP_DEFAULTS = {
  MAX_HTTP_CONNECTIONS: '1024',
  HTTP_HEADERS_TIMEOUT_MS: '10000',
  HTTP_BODY_TIMEOUT_MS: '10000',
} as const;

type Name = keyof typeof HTTP_DEFAULTS;

function integer(env: Env, name: Name, min: number, max: number): number {
  const given = env[name]?.trim();
  // An empty variable means "use the default", as for every other setting.
  const value = given === undefined || given === '' ? HTTP_DEFAULTS[name] : given;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, value, `an integer from ${min} to ${max}`);
  return n;
}

export function parseHttpLimits(env: Env): HttpLimits {
  return {
    maxHttpConnections: integer(env, 'MAX_HTTP_CONNECTIONS', 1, 1_000_000),
    // Never 0 (Node's "no limit"): a connection that sends nothing would be held forever.
    httpHeadersTimeoutMs: integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 100, 600_000),
    httpBodyTimeoutMs: integer(env, 'HTTP_BODY_TIMEOUT_MS', 100, 600_000),
  };
}
