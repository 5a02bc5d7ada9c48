// The only module that reads `ws` private fields (ws 8.x). Each read is checked by
// test/unit/ws-internals.test.ts, which fails when a `ws` upgrade changes them, and each has a
// fallback that keeps the service correct (only slower, or with a less exact log line) if it does.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

interface WsSocketInternals {
  _socket?: Socket;
  _sender?: { _bufferedBytes?: number };
}

/**
 * The TCP socket to write whole, pre-framed frames to directly, or undefined when `ws` is holding
 * frames back (compression or Blobs: never on this server) or its internals are not the ones known
 * here; then the caller goes through `send`. Written straight through, the same bytes keep their
 * place among the frames `ws` writes itself.
 */
export function directSocket(socket: WebSocket): Socket | undefined {
  const internals = socket as unknown as WsSocketInternals;
  return internals._sender?._bufferedBytes === 0 ? internals._socket : undefined;
}

/** The TCP socket under a `ws` socket (tests pause it to play a peer that stops reading). */
export function tcpSocketOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as WsSocketInternals)._socket;
}

/**
 * The close code `ws` sends for a protocol error it found itself (1002, 1007, 1009...): the
 * receiver puts it on the error under a private symbol before it closes the socket with it.
 */
export function wsErrorCloseCode(err: Error): number | undefined {
  const symbol = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code');
  const code: unknown = symbol === undefined ? undefined : (err as unknown as Record<symbol, unknown>)[symbol];
  return typeof code === 'number' ? code : undefined;
}
