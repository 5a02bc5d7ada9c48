// @ts-check
// The Socketship client library's entry: `connect(url, options)` makes a Client (client.js) that
// follows many rooms on one socket and carries recovery into the app: reconnect with backoff,
// replay per room, token refresh, sends never lost or doubled. No dependencies; browsers and
// Node 24+ (the global WebSocket, or pass `ws`'s). README's "Client library" says how to use it.
import { Client } from './client.js';

export { Client } from './client.js';
export { backoffDelay, compareIds, PERSONAL_ROOM } from './protocol.js';
export { SendError } from './sends.js';

/**
 * @typedef {import('./options.js').ClientOptions} ClientOptions
 * @typedef {import('./options.js').StateChange} StateChange
 * @typedef {import('./options.js').State} State
 * @typedef {import('./protocol.js').Message} Message
 */

/** Connects to `url` (ws:// or wss://, the server's /ws) and keeps connected until `close()`. @param {string} url @param {ClientOptions} [options] */
export function connect(url, options) {
  return new Client(url, options);
}

/** The server's socket URL for a page it served: wss: on https pages, same host. @param {{ protocol: string, host: string }} location */
export function socketUrl(location) {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}
