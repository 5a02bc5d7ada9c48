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
    constructor(name: string, handlers: RoomHandlers);
    name: string;
    handlers: RoomHandlers;
    /** @type {string | undefined} where a resubscribe resumes */
    since: string | undefined;
    /** @type {string | undefined} the newest id delivered: anything not after it is a repeat */
    seen: string | undefined;
    /** This connection's subscribe was answered. */
    subscribed: boolean;
    /** Answered and replayed: live messages flow, queued sends may go. */
    live: boolean;
    replaying: number;
    askedSince: boolean;
    /** Asked for on this connection. */
    asked: boolean;
    subscribeFrame(): {
        type: string;
        room: string;
        since?: undefined;
    } | {
        type: string;
        room: string;
        since: string;
    };
    disconnected(): void;
    /**
     * @param {import('./protocol.js').ServerFrame} frame
     * @returns {'live' | 'dropped' | undefined} 'live' when the room has just become live
     */
    receive(frame: import("./protocol.js").ServerFrame): "live" | "dropped" | undefined;
    goLive(): "live";
    /** @param {Message & { type: 'message' }} frame */
    message(frame: Message & {
        type: "message";
    }): "live" | "dropped" | undefined;
}
export type Message = import("./protocol.js").Message;
export type RoomHandlers = {
    message?: (message: Message) => void;
    presence?: (members: number) => void;
    typing?: (names: string[], others: number) => void;
    subscribed?: () => void;
    truncated?: (since: string) => void;
    unsubscribed?: (reason: string) => void;
    error?: (reason: string) => void;
};
