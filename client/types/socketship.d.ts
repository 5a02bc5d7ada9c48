/** Connects to `url` (ws:// or wss://, the server's /ws) and keeps connected until `close()`. @param {string} url @param {ClientOptions} [options] */
export function connect(url: string, options?: ClientOptions): Client;
/** The server's socket URL for a page it served: wss: on https pages, same host. @param {{ protocol: string, host: string }} location */
export function socketUrl(location: {
    protocol: string;
    host: string;
}): string;
/**
 * @typedef {import('./protocol.js').Message} Message
 * @typedef {import('./protocol.js').ServerFrame} ServerFrame
 * @typedef {import('./room.js').RoomHandlers} RoomHandlers
 * @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} State
 * @typedef {{ state: State, code?: number, reason?: string, retryInMs?: number }} StateChange
 * @typedef {{
 *   getToken?: () => string | Promise<string>,
 *   WebSocket?: new (url: string) => WebSocket,
 *   sendsPerSec?: number,
 *   queueMax?: number,
 *   silenceMs?: number,
 *   refreshMarginMs?: number,
 *   random?: () => number,
 * }} ClientOptions
 * @typedef {{ state: StateChange, welcome: import('./protocol.js').Welcome, error: import('./protocol.js').ErrorFrame, rtt: number }} Events
 */
export class Client {
    /** @param {string} url ws:// or wss:// URL of the server's /ws @param {ClientOptions} [options] */
    constructor(url: string, options?: ClientOptions);
    url: string;
    options: ClientOptions;
    /** @type {State} */
    state: State;
    /** The user and the token's expiry (identity mode), the connection id and name, from `welcome`. */
    /** @type {import('./protocol.js').Welcome | undefined} */
    welcome: import("./protocol.js").Welcome | undefined;
    /** @type {number | undefined} the last acknowledgement's round trip, ms */
    rtt: number | undefined;
    /** @type {Map<string, Room>} */
    rooms: Map<string, Room>;
    sends: Sends;
    outbox: Outbox;
    /** @type {{ [K in keyof Events]?: Set<(value: Events[K]) => void> }} */
    listeners: { [K in keyof Events]?: Set<(value: Events[K]) => void>; };
    /** @type {WebSocket | undefined} */
    socket: WebSocket | undefined;
    attempt: number;
    wanted: boolean;
    /** @type {Record<'retry' | 'refresh' | 'silence', ReturnType<typeof setTimeout> | undefined>} */
    timers: Record<"retry" | "refresh" | "silence", ReturnType<typeof setTimeout> | undefined>;
    /**
     * @template {keyof Events} K
     * @param {K} event @param {(value: Events[K]) => void} handler @returns {() => void} removes it
     */
    on<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): () => void;
    /** @template {keyof Events} K @param {K} event @param {Events[K]} value */
    emit<K extends keyof Events>(event: K, value: Events[K]): void;
    /** Follows `room` (`@me`: the user's personal channel), from now, and after every reconnect from the last id seen. @param {string} room @param {RoomHandlers} [handlers] */
    subscribe(room: string, handlers?: RoomHandlers): Room;
    /** @param {string} room */
    unsubscribe(room: string): void;
    /**
     * Says `text` in `room` (one this client follows). Resolves with the stored message once it
     * comes back, rejects with a SendError saying why it was refused. Made while reconnecting, it
     * waits (at most `queueMax` sends); one whose acknowledgement a drop lost is sent again with its
     * key after the reconnect, and stored once.
     * @param {string} room @param {string} text @returns {Promise<Message>}
     */
    say(room: string, text: string): Promise<Message>;
    /** Tells `room` this user is typing (send it at most once a second while they do). @param {string} room */
    typing(room: string): void;
    /** Closes for good (no reconnect); sends still waiting fail with `closed`. */
    close(): void;
    /** @param {import('./sends.js').Send} send */
    transmit(send: import("./sends.js").Send): void;
    /** @param {string} text */
    write(text: string): boolean;
    /** @param {StateChange} change */
    setState(change: StateChange): void;
    open(): Promise<void>;
    /** Any frame proves the connection alive; silence past `silenceMs` (pings come every second) means it is not. */
    heard(): void;
    /** @param {string} text */
    receive(text: string): void;
    /** @param {import('./protocol.js').Welcome} frame */
    welcomed(frame: import("./protocol.js").Welcome): void;
    /** @param {import('./protocol.js').ErrorFrame} frame */
    refused(frame: import("./protocol.js").ErrorFrame): void;
    /** @param {number} expiresAt ms since the epoch */
    scheduleRefresh(expiresAt: number): void;
    refresh(): Promise<void>;
    /** @param {number} code @param {string} reason */
    closed(code: number, reason: string): void;
    /** @param {number} code @param {string} reason */
    retry(code: number, reason: string): void;
    stop(): void;
}
export type Message = import("./protocol.js").Message;
export type ServerFrame = import("./protocol.js").ServerFrame;
export type RoomHandlers = import("./room.js").RoomHandlers;
export type State = "connecting" | "open" | "reconnecting" | "closed";
export type StateChange = {
    state: State;
    code?: number;
    reason?: string;
    retryInMs?: number;
};
export type ClientOptions = {
    getToken?: () => string | Promise<string>;
    WebSocket?: new (url: string) => WebSocket;
    sendsPerSec?: number;
    queueMax?: number;
    silenceMs?: number;
    refreshMarginMs?: number;
    random?: () => number;
};
export type Events = {
    state: StateChange;
    welcome: import("./protocol.js").Welcome;
    error: import("./protocol.js").ErrorFrame;
    rtt: number;
};
import { backoffDelay } from './protocol.js';
import { compareIds } from './protocol.js';
import { PERSONAL_ROOM } from './protocol.js';
import { SendError } from './sends.js';
import { Room } from './room.js';
import { Sends } from './sends.js';
import { Outbox } from './outbox.js';
export { backoffDelay, compareIds, PERSONAL_ROOM, SendError };
