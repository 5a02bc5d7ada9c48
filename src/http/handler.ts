// Plain HTTP: the browser client's files, probes and metrics. The WebSocket upgrade
// never reaches this handler (it arrives on the server's 'upgrade' event).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import sirv from 'sirv';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import { pathOf, redactQuery, WS_PATH } from '../protocol/path.ts';
import { hostAllowed, hostRepeated, requestHost } from '../request/hosts.ts';
import { CLIENT_PREFIX, loadClientFiles, type StaticFile } from './client-files.ts';
import { CLIENT_PROTOCOL_PATH, clientProtocolModule } from './client-protocol.ts';
import type { HttpRefusals } from './refusals.ts';
import { json, send } from './respond.ts';
import type { ApiHandler } from './api/api.ts';

export interface Readiness {
  /** Why the service should get no new traffic, or undefined when it is ready. */
  notReadyReason(): string | undefined;
  openConnections(): number;
}

export interface HttpHandlerOptions {
  publicDir: string;
  /** The client library's folder, served under /client/. */
  clientDir: string;
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
  refusals: HttpRefusals;
  /** ALLOWED_HOSTS (empty: any). */
  allowedHosts: ReadonlySet<string>;
  trustProxy: boolean;
  /** The server API under /api/; absent (no API_KEY), /api/ answers 404. */
  api?: ApiHandler;
  /** Identity mode: the page asks for a token (told through /protocol.js). */
  authRequired?: boolean;
}

// Only the page's own scripts, styles and socket; nothing inline, nothing framed.
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}


const OPERATOR_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export function createHttpHandler(options: HttpHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { readiness, registry, logger, refusals } = options;
  const protocolModule = clientProtocolModule({ authRequired: options.authRequired ?? false });
  const protocolEtag = `"${createHash('sha1').update(protocolModule).digest('base64url')}"`;
  const clientFiles = loadClientFiles(options.clientDir);

  /** A generated or preloaded script, revalidated by its ETag. */
  function script(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, { ETag: file.etag, 'Cache-Control': 'no-cache' });
      return void res.end();
    }
    send(res, 200, file.body, 'text/javascript; charset=utf-8', { ETag: file.etag, 'Cache-Control': 'no-cache' });
  }
  // Production mode indexes public/ once at start: only files that exist there can ever be
  // served, so no request path (`..`, encoded or absolute) can reach outside it.
  const files = sirv(options.publicDir, {
    dev: false,
    etag: true,
    dotfiles: false,
    extensions: ['html'],
    // Unhashed file names: let browsers keep a copy but revalidate it (ETag / Last-Modified -> 304).
    setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
  });
  const notFound = (_req: IncomingMessage, res: ServerResponse): void => send(res, 404, 'Not Found');

  async function metrics(res: ServerResponse): Promise<void> {
    try {
      send(res, 200, await registry.metrics(), registry.contentType);
    } catch (err) {
      logger.error({ err }, 'metrics collection failed');
      send(res, 500, 'Internal Server Error');
    }
  }

  return function handle(req, res) {
    setSecurityHeaders(res);
    const path = pathOf(req.url);
    // Probes and metrics answer whatever the Host: health checkers (Docker's, App Service's) and
    // Prometheus address the instance by IP. They carry nothing a rebinding page could abuse.
    if (hostRepeated(req)) {
      refusals.record(req, 400, 'bad_request');
      return send(res, 400, 'Bad Request: more than one Host header', undefined, { Connection: 'close' });
    }
    if (!OPERATOR_PATHS.has(path) && !hostAllowed(requestHost(req, options.trustProxy), options.allowedHosts)) {
      refusals.record(req, 421, 'host');
      return send(res, 421, 'Misdirected Request: unknown host', undefined, { Connection: 'close' });
    }
    if (path.startsWith('/api/')) return options.api ? options.api(req, res, path) : send(res, 404, 'Not Found');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refusals.record(req, 405, 'method');
      return send(res, 405, 'Method Not Allowed', undefined, { Allow: 'GET, HEAD', Connection: 'close' });
    }
    logger.debug({ method: req.method, url: redactQuery(req.url) }, 'http request');
    switch (path) {
      case '/healthz':
        return json(res, 200, { status: 'ok' });
      case '/readyz': {
        const reason = readiness.notReadyReason();
        if (reason) return json(res, 503, { status: 'not ready', reason });
        return json(res, 200, { status: 'ready', connections: readiness.openConnections() });
      }
      case '/metrics':
        return void metrics(res);
      case CLIENT_PROTOCOL_PATH:
        return script(req, res, { body: protocolModule, etag: protocolEtag });
      case WS_PATH:
        return send(res, 426, 'Upgrade Required: this endpoint speaks WebSocket', undefined, { Upgrade: 'websocket', Connection: 'Upgrade' });
      default: {
        const client = path.startsWith(CLIENT_PREFIX) ? clientFiles.get(path) : undefined;
        if (client) return script(req, res, client);
        return files(req, res, () => notFound(req, res));
      }
    }
  };
}
