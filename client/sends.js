// @ts-check
// Sends that are never lost or doubled. Every `say` carries a key; it stays here until a message
// with that key comes back (live, or in the replay after a reconnect), and is sent again with the
// same key after a reconnect if it did not: the server stores a key once per room.

/**
 * @typedef {import('./protocol.js').Message} Message
 * @typedef {{ room: string, text: string, key: string, sentAt: number, sent: boolean, resolve: (m: Message) => void, reject: (e: Error) => void }} Send
 */

/** A refused or abandoned send: `reason` says why (not_subscribed, forbidden, queue_full, closed...). */
export class SendError extends Error {
  /** @param {string} reason */
  constructor(reason) {
    super(`say refused: ${reason}`);
    this.name = 'SendError';
    this.reason = reason;
  }
}

export class Sends {
  /** @param {number} max */
  constructor(max) {
    this.max = max;
    /** @type {Map<string, Send>} by key, in the order they were made */
    this.byKey = new Map();
  }

  /** @param {string} room @param {string} text @param {string} key @returns {{ send: Send, done: Promise<Message> } | undefined} */
  add(room, text, key) {
    if (this.byKey.size >= this.max) return undefined;
    /** @type {PromiseWithResolvers<Message>} */
    const { promise: done, resolve, reject } = Promise.withResolvers();
    /** @type {Send} */
    const send = { room, text, key, sentAt: 0, sent: false, resolve, reject };
    this.byKey.set(key, send);
    return { send, done };
  }

  /** A message came back: the send with its key, if any, is done. @param {Message} message */
  acknowledge(message) {
    const send = message.key === undefined ? undefined : this.byKey.get(message.key);
    if (!send || send.room !== message.room) return undefined;
    this.byKey.delete(send.key);
    send.resolve(message);
    return send;
  }

  /** The server refused the oldest send in flight to `room`. @param {string} room @param {string} reason */
  refuseOldest(room, reason) {
    for (const send of this.byKey.values()) {
      if (send.room === room && send.sent) return this.fail(send, reason);
    }
  }

  /**
   * The server refused the send with `key` (the publish hook's `rejected`, `busy`...): that one,
   * since a refusal may come before the acknowledgements of sends made earlier.
   * @param {string} key @param {string} reason
   */
  refuseKey(key, reason) {
    const send = this.byKey.get(key);
    if (send) this.fail(send, reason);
  }

  /** Every send of `room` fails (the room was left). @param {string} room @param {string} reason */
  failRoom(room, reason) {
    for (const send of [...this.byKey.values()]) if (send.room === room) this.fail(send, reason);
  }

  /** @param {string} reason */
  failAll(reason) {
    for (const send of [...this.byKey.values()]) this.fail(send, reason);
  }

  /** @param {Send} send @param {string} reason */
  fail(send, reason) {
    this.byKey.delete(send.key);
    send.reject(new SendError(reason));
  }

  /** Sends of `room` still waiting for their message, oldest first. @param {string} room */
  waiting(room) {
    return [...this.byKey.values()].filter((s) => s.room === room);
  }
}
