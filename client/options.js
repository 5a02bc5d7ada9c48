// @ts-check
// What a Client is made with and what it tells: its options (each with its default) and events.

/**
 * @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} State
 * @typedef {{ state: State, code?: number, reason?: string, retryInMs?: number }} StateChange
 * @typedef {{
 *   getToken?: () => string | Promise<string>,
 *   name?: string,
 *   WebSocket?: new (url: string) => WebSocket,
 *   sendsPerSec?: number,
 *   queueMax?: number,
 *   silenceMs?: number,
 *   refreshMarginMs?: number,
 *   random?: () => number,
 * }} ClientOptions
 *   getToken: called before each connect and before the token expires (identity mode);
 *   name: the display name in anonymous mode, taken again after every reconnect (default: the server's);
 *   WebSocket: the implementation (default: the global one; in Node you may pass `ws`'s);
 *   sendsPerSec: frames a second at most, under the server's RATE_LIMIT_PER_SEC (default 15);
 *   queueMax: says waiting for their acknowledgement at most (default 100);
 *   silenceMs: no frame for this long means a dead connection (default 15000; pings come every second);
 *   refreshMarginMs: refresh this long before expiry (default a third of the lifetime, at most 30 s);
 *   random: for the backoff's jitter (default Math.random).
 * @typedef {{
 *   state: StateChange,
 *   welcome: import('./protocol.js').Welcome,
 *   error: import('./protocol.js').ErrorFrame,
 *   rtt: number,
 *   subscribed: string,
 *   ping: number,
 *   name: string,
 * }} Events
 *   subscribed: the backend subscribed the user to this room; attach handlers with subscribe(room, handlers).
 *   name: the server took this display name (anonymous mode, after `name` or `rename`);
 *   ping: the server's heartbeat arrived and was answered with pong (when, ms since the epoch).
 */

export {};
