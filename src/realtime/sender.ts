// Every byte the server sends to a socket goes through here, so each socket sees its frames in
// the order they were sent, and every write is followed by the slow-consumer check.
import { WebSocket } from 'ws';
import type { Metrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason, type CloseReasonText } from '../protocol/close.ts';
import type { OutboundType } from '../protocol/messages.ts';
import { BatchQueue, wireOf, type Batch } from './batch.ts';
import { textFrame, type Frame } from './frame.ts';
import type { ClientSocket } from './session.ts';
import type { SlowConsumerPolicy } from './slow-consumer.ts';
import { directSocket } from './ws-internals.ts';

export interface Sender {
  /** Writes one frame now; returns false if the socket was not open or was just closed as a slow consumer. */
  sendNow(socket: ClientSocket, payload: Buffer, type: OutboundType): boolean;
  /** Writes the same bytes now to every open socket; returns how many got them. */
  sendNowToAll(sockets: Iterable<ClientSocket>, payload: Buffer, type: OutboundType): number;
  /**
   * Queues the frame for every member of `sockets` (a room's member set, read when written).
   * What is queued before the current tick ends is written together, one write per socket per
   * room; `flush` writes it at once. Any other send or close flushes first.
   */
  sendAtTickEnd(sockets: ReadonlySet<ClientSocket>, payload: Buffer, type: OutboundType): void;
  /** Writes the queued broadcasts now. Call before changing a member set that has some queued. */
  flush(): void;
  /** Writes a frame made once by `textFrame` (the caller counts it in the metrics). */
  write(socket: ClientSocket, frame: Frame): boolean;
  /** Starts the close handshake; the server's `closeTimeout` destroys the TCP socket if the peer never answers. */
  close(socket: ClientSocket, code: number, reason: CloseReasonText): void;
}

const TEXT = { binary: false } as const;

export function createSender(metrics: Metrics, slow: SlowConsumerPolicy): Sender {
  const queue = new BatchQueue(flush);
  let flushing = false;

  function close(socket: ClientSocket, code: number, reason: CloseReasonText): void {
    flush();
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.session.closing(code, reason);
    socket.close(code, reason);
  }

  /** One frame to one socket, then the slow-consumer check. */
  function write(socket: ClientSocket, frame: Frame): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    const direct = directSocket(socket);
    if (direct) direct.write(frame.wire);
    else socket.send(frame.payload, TEXT);
    socket.session.messagesOut++;
    if (!slow.exceeded(socket)) return true;
    close(socket, CloseCode.tryAgainLater, CloseReason.slowConsumer);
    return false;
  }

  function writeBatch(batch: Batch): void {
    const { frames } = batch;
    const all = wireOf(batch);
    let whole = 0;
    for (const socket of batch.sockets) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      const direct = directSocket(socket);
      // The whole batch in one write when it cannot take the socket past its limit...
      if (direct && socket.bufferedAmount + all.length <= slow.maxBufferedBytes) {
        direct.write(all);
        socket.session.messagesOut += frames.length;
        whole++;
        continue;
      }
      // ...else frame by frame, so a slow consumer is closed at the limit plus one frame.
      for (const queued of frames) {
        if (!write(socket, queued.frame)) break;
        queued.alone++;
      }
    }
    for (const queued of frames) metrics.messageOut(queued.type, queued.frame.payload.length, whole + queued.alone);
  }

  function flush(): void {
    if (flushing || queue.size === 0) return;
    flushing = true;
    try {
      queue.drain(writeBatch);
    } finally {
      flushing = false;
    }
  }

  return {
    sendNow(socket, payload, type) {
      flush();
      const sent = write(socket, textFrame(payload));
      if (sent) metrics.messageOut(type, payload.length, 1);
      return sent;
    },
    sendNowToAll(sockets, payload, type) {
      flush();
      const frame = textFrame(payload);
      let count = 0;
      for (const socket of sockets) if (write(socket, frame)) count++;
      metrics.messageOut(type, payload.length, count);
      return count;
    },
    sendAtTickEnd(sockets, payload, type) {
      if (sockets.size > 0) queue.add(sockets, textFrame(payload), type);
    },
    flush,
    write,
    close,
  };
}
