// Refused plain-HTTP requests: a wrong method or host, and what Node refuses before any handler
// runs (slow headers, oversized headers or URL, malformed requests). Each is answered, counted by
// reason in ws_http_refused_total and logged at warn, rate-limited so a flood cannot fill the disk.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { redactQuery } from '../protocol/path.ts';
import { rateLimitedWarn } from '../log/rate-limited.ts';
import type { HttpRefusal } from '../protocol/refusals.ts';
import { clientAddress } from '../request/hosts.ts';
import { answerRaw } from '../request/raw-response.ts';

export interface HttpRefusals {
  /** Counts and logs a refusal the handler answers itself. */
  record(req: IncomingMessage, status: number, reason: HttpRefusal): void;
  /** Counts and logs a refusal of a connection before any request was read from it (only its address is known). */
  recordSocket(socket: Duplex, status: number, reason: HttpRefusal, fields?: Record<string, unknown>): void;
  /** The HTTP server's 'clientError' listener. */
  clientError(err: Error & { code?: string }, socket: Duplex): void;
  /** The HTTP server's 'connect' listener: CONNECT never reaches the request handler, and gets 405 too. */
  connect(req: IncomingMessage, socket: Duplex): void;
}

export interface HttpRefusalsOptions {
  logger: Logger;
  metrics: Pick<Metrics, 'httpRefused'>;
  perSecond: number;
  trustProxy: boolean;
}

// Node's own refusals, by the code of its error: the status it means and the reason it is counted as.
const CLIENT_ERRORS: Readonly<Record<string, [number, HttpRefusal]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'timeout'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large'],
};

const LOGGED_CHARS = 200;

export function createHttpRefusals(options: HttpRefusalsOptions): HttpRefusals {
  const { logger, trustProxy } = options;
  const warn = rateLimitedWarn(logger, options.perSecond);

  function record(req: IncomingMessage, status: number, reason: HttpRefusal): void {
    options.metrics.httpRefused(reason);
    warn({ ip: clientAddress(req, trustProxy), method: req.method?.slice(0, 20), host: req.headers.host?.slice(0, LOGGED_CHARS), url: redactQuery(req.url)?.slice(0, LOGGED_CHARS), status, reason }, 'request refused');
  }

  function recordSocket(socket: Duplex, status: number, reason: HttpRefusal, fields: Record<string, unknown> = {}): void {
    options.metrics.httpRefused(reason);
    warn({ ip: (socket as Duplex & { remoteAddress?: string }).remoteAddress, status, reason, ...fields }, 'request refused');
  }

  return {
    record,
    recordSocket,
    clientError(err, socket) {
      // A peer that hung up mid-request has nothing to be answered or warned about.
      if (err.code === 'ECONNRESET' || !socket.writable) {
        logger.debug({ code: err.code }, 'http client gone');
        return void socket.destroy();
      }
      const [status, reason] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'bad_request'];
      recordSocket(socket, status, reason, { code: err.code });
      answerRaw(socket, status);
    },
    connect(req, socket) {
      socket.on('error', () => socket.destroy());
      record(req, 405, 'method');
      answerRaw(socket, 405, '', { Allow: 'GET, HEAD' });
    },
  };
}
