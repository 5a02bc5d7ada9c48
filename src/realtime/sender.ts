// Every byte the server sends to a socket goes through here, so each socket sees its frames in
// the order they were sent, and every write is followed by the slow-consumer check.
import { WebSocket } from 'ws';
import type { Metrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason, type CloseReasonText } from '../protocol/close.ts';
import type { OutboundType } from '../protocol/messages.ts';
import { BatchQueue, wireOf, type Batch } from './batch.ts';
import { textFrame, type Frame } from './frame.ts';
import type { ClientSocket } from './session.ts';
import { QUEUED_WRITE_BYTES, type SlowConsumerPolicy } from './slow-consumer.ts';
import { directSocket, tcpSocketOf } from './ws-internals.ts';

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
  /**
   * Closes a socket whose peer is not reading: the close is recorded as by `close` (the log and
   * metrics say 1013), and the TCP connection reset at once, since the close frame would sit behind
   * output the peer does not read. Destroyed normally, the kernel would keep the unsent bytes of the
   * orphaned connection for minutes, probing a peer that reads nothing; a reset frees them now. The
   * peer sees the connection reset (1006), as it would have after `closeTimeout` anyway.
   */
  closeStalled(socket: ClientSocket, code: number, reason: CloseReasonText): void;
}

const TEXT = { binary: false } as const;

function ignore(): void {}

/** `held`: told of output written, and whether it was left queued (the memory budget adds it up between its sweeps). */
export function createSender(metrics: Metrics, slow: SlowConsumerPolicy, held: (bytes: number, queued: boolean) => void = ignore): Sender {
  const queue = new BatchQueue(flush);
  let flushing = false;

  function close(socket: ClientSocket, code: number, reason: CloseReasonText): void {
    flush();
    // Not open: the peer's close frame came first (or ours went already), and the close is theirs.
    if (socket.readyState !== WebSocket.OPEN) return;
    // Recorded before `ws` sends it: this, not `ws`'s handshake state, makes the close the server's.
    socket.session.closing(code, reason);
    socket.close(code, reason);
  }

  function closeStalled(socket: ClientSocket, code: number, reason: CloseReasonText): void {
    close(socket, code, reason);
    tcpSocketOf(socket)?.resetAndDestroy();
  }

  /** One frame to one socket, then the slow-consumer check. */
  function write(socket: ClientSocket, frame: Frame): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    const direct = directSocket(socket);
    if (direct) direct.write(frame.wire);
    else socket.send(frame.payload, TEXT);
    socket.session.messagesOut++;
    const queued = socket.bufferedAmount > 0;
    held(queued ? frame.wire.length + QUEUED_WRITE_BYTES : frame.wire.length, queued);
    if (!queued || !slow.exceeded(socket)) return true;
    closeStalled(socket, CloseCode.tryAgainLater, CloseReason.slowConsumer);
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
      if (direct && slow.outputCost(socket) + all.length + QUEUED_WRITE_BYTES <= slow.maxBufferedBytes) {
        direct.write(all);
        const queued = socket.bufferedAmount > 0;
        held(queued ? all.length + QUEUED_WRITE_BYTES : all.length, queued);
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
    closeStalled,
  };
}
