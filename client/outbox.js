// @ts-check
// Frames to the server, paced under its rate limit (RATE_LIMIT_PER_SEC, default 20 a second with
// bursts of twice that): a reconnect that resubscribes 64 rooms and retries queued sends must not
// be closed with 1008 for sending them all at once. `pong` does not wait: a late one looks dead.

export class Outbox {
  /** @param {number} perSec @param {(text: string) => boolean} write */
  constructor(perSec, write) {
    this.perSec = perSec;
    this.write = write;
    this.tokens = perSec;
    this.at = Date.now();
    /** @type {string[]} */
    this.queue = [];
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  /** @param {unknown} frame */
  send(frame) {
    this.queue.push(JSON.stringify(frame));
    this.flush();
  }

  /** Sent at once, its token taken all the same (the server counts it). */
  pong() {
    this.refill();
    this.tokens -= 1;
    this.write('pong');
  }

  refill() {
    const now = Date.now();
    this.tokens = Math.min(this.perSec, this.tokens + ((now - this.at) * this.perSec) / 1000);
    this.at = now;
  }

  flush() {
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1) {
      const text = /** @type {string} */ (this.queue.shift());
      if (!this.write(text)) {
        this.queue.unshift(text);
        return;
      }
      this.tokens -= 1;
    }
    if (this.queue.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, Math.ceil(1000 / this.perSec));
    }
  }

  /** The connection is gone: what waits is dropped (subscriptions and sends are redone on the next). */
  clear() {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
  }
}
