export class Outbox {
    /** @param {number} perSec @param {(text: string) => boolean} write */
    constructor(perSec: number, write: (text: string) => boolean);
    perSec: number;
    write: (text: string) => boolean;
    tokens: number;
    at: number;
    /** @type {string[]} */
    queue: string[];
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    timer: ReturnType<typeof setTimeout> | undefined;
    /** @param {unknown} frame */
    send(frame: unknown): void;
    /** Sent at once, its token taken all the same (the server counts it). */
    pong(): void;
    refill(): void;
    flush(): void;
    /** The connection is gone: what waits is dropped (subscriptions and sends are redone on the next). */
    clear(): void;
}
