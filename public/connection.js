// @ts-check
// One WebSocket with the ping/pong protocol answered and reconnection after unexpected closes.
// The path and the close codes come from /protocol.js, which the server generates from src/protocol/.
import { CLOSE_CODES, NO_RETRY_CODES, WS_PATH } from './protocol.js';

/** Close codes after which the server asks not to be retried automatically. */
const NO_RETRY = new Set(NO_RETRY_CODES);
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

/**
 * Full jitter: a random wait up to the capped exponential step, so clients do not return in lockstep.
 * @param {number} attempt @param {() => number} [random]
 */
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  return Math.max(BACKOFF_MIN_MS, Math.round(cap * random()));
}

/** ws: on http pages, wss: on https pages, same host, the server's WebSocket path. @param {{ protocol: string, host: string }} location */
export function socketUrl(location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${WS_PATH}`;
}

/**
 * @typedef {{
 *   onState: (state: string, detail?: string) => void,
 *   onPing: (atMs: number) => void,
 *   onMessage: (message: Record<string, unknown>) => void,
 *   onOpen: () => void,
 * }} Handlers
 */

export class Connection {
  /** @param {() => string} url read at every (re)connect, so a fresh token is used @param {Handlers} handlers */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.wanted = false;
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** The last chat message id seen in each room: a rejoin after a reconnect asks for what came after it. */
    this.lastIds = /** @type {Map<string, string>} */ (new Map());
  }

  /**
   * Joins `room` (the single-room shorthand: the server leaves every other room). After a
   * reconnect (resume) the join carries `since`, the last id seen there, and the server replays
   * what was missed (a `history` frame, then the messages) before going live.
   * @param {string} room @param {string} name @param {{ resume?: boolean }} [options]
   */
  join(room, name, { resume = true } = {}) {
    const since = this.since(room, resume);
    return this.send(since ? { type: 'join', room, name, since } : { type: 'join', room, name });
  }

  /**
   * Follows `room` as well as the others, replaying after the last id seen there when resuming.
   * @param {string} room @param {{ resume?: boolean }} [options]
   */
  subscribe(room, { resume = true } = {}) {
    const since = this.since(room, resume);
    return this.send(since ? { type: 'subscribe', room, since } : { type: 'subscribe', room });
  }

  /** @param {string} room */
  unsubscribe(room) {
    return this.send({ type: 'unsubscribe', room });
  }

  /**
   * Where a (re)subscription to `room` resumes. A fresh one forgets the old position: what was
   * said before the user came back is not theirs to replay.
   * @param {string} room @param {boolean} resume
   */
  since(room, resume) {
    if (!resume) this.lastIds.delete(room);
    return resume ? this.lastIds.get(room) : undefined;
  }

  start() {
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'Stopped');
    this.handlers.onState('stopped');
  }

  /** @param {Record<string, unknown>} message */
  send(message) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  open() {
    this.handlers.onState('connecting');
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.handlers.onState('open');
      this.handlers.onOpen();
    });
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      if (event.data === 'ping') {
        socket.send('pong');
        this.handlers.onPing(performance.now());
        return;
      }
      /** @type {Record<string, unknown>} */
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not JSON: nothing this page understands
      }
      if (message.type === 'message' && typeof message.id === 'string' && typeof message.room === 'string') this.lastIds.set(message.room, message.id);
      // Joined or subscribed with nothing seen yet: the room's newest id then is where a rejoin resumes.
      const answer = message.type === 'welcome' || message.type === 'subscribed';
      if (answer && typeof message.last === 'string' && typeof message.room === 'string' && !this.lastIds.has(message.room)) this.lastIds.set(message.room, message.last);
      // No longer followed (by the user or by the server): a later subscribe starts afresh.
      if (message.type === 'unsubscribed' && typeof message.room === 'string') this.lastIds.delete(message.room);
      this.handlers.onMessage(message);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const detail = `${event.code}${event.reason ? ` ${event.reason}` : ''}`;
      if (!this.wanted) return;
      if (event.code === CLOSE_CODES.tokenExpired) {
        // Only a fresh token helps: the page asks for one, then start() rejoins with `since`.
        this.wanted = false;
        this.handlers.onState('expired', detail);
        return;
      }
      if (NO_RETRY.has(event.code)) {
        this.wanted = false;
        this.handlers.onState('closed', detail);
        return;
      }
      const delay = backoffDelay(this.attempt++);
      this.handlers.onState('reconnecting', `${detail}; retry in ${(delay / 1000).toFixed(1)} s`);
      this.retryTimer = setTimeout(() => this.wanted && this.open(), delay);
    });
  }
}
