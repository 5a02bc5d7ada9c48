// The plain HTTP side's bounds on what a client can hold (issue 22): at most MAX_HTTP_CONNECTIONS
// connections at once, and a request body that must arrive within HTTP_BODY_TIMEOUT_MS of its
// headers. A body trickled a byte a second would otherwise hold its socket until Node's request
// timeout, and many of them every descriptor the process has.
//
// A connection counts from its accept until it closes or its upgrade completes: until the server
// has read its headers nobody knows it wants to be a WebSocket, and an upgrade waiting on its token
// check holds a socket like any request. Once upgraded it is MAX_CONNECTIONS's to count.
// Node's own `server.maxConnections` is no substitute: it counts the WebSockets as well (a socket
// stays the net server's after its upgrade), and drops the extra ones silently at accept.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpRefusals } from './refusals.ts';
import { send } from './respond.ts';
import { answerRaw } from '../request/raw-response.ts';

/**
 * How long a refused socket stays open after its 503, unless the client hangs up first (well-behaved
 * ones do, told `Connection: close`): closing at once, with the client's request still unread,
 * would answer with a TCP reset that can destroy the 503 before the client reads it.
 */
export const REFUSED_LINGER_MS = 1000;

export interface HttpConnectionsOptions {
  /** MAX_HTTP_CONNECTIONS. */
  maxConnections: number;
  /** HTTP_BODY_TIMEOUT_MS. */
  bodyTimeoutMs: number;
  refusals: Pick<HttpRefusals, 'record' | 'recordSocket'>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpConnections {
  /** The HTTP server's 'connection' listener: counts the socket, or refuses it past the cap. */
  connection(socket: Socket): void;
  /** An upgrade completed: from now on the socket is a WebSocket, no longer counted here. */
  upgraded(socket: Duplex): void;
  /** The request handler, run only for admitted connections and with the body deadline set. */
  handler(handle: Handler): Handler;
  /** An 'upgrade' (or 'connect') listener, run only for admitted connections. */
  upgrade(handle: UpgradeHandler): UpgradeHandler;
}

export function createHttpConnections(options: HttpConnectionsOptions): HttpConnections {
  const { maxConnections, bodyTimeoutMs, refusals } = options;
  const counted = new Set<Duplex>();
  // Refused at accept and answered 503 already: a request Node still parses from one is not served.
  const refused = new WeakSet<Duplex>();
  let lingering = 0;

  function release(socket: Duplex): void {
    counted.delete(socket);
  }

  function refuse(socket: Socket): void {
    refused.add(socket);
    refusals.recordSocket(socket, 503, 'http_connections', { open: counted.size, max: maxConnections });
    socket.on('error', () => socket.destroy());
    // Refused sockets waiting for their client to hang up are bounded too (as many as the cap):
    // past that, a flood's sockets are closed without an answer, so the descriptors stay bounded.
    if (lingering >= maxConnections) return void socket.destroy();
    lingering++;
    const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    timer.unref();
    socket.once('close', () => {
      lingering--;
      clearTimeout(timer);
    });
    answerRaw(socket, 503, 'Service Unavailable: too many connections, try again', { 'Retry-After': '1', 'Cache-Control': 'no-store' });
  }

  /** A body not complete within the deadline: 408 if nothing was answered yet, and the socket closed either way. */
  function bodyDeadline(req: IncomingMessage, res: ServerResponse): void {
    // Without either header a request has no body (RFC 9112 6.3): most requests need no timer.
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    if (!hasBody || req.complete) return;
    const timer = setTimeout(() => {
      if (req.complete || req.socket.destroyed) return;
      refusals.record(req, 408, 'body_timeout');
      // Destroying the request closes its socket, and tells a handler still reading the body (the
      // API) that it will not come: its 'close' comes, and the handler finds the request answered.
      // Answered before the body was read (a GET, a 404): nothing left to say, only the socket to free.
      if (res.headersSent) return void req.destroy();
      // Otherwise once the 408 is written, or after a grace should the client not read it.
      res.once('finish', () => req.destroy());
      setTimeout(() => req.destroy(), REFUSED_LINGER_MS).unref();
      send(res, 408, 'Request Timeout: the body took too long', undefined, { Connection: 'close' });
    }, bodyTimeoutMs);
    // Ends with the body (or the connection): 'close' comes once the body is all read or the socket is gone.
    req.once('close', () => clearTimeout(timer));
    req.once('end', () => clearTimeout(timer));
  }

  return {
    connection(socket) {
      if (counted.size >= maxConnections) return refuse(socket);
      counted.add(socket);
      socket.once('close', () => release(socket));
    },
    upgraded: release,
    handler(handle) {
      return (req, res) => {
        if (refused.has(req.socket)) return; // answered 503 at accept; the socket closes on its own
        bodyDeadline(req, res);
        handle(req, res);
      };
    },
    upgrade(handle) {
      return (req, socket, head) => {
        if (refused.has(socket)) return;
        handle(req, socket, head);
      };
    },
  };
}
