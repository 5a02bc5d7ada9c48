import type { Logger } from '../log/logger.ts';
import type { ClientSocket } from './session.ts';

/**
 * A socket whose unsent output passes `maxBufferedBytes` is not reading: it is closed (1013 Slow
 * consumer) rather than let to hold memory that grows with every message of its room.
 */
export interface SlowConsumerPolicy {
  readonly maxBufferedBytes: number;
  /** True (and one warning) when the socket is past its limit and must be closed. */
  exceeded(socket: ClientSocket): boolean;
}

export function createSlowConsumerPolicy(maxBufferedBytes: number, logger: Logger): SlowConsumerPolicy {
  return {
    maxBufferedBytes,
    exceeded(socket) {
      if (socket.bufferedAmount <= maxBufferedBytes) return false;
      logger.warn({ connId: socket.session.id, bufferedBytes: socket.bufferedAmount, limit: maxBufferedBytes }, 'slow consumer closed');
      return true;
    },
  };
}
