// @ts-check
// The wire vocabulary the library speaks: the server's own, copied here so that client/ can be
// copied into any project alone. test/unit/client-protocol.test.ts fails when it drifts from
// src/protocol/ (constants compared, frame types checked both ways by the compiler).

/** The server's WebSocket path. */
export const WS_PATH = '/ws';
/** How a client names its user's personal channel (identity mode). */
export const PERSONAL_ROOM = '@me';

/** The close codes the library acts on. */
export const CLOSE = /** @type {const} */ ({
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  tryAgainLater: 1013,
  pongTimeout: 4000,
  tokenExpired: 4001,
  disconnected: 4003,
});

/** After these the server asks not to be reconnected to (4001 is retried, with a fresh token). */
export const NO_RETRY = /** @type {readonly number[]} */ ([CLOSE.normal, CLOSE.unsupportedData, CLOSE.policyViolation, CLOSE.disconnected]);

/**
 * @typedef {{ id: string, room: string, from: string, text: string, ts: number, sender?: 'server', key?: string }} Message
 * @typedef {{ type: 'welcome', id: string, room: string | null, name: string, user?: string, expiresAt?: number, last?: string }} Welcome
 * @typedef {{ type: 'subscribed', room: string, last: string }} Subscribed
 * @typedef {{ type: 'unsubscribed', room: string, reason?: 'server' | 'forbidden' }} Unsubscribed
 * @typedef {{ type: 'history', room: string, since: string, truncated: boolean, count: number }} HistoryFrame
 * @typedef {{ type: 'presence', room: string, members: number }} Presence
 * @typedef {{ type: 'typing', room: string, names: string[], others: number }} Typing
 * @typedef {{ type: 'refreshed', expiresAt: number }} Refreshed
 * @typedef {{ type: 'named', name: string }} Named
 * @typedef {'forbidden' | 'not_in_room' | 'not_subscribed' | 'too_many_rooms' | 'token_invalid' | 'rejected' | 'hook_unavailable' | 'busy'} ErrorReason
 * @typedef {{ type: 'error', reason: ErrorReason, room?: string, key?: string, detail?: string }} ErrorFrame
 * @typedef {Welcome | Subscribed | Unsubscribed | HistoryFrame | ({ type: 'message' } & Message) | Presence | Typing | Refreshed | Named | ErrorFrame} ServerFrame
 */

const ID = /^(\d{1,20})(?:-(\d{1,20}))?$/;

/**
 * Orders two message ids of one room: the in-process broker counts 1, 2, 3...; Redis gives
 * "<ms>-<seq>". Negative, zero or positive; an id that is not one sorts first.
 * @param {string} a @param {string} b
 */
export function compareIds(a, b) {
  const x = ID.exec(a);
  const y = ID.exec(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  for (const i of [1, 2]) {
    const p = BigInt(x[i] ?? '0');
    const q = BigInt(y[i] ?? '0');
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

/**
 * Full jitter: a random wait up to the capped exponential step (1 s doubling to 30 s), so
 * clients do not all come back in the same second.
 * @param {number} attempt @param {() => number} [random]
 */
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(30_000, 1000 * 2 ** attempt);
  return Math.max(1000, Math.round(cap * random()));
}

/** A fresh idempotency key (1-64 of A-Za-z0-9_-). */
export function randomKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join('');
}
