import type { Logger } from '../log/logger.ts';
import type { ClientSocket } from './session.ts';
import { kernelAccepted, queuedWrites } from './ws-internals.ts';

/**
 * Heap one write queued in a TCP socket costs besides its bytes: Node keeps an entry (chunk,
 * encoding, callback) per write in the socket's Writable buffer. Measured on Node 26 with 10^4 to
 * 10^5 writes queued to a peer that reads nothing: 57.5-59.1 bytes after GC when the buffer is
 * shared (a room's broadcast, a ping), 162 bytes when it is the write's own (the Buffer object
 * too; its bytes are counted as bytes). The higher figure is counted, rounded: a queue of
 * presence frames or pings costs about twice its wire bytes, and must be closed by what it costs.
 */
export const QUEUED_WRITE_BYTES = 160;

/**
 * A socket is a slow consumer, closed (1013 Slow consumer), when what it makes the server hold
 * for it passes `maxBufferedBytes` (its unsent bytes plus QUEUED_WRITE_BYTES per write queued:
 * the check after every write), or when output has waited `stallMs` with none of it delivered (the
 * time rule, checked once a second by the memory budget's sweep). Output waits in user space, or
 * in the kernel's send queue (a peer whose window is shut); delivered is what the kernel has taken
 * minus what it still holds unacknowledged. The time rule is what closes a peer that reads nothing
 * but answers pings blindly: the bytes it holds may stay under the limit for minutes while the
 * kernel's send buffer, which Node cannot cap, holds megabytes.
 */
export interface SlowConsumerPolicy {
  readonly maxBufferedBytes: number;
  readonly stallMs: number;
  /** Bytes the socket's unsent output costs: `bufferedAmount` plus QUEUED_WRITE_BYTES per queued write. */
  outputCost(socket: ClientSocket): number;
  /** True (and one warning) when the socket is past its limit and must be closed. */
  exceeded(socket: ClientSocket): boolean;
  /**
   * True (and one warning) when output has waited `stallMs` with nothing delivered; call about once
   * a second. `kernelQueued`: the socket's kernel send queue as last read (kernel-queues.ts), 0 when
   * unknown; `acceptedThen`: what the kernel had taken from it when that read was made (undefined
   * when not known: a queue alone then decides nothing this time).
   */
  stalled(socket: ClientSocket, now: number, kernelQueued?: number, acceptedThen?: number): boolean;
}

/** Delivery out of the kernel's queue alone counts from this many bytes (see `stalled`). */
export const KERNEL_PROGRESS_BYTES = 4096;

/** The time rule's default (SLOW_CONSUMER_MS) for callers that give none (tests of other parts). */
export const DEFAULT_STALL_MS = 10_000;

export function createSlowConsumerPolicy(maxBufferedBytes: number, logger: Logger, stallMs = DEFAULT_STALL_MS): SlowConsumerPolicy {
  function outputCost(socket: ClientSocket): number {
    const buffered = socket.bufferedAmount;
    return buffered === 0 ? 0 : buffered + queuedWrites(socket) * QUEUED_WRITE_BYTES;
  }

  return {
    maxBufferedBytes,
    stallMs,
    outputCost,
    exceeded(socket) {
      const cost = outputCost(socket);
      if (cost <= maxBufferedBytes) return false;
      logger.warn({ connId: socket.session.id, rule: 'bytes', costBytes: cost, bufferedBytes: socket.bufferedAmount, queuedWrites: queuedWrites(socket), limit: maxBufferedBytes }, 'slow consumer closed');
      return true;
    },
    stalled(socket, now, kernelQueued = 0, acceptedThen) {
      const session = socket.session;
      const buffered = socket.bufferedAmount;
      if (buffered === 0 && kernelQueued === 0) {
        session.waitingSince = 0;
        session.waitingInKernel = false;
        return false;
      }
      let progressed: boolean;
      if (buffered > 0) {
        // The kernel's buffer is full: progress is the kernel taking more, read now, so any
        // increase counts. Without Node's internals, what waits shrinking (coarser: it moves
        // only when a whole write completes). Coming from waiting in the kernel alone: new output.
        const accepted = kernelAccepted(socket) ?? -buffered;
        progressed = session.waitingInKernel || accepted > session.acceptedMark;
        session.acceptedMark = accepted;
        session.waitingInKernel = false;
      } else {
        // Waiting in the kernel alone (the peer's window shut): delivered is what it had taken
        // when its queue was read, less the queue. The two are read moments apart, off by what
        // was written between (a ping, a presence frame), so delivery counts from
        // KERNEL_PROGRESS_BYTES on; a peer that reads anything frees a window's worth.
        if (acceptedThen === undefined) return false;
        const delivered = acceptedThen - kernelQueued;
        progressed = !session.waitingInKernel || delivered >= session.acceptedMark + KERNEL_PROGRESS_BYTES;
        if (progressed) session.acceptedMark = delivered;
        session.waitingInKernel = true;
      }
      if (session.waitingSince === 0 || progressed) {
        session.waitingSince = now;
        return false;
      }
      if (now - session.waitingSince < stallMs) return false;
      logger.warn({ connId: session.id, rule: 'time', waitedMs: Math.round(now - session.waitingSince), bufferedBytes: socket.bufferedAmount, kernelQueuedBytes: kernelQueued, limitMs: stallMs }, 'slow consumer closed');
      return true;
    },
  };
}
