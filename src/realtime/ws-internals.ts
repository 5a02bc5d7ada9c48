// The only module that reads `ws` private fields (ws 8.x), and those of Node's TCP socket under it
// (what is queued and what the kernel has taken). Each read is checked by
// test/unit/ws-internals.test.ts, which fails when an upgrade changes them, and each has a
// fallback that keeps the service correct (only slower, less exact, or counting less) if it does.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

interface WsSocketInternals {
  _socket?: Socket & TcpInternals;
  _sender?: { _bufferedBytes?: number };
  _receiver?: { _bufferedBytes?: number; _messageLength?: number; _fragments?: readonly unknown[] };
}

interface TcpInternals {
  _writableState?: { buffered?: readonly unknown[]; bufferedIndex?: number };
  _handle?: { bytesWritten?: number; writeQueueSize?: number } | null;
}

function internals(socket: WebSocket): WsSocketInternals {
  return socket as unknown as WsSocketInternals;
}

/**
 * The TCP socket to write whole, pre-framed frames to directly, or undefined when `ws` is holding
 * frames back (compression or Blobs: never on this server) or its internals are not the ones known
 * here; then the caller goes through `send`. Written straight through, the same bytes keep their
 * place among the frames `ws` writes itself.
 */
export function directSocket(socket: WebSocket): Socket | undefined {
  const ws = internals(socket);
  return ws._sender?._bufferedBytes === 0 ? ws._socket : undefined;
}

/** The TCP socket under a `ws` socket (tests pause it to play a peer that stops reading). */
export function tcpSocketOf(socket: WebSocket): Socket | undefined {
  return internals(socket)._socket;
}

/**
 * Writes queued in the TCP socket behind the one in flight (Node's Writable buffer): each costs
 * heap whatever its size (slow-consumer.ts). 0 when the fields are not the ones known here.
 */
export function queuedWrites(socket: WebSocket): number {
  const state = internals(socket)._socket?._writableState;
  const buffered = state?.buffered;
  const index = state?.bufferedIndex;
  return Array.isArray(buffered) && typeof index === 'number' ? buffered.length - index : 0;
}

/**
 * Bytes the kernel has taken from the socket so far, a count that only grows: what Node handed
 * libuv minus what libuv still holds. It moves with every partial write too, where the socket's
 * `writableLength` moves only when a whole write completes. Undefined when unknown.
 */
export function kernelAccepted(socket: WebSocket): number | undefined {
  const handle = internals(socket)._socket?._handle;
  const { bytesWritten, writeQueueSize } = handle ?? {};
  return typeof bytesWritten === 'number' && typeof writeQueueSize === 'number' ? bytesWritten - writeQueueSize : undefined;
}

/**
 * The incoming message `ws` holds until its last fragment: the fragments received (payload bytes)
 * plus the bytes of a frame not complete yet. 0 when the fields are not the ones known here.
 */
export function partialMessageBytes(socket: WebSocket): number {
  const receiver = internals(socket)._receiver;
  return (receiver?._messageLength ?? 0) + (receiver?._bufferedBytes ?? 0);
}

/** Fragments of that message held, one Buffer each (each costs heap whatever its size). */
export function partialFragments(socket: WebSocket): number {
  return internals(socket)._receiver?._fragments?.length ?? 0;
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
