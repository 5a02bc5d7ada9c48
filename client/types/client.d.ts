/**
 * @typedef {import('./protocol.js').Message} Message
 * @typedef {import('./protocol.js').ServerFrame} ServerFrame
 * @typedef {import('./room.js').RoomHandlers} RoomHandlers
 * @typedef {import('./options.js').ClientOptions} ClientOptions
 * @typedef {import('./options.js').State} State
 * @typedef {import('./options.js').StateChange} StateChange
 * @typedef {import('./options.js').Events} Events
 */
export class Client {
    /** @param {string} url ws:// or wss:// URL of the server's /ws @param {ClientOptions} [options] */
    constructor(url: string, options?: ClientOptions);
    url: string;
    options: import("./options.js").ClientOptions;
    /** @type {State} */
    state: State;
    /** @type {import('./protocol.js').Welcome | undefined} the user, token expiry, connection id and name */
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
    /** @template {keyof Events} K @param {K} event @param {(value: Events[K]) => void} handler @returns {() => void} removes it */
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
    /** Anonymous mode: the display name from now on, and after every reconnect. @param {string} name */
    rename(name: string): void;
    /** Tells `room` this user is typing (at most once a second while they do). @param {string} room */
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
    /** Any frame proves the connection alive; silence past `silenceMs` (pings come each second) does not. */
    heard(): void;
    /** @param {string} text */
    receive(text: string): void;
    /**
     * The backend subscribed this user to `name` (PUT /api/users/{sub}/rooms/{room}): followed from
     * now, like one the app asked for; the app hears of it on 'subscribed' and attaches handlers
     * there with `subscribe(name, handlers)`, before the room's next frame is read.
     * @param {string} name
     */
    adopt(name: string): void;
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
export type ClientOptions = import("./options.js").ClientOptions;
export type State = import("./options.js").State;
export type StateChange = import("./options.js").StateChange;
export type Events = import("./options.js").Events;
import { Room } from './room.js';
import { Sends } from './sends.js';
import { Outbox } from './outbox.js';
