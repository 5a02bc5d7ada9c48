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
  /** Starts the close handshake; the server's `closeTimeout` destroys the TCP socket if the peer never answers. */
  close(socket: ClientSocket, code: number, reason: string): void;
}

const TEXT = { binary: false } as const;

export function createSender(options: SenderOptions): Sender {
  const { maxBufferedBytes, metrics, logger } = options;

  function close(socket: ClientSocket, code: number, reason: string): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.session.closeCode = code;
    socket.session.closeReason = reason;
    socket.close(code, reason);
  }

  function write(socket: ClientSocket, frame: Buffer): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    // A Buffer sent as text is framed without re-encoding: the payload bytes are shared by every recipient.
    socket.send(frame, TEXT);
    socket.session.messagesOut++;
    if (socket.bufferedAmount > maxBufferedBytes) {
      logger.warn({ connId: socket.session.id, bufferedBytes: socket.bufferedAmount, limit: maxBufferedBytes }, 'slow consumer closed');
      close(socket, CloseCode.tryAgainLater, CloseReason.slowConsumer);
      return false;
    }
    return true;
  }

  return {
    send(socket, frame, type) {
      const sent = write(socket, frame);
      if (sent) metrics.messageOut(type, frame.length, 1);
      return sent;
    },
    sendMany(sockets, frame, type) {
      let count = 0;
      for (const socket of sockets) if (write(socket, frame)) count++;
      metrics.messageOut(type, frame.length, count);
      return count;
    },
    close,
  };
}
