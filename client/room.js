// @ts-check
// One room the client follows, across reconnects: where to resume (`since`, the last id seen, or
// the room's newest at the first subscribe), whether this connection's subscribe has been
// answered and its replay has finished (only then are queued sends retried), and repeats dropped.
import { compareIds } from './protocol.js';

/**
 * @typedef {import('./protocol.js').Message} Message
 * @typedef {{
 *   message?: (message: Message) => void,
 *   presence?: (members: number) => void,
 *   typing?: (names: string[], others: number) => void,
 *   subscribed?: () => void,
 *   truncated?: (since: string) => void,
 *   unsubscribed?: (reason: string) => void,
 *   error?: (reason: string) => void,
 * }} RoomHandlers
 */

export class Room {
  /** @param {string} name @param {RoomHandlers} handlers */
  constructor(name, handlers) {
    this.name = name;
    this.handlers = handlers;
    /** @type {string | undefined} where a resubscribe resumes */
    this.since = undefined;
    /** @type {string | undefined} the newest id delivered: anything not after it is a repeat */
    this.seen = undefined;
    /** This connection's subscribe was answered. */
    this.subscribed = false;
    /** Answered and replayed: live messages flow, queued sends may go. */
    this.live = false;
    this.replaying = 0;
    this.askedSince = false;
    /** Asked for on this connection. */
    this.asked = false;
  }

  subscribeFrame() {
    this.asked = true;
    this.subscribed = false;
    this.live = false;
    this.askedSince = this.since !== undefined;
    return this.since === undefined ? { type: 'subscribe', room: this.name } : { type: 'subscribe', room: this.name, since: this.since };
  }

  disconnected() {
    this.asked = false;
    this.subscribed = false;
    this.live = false;
  }

  /**
   * @param {import('./protocol.js').ServerFrame} frame
   * @returns {'live' | 'dropped' | undefined} 'live' when the room has just become live
   */
  receive(frame) {
    const h = this.handlers;
    switch (frame.type) {
      case 'subscribed':
        this.subscribed = true;
        this.since ??= frame.last;
        h.subscribed?.();
        return this.askedSince ? undefined : this.goLive();
      case 'history':
        if (!this.subscribed) return undefined;
        // Truncated: the broker lost or trimmed what came after `since` (a restarted in-process
        // broker even counts ids anew), so what it replays is new whatever its ids say.
        if (frame.truncated) {
          this.seen = undefined;
          h.truncated?.(frame.since);
        }
        this.replaying = frame.count;
        return frame.count === 0 ? this.goLive() : undefined;
      case 'message':
        return this.message(frame);
      case 'presence':
        h.presence?.(frame.members);
        return undefined;
      case 'typing':
        h.typing?.(frame.names, frame.others);
        return undefined;
      case 'unsubscribed':
        h.unsubscribed?.(frame.reason ?? 'server');
        return undefined;
      default:
        return undefined;
    }
  }

  goLive() {
    this.live = true;
    return /** @type {const} */ ('live');
  }

  /** @param {Message & { type: 'message' }} frame */
  message(frame) {
    // Frames of an earlier membership (the default room the server put the socket in) before this subscribe's answer.
    if (!this.subscribed) return 'dropped';
    // Every replayed message counts towards the end of the replay, a repeat too.
    const lastOfReplay = this.replaying > 0 && --this.replaying === 0;
    const repeat = this.seen !== undefined && compareIds(frame.id, this.seen) <= 0;
    if (!repeat) {
      this.seen = this.since = frame.id;
      this.handlers.message?.(frame);
    }
    if (lastOfReplay) return this.goLive();
    return repeat ? 'dropped' : undefined;
  }
}
