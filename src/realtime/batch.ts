import type { OutboundType } from '../protocol/messages.ts';
import type { Frame } from './frame.ts';
import type { ClientSocket } from './session.ts';

/** A frame queued for a set of sockets. */
export interface Queued {
  frame: Frame;
  type: OutboundType;
  /** Sockets that got it one frame at a time (near their limit). */
  alone: number;
}

/** Frames queued for one member set (a room), written together: one write per socket. */
export interface Batch {
  sockets: ReadonlySet<ClientSocket>;
  frames: Queued[];
  bytes: number;
}

/**
 * Broadcasts queued until the end of the current tick: every message of one read from a publisher
 * reaches each member of a room in one write instead of one write per message.
 */
export class BatchQueue {
  private readonly pending = new Map<ReadonlySet<ClientSocket>, Batch>();
  private scheduled = false;
  private readonly flushLater: () => void;

  constructor(flush: () => void) {
    this.flushLater = () => {
      this.scheduled = false;
      flush();
    };
  }

  get size(): number {
    return this.pending.size;
  }

  add(sockets: ReadonlySet<ClientSocket>, frame: Frame, type: OutboundType): void {
    let batch = this.pending.get(sockets);
    if (!batch) this.pending.set(sockets, (batch = { sockets, frames: [], bytes: 0 }));
    batch.frames.push({ frame, type, alone: 0 });
    batch.bytes += frame.wire.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushLater);
    }
  }

  /** Hands every queued batch to `write`, in the order queued, and empties the queue. */
  drain(write: (batch: Batch) => void): void {
    try {
      for (const batch of this.pending.values()) write(batch);
    } finally {
      this.pending.clear();
    }
  }
}

/** The batch's frames as one buffer. */
export function wireOf(batch: Batch): Buffer {
  const { frames } = batch;
  return frames.length === 1 && frames[0] ? frames[0].frame.wire : Buffer.concat(frames.map((f) => f.frame.wire), batch.bytes);
}
