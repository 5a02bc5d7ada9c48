import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { Logger } from '../log/logger.ts';
import type { Metrics, OutboundType } from '../metrics/metrics.ts';
import { CloseCode, CloseReason } from './protocol.ts';
import type { ClientSocket } from './session.ts';

export interface SenderOptions {
  maxBufferedBytes: number;
  metrics: Metrics;
  logger: Logger;
}

export interface Sender {
  /** Writes one frame; returns false if the socket was not open or was just closed as a slow consumer. */
  send(socket: ClientSocket, frame: Buffer, type: OutboundType): boolean;
  /** Writes the same bytes to every open socket; returns how many got them. */
  sendMany(sockets: Iterable<ClientSocket>, frame: Buffer, type: OutboundType): number;
  /**
   * Queues the frame for every member of `sockets` (a room's member set, read when written).
   * What is queued before the current tick ends (e.g. every message of one read from a publisher)
   * is written together, one write per socket per room; `flush` writes it at once. Any other
   * send or close flushes first, so each socket still sees its frames in the order they were sent.
   */
  broadcast(sockets: ReadonlySet<ClientSocket>, frame: Buffer, type: OutboundType): void;
  /** Writes the queued broadcasts now. Call before changing a member set that has some queued. */
  flush(): void;
  /** Writes bytes made by `textFrame` (the caller counts them in the metrics). */
  write(socket: ClientSocket, wire: Buffer): boolean;
  /** Starts the close handshake; the server's `closeTimeout` destroys the TCP socket if the peer never answers. */
  close(socket: ClientSocket, code: number, reason: string): void;
}

/** What the sender reads of a `ws` socket beyond its public API (ws 8.x); absent, it uses `send`. */
interface WsInternals {
  _socket?: Socket;
  _sender?: { _bufferedBytes?: number };
}

/**
 * The TCP socket to write a whole frame to directly, or undefined when `ws` holds frames back
 * (compression, Blobs: never on this server) or its internals are not the ones known here.
 */
export function directSocket(socket: ClientSocket): Socket | undefined {
  const internals = socket as unknown as WsInternals;
  return internals._sender?._bufferedBytes === 0 ? internals._socket : undefined;
}

const TEXT = { binary: false } as const;

/**
 * A whole unmasked text frame (FIN, opcode 1), header and payload in one buffer: the bytes `ws`
 * would write for `payload`, made once however many sockets get them, and written with one
 * write instead of a corked header-plus-payload pair.
 */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const wire = Buffer.allocUnsafe(head + n);
  wire[0] = 0x81;
  if (n < 126) {
    wire[1] = n;
  } else if (n < 65536) {
    wire[1] = 126;
    wire.writeUInt16BE(n, 2);
  } else {
    wire[1] = 127;
    wire.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    wire.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(wire, head);
  return wire;
}

function payloadOf(wire: Buffer): Buffer {
  const len = (wire[1] ?? 0) & 0x7f;
  return wire.subarray(len < 126 ? 2 : len === 126 ? 4 : 10);
}

interface Queued {
  wire: Buffer;
  type: OutboundType;
  payloadBytes: number;
  /** Sockets that got it one frame at a time (near their limit). */
  alone: number;
}

interface Batch {
  sockets: ReadonlySet<ClientSocket>;
  frames: Queued[];
  bytes: number;
}

export function createSender(options: SenderOptions): Sender {
  const { maxBufferedBytes, metrics, logger } = options;
  const pending = new Map<ReadonlySet<ClientSocket>, Batch>();
  let scheduled = false;
  let flushing = false;

  function close(socket: ClientSocket, code: number, reason: string): void {
    flush();
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.session.closeCode = code;
    socket.session.closeReason = reason;
    socket.close(code, reason);
  }

  function slowConsumer(socket: ClientSocket): boolean {
    if (socket.bufferedAmount <= maxBufferedBytes) return false;
    logger.warn({ connId: socket.session.id, bufferedBytes: socket.bufferedAmount, limit: maxBufferedBytes }, 'slow consumer closed');
    close(socket, CloseCode.tryAgainLater, CloseReason.slowConsumer);
    return true;
  }

  /** One frame to one socket, then the slow-consumer check. */
  function write(socket: ClientSocket, wire: Buffer): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    // The server never compresses nor sends Blobs, so `ws` queues nothing and writes straight
    // through: the same bytes written here keep their place among its own frames. Should it ever
    // hold frames back, go through it.
    const direct = directSocket(socket);
    if (direct) direct.write(wire);
    else socket.send(payloadOf(wire), TEXT);
    socket.session.messagesOut++;
    return !slowConsumer(socket);
  }

  function writeBatch(batch: Batch): void {
    const { frames } = batch;
    const all = frames.length === 1 && frames[0] ? frames[0].wire : Buffer.concat(frames.map((f) => f.wire), batch.bytes);
    let whole = 0;
    for (const socket of batch.sockets) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      const direct = directSocket(socket);
      // The whole batch in one write when it cannot take the socket past its limit...
      if (direct && socket.bufferedAmount + all.length <= maxBufferedBytes) {
        direct.write(all);
        socket.session.messagesOut += frames.length;
        whole++;
        continue;
      }
      // ...else frame by frame, so a slow consumer is closed at the limit plus one frame, as before.
      for (const frame of frames) {
        if (!write(socket, frame.wire)) break;
        frame.alone++;
      }
    }
    for (const frame of frames) metrics.messageOut(frame.type, frame.payloadBytes, whole + frame.alone);
  }

  function flush(): void {
    if (flushing || pending.size === 0) return;
    flushing = true;
    try {
      for (const batch of pending.values()) writeBatch(batch);
    } finally {
      pending.clear();
      flushing = false;
    }
  }

  function flushLater(): void {
    scheduled = false;
    flush();
  }

  return {
    send(socket, frame, type) {
      flush();
      const sent = write(socket, textFrame(frame));
      if (sent) metrics.messageOut(type, frame.length, 1);
      return sent;
    },
    sendMany(sockets, frame, type) {
      flush();
      const wire = textFrame(frame);
      let count = 0;
      for (const socket of sockets) if (write(socket, wire)) count++;
      metrics.messageOut(type, frame.length, count);
      return count;
    },
    broadcast(sockets, frame, type) {
      if (sockets.size === 0) return;
      let batch = pending.get(sockets);
      if (!batch) pending.set(sockets, (batch = { sockets, frames: [], bytes: 0 }));
      const wire = textFrame(frame);
      batch.frames.push({ wire, type, payloadBytes: frame.length, alone: 0 });
      batch.bytes += wire.length;
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flushLater);
      }
    },
    flush,
    write,
    close,
  };
}
