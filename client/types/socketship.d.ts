/**
 * @typedef {import('./options.js').ClientOptions} ClientOptions
 * @typedef {import('./options.js').StateChange} StateChange
 * @typedef {import('./options.js').State} State
 * @typedef {import('./protocol.js').Message} Message
 */
/** Connects to `url` (ws:// or wss://, the server's /ws) and keeps connected until `close()`. @param {string} url @param {ClientOptions} [options] */
export function connect(url: string, options?: ClientOptions): Client;
/** The server's socket URL for a page it served: wss: on https pages, same host. @param {{ protocol: string, host: string }} location */
export function socketUrl(location: {
    protocol: string;
    host: string;
}): string;
export { Client } from "./client.js";
export { SendError } from "./sends.js";
export type ClientOptions = import("./options.js").ClientOptions;
export type StateChange = import("./options.js").StateChange;
export type State = import("./options.js").State;
export type Message = import("./protocol.js").Message;
import { Client } from './client.js';
export { backoffDelay, compareIds, PERSONAL_ROOM } from "./protocol.js";
