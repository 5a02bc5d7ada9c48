/**
 * @typedef {import('./protocol.js').Message} Message
 * @typedef {{ room: string, text: string, key: string, sentAt: number, sent: boolean, resolve: (m: Message) => void, reject: (e: Error) => void }} Send
 */
/** A refused or abandoned send: `reason` says why (not_subscribed, forbidden, queue_full, closed...). */
export class SendError extends Error {
    /** @param {string} reason */
    constructor(reason: string);
    reason: string;
}
export class Sends {
    /** @param {number} max */
    constructor(max: number);
    max: number;
    /** @type {Map<string, Send>} by key, in the order they were made */
    byKey: Map<string, Send>;
    /** @param {string} room @param {string} text @param {string} key @returns {{ send: Send, done: Promise<Message> } | undefined} */
    add(room: string, text: string, key: string): {
        send: Send;
        done: Promise<Message>;
    } | undefined;
    /** A message came back: the send with its key, if any, is done. @param {Message} message */
    acknowledge(message: Message): Send | undefined;
    /** The server refused the oldest send in flight to `room`. @param {string} room @param {string} reason */
    refuseOldest(room: string, reason: string): void;
    /**
     * The server refused the send with `key` (the publish hook's `rejected`, `busy`...): that one,
     * since a refusal may come before the acknowledgements of sends made earlier.
     * @param {string} key @param {string} reason
     */
    refuseKey(key: string, reason: string): void;
    /** Every send of `room` fails (the room was left). @param {string} room @param {string} reason */
    failRoom(room: string, reason: string): void;
    /** @param {string} reason */
    failAll(reason: string): void;
    /** @param {Send} send @param {string} reason */
    fail(send: Send, reason: string): void;
    /** Sends of `room` still waiting for their message, oldest first. @param {string} room */
    waiting(room: string): Send[];
}
export type Message = import("./protocol.js").Message;
export type Send = {
    room: string;
    text: string;
    key: string;
    sentAt: number;
    sent: boolean;
    resolve: (m: Message) => void;
    reject: (e: Error) => void;
};
