// @ts-check
// The Client: one socket that follows many rooms and carries recovery into the app.
// It answers the heartbeat, reconnects with backoff (not after 1000, 1003, 1008 or 4003; after
// 4001 with a fresh token), resubscribes every room with the last id it saw there so the server
// replays what was missed, refreshes the token before it expires, and keys every `say` so that a
// send whose acknowledgement was lost is retried and stored once. No dependencies.
import { Outbox } from './outbox.js';
import { backoffDelay, CLOSE, NO_RETRY, randomKey } from './protocol.js';
import { Room } from './room.js';
import { SendError, Sends } from './sends.js';

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
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    /** @type {State} */
    this.state = 'connecting';
    /** @type {import('./protocol.js').Welcome | undefined} the user, token expiry, connection id and name */
    this.welcome = undefined;
    /** @type {number | undefined} the last acknowledgement's round trip, ms */
    this.rtt = undefined;
    /** @type {Map<string, Room>} */
    this.rooms = new Map();
    this.sends = new Sends(options.queueMax ?? 100);
    this.outbox = new Outbox(options.sendsPerSec ?? 15, (text) => this.write(text));
    /** @type {{ [K in keyof Events]?: Set<(value: Events[K]) => void> }} */
    this.listeners = {};
    /** @type {WebSocket | undefined} */
    this.socket = undefined;
    this.attempt = 0;
    this.wanted = true;
    /** @type {Record<'retry' | 'refresh' | 'silence', ReturnType<typeof setTimeout> | undefined>} */
    this.timers = { retry: undefined, refresh: undefined, silence: undefined };
    void this.open();
  }

  /** @template {keyof Events} K @param {K} event @param {(value: Events[K]) => void} handler @returns {() => void} removes it */
  on(event, handler) {
    const set = /** @type {Set<(value: Events[K]) => void>} */ (this.listeners[event] ??= /** @type {never} */ (new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** @template {keyof Events} K @param {K} event @param {Events[K]} value */
  emit(event, value) {
    for (const handler of this.listeners[event] ?? []) handler(value);
  }

  /** Follows `room` (`@me`: the user's personal channel), from now, and after every reconnect from the last id seen. @param {string} room @param {RoomHandlers} [handlers] */
  subscribe(room, handlers = {}) {
    const existing = this.rooms.get(room);
    if (existing) {
      existing.handlers = handlers;
      return existing;
    }
    const r = new Room(room, handlers);
    this.rooms.set(room, r);
    if (this.state === 'open') this.outbox.send(r.subscribeFrame());
    return r;
  }

  /** @param {string} room */
  unsubscribe(room) {
    if (!this.rooms.delete(room)) return;
    this.sends.failRoom(room, 'unsubscribed');
    if (this.state === 'open') this.outbox.send({ type: 'unsubscribe', room });
  }

  /**
   * Says `text` in `room` (one this client follows). Resolves with the stored message once it
   * comes back, rejects with a SendError saying why it was refused. Made while reconnecting, it
   * waits (at most `queueMax` sends); one whose acknowledgement a drop lost is sent again with its
   * key after the reconnect, and stored once.
   * @param {string} room @param {string} text @returns {Promise<Message>}
   */
  say(room, text) {
    if (!this.rooms.has(room)) return Promise.reject(new SendError('not_subscribed'));
    if (this.state === 'closed') return Promise.reject(new SendError('closed'));
    const made = this.sends.add(room, text, randomKey());
    if (!made) return Promise.reject(new SendError('queue_full'));
    if (this.rooms.get(room)?.live && this.state === 'open') this.transmit(made.send);
    return made.done;
  }

  /** Anonymous mode: the display name from now on, and after every reconnect. @param {string} name */
  rename(name) {
    this.options.name = name;
    if (this.state === 'open') this.outbox.send({ type: 'name', name });
  }

  /** Tells `room` this user is typing (at most once a second while they do). @param {string} room */
  typing(room) {
    if (this.state === 'open' && this.rooms.get(room)?.live) this.outbox.send({ type: 'typing', room });
  }

  /** Closes for good (no reconnect); sends still waiting fail with `closed`. */
  close() {
    this.wanted = false;
    this.stop();
    this.socket?.close(CLOSE.normal);
    this.setState({ state: 'closed', code: CLOSE.normal, reason: 'closed by the client' });
    this.sends.failAll('closed');
  }

  /** @param {import('./sends.js').Send} send */
  transmit(send) {
    send.sent = true;
    send.sentAt = Date.now();
    this.outbox.send({ type: 'say', room: send.room, text: send.text, key: send.key });
  }

  /** @param {string} text */
  write(text) {
    const s = this.socket;
    if (!s || s.readyState !== 1) return false;
    s.send(text);
    return true;
  }

  /** @param {StateChange} change */
  setState(change) {
    this.state = change.state;
    this.emit('state', change);
  }

  async open() {
    const Impl = this.options.WebSocket ?? globalThis.WebSocket;
    let url = this.url;
    try {
      const token = this.options.getToken ? await this.options.getToken() : undefined;
      if (token) url += `${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
    } catch {
      return this.retry(CLOSE.tryAgainLater, 'no token');
    }
    if (!this.wanted) return;
    const socket = new Impl(url);
    this.socket = socket;
    this.heard();
    socket.addEventListener('message', (event) => {
      if (this.socket === socket && typeof event.data === 'string') this.receive(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket === socket) this.closed(event.code, event.reason);
    });
  }

  /** Any frame proves the connection alive; silence past `silenceMs` (pings come each second) does not. */
  heard() {
    clearTimeout(this.timers.silence);
    this.timers.silence = setTimeout(() => {
      const s = this.socket;
      this.socket = undefined;
      s?.close();
      this.closed(CLOSE.goingAway, 'no ping from the server');
    }, this.options.silenceMs ?? 15_000);
  }

  /** @param {string} text */
  receive(text) {
    this.heard();
    if (text === 'ping') {
      this.outbox.pong();
      return this.emit('ping', Date.now());
    }
    /** @type {ServerFrame} */
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === 'welcome') return this.welcomed(frame);
    if (frame.type === 'refreshed') return this.scheduleRefresh(frame.expiresAt);
    if (frame.type === 'named') {
      this.welcome &&= { ...this.welcome, name: frame.name };
      return this.emit('name', frame.name);
    }
    if (frame.type === 'error') return this.refused(frame);
    const name = 'room' in frame && typeof frame.room === 'string' ? frame.room : undefined;
    if (name !== undefined && frame.type === 'subscribed' && !this.rooms.has(name)) this.adopt(name);
    const room = name === undefined ? undefined : this.rooms.get(name);
    if (!room) return;
    // Without a reason it answers this client's own unsubscribe, and the room was followed again since.
    if (frame.type === 'unsubscribed' && frame.reason === undefined) return;
    if (frame.type === 'unsubscribed') {
      this.rooms.delete(room.name);
      this.sends.failRoom(room.name, 'unsubscribed');
    }
    const event = room.receive(frame);
    // Acknowledged first: the replay's last message may be a send's own copy, which must not be
    // sent again when the room goes live. Even a message the room has seen acknowledges its send:
    // a resent say is answered with the first copy, whose id the replay may already have passed.
    if (frame.type === 'message') {
      const send = this.sends.acknowledge(frame);
      if (send?.sentAt) this.emit('rtt', (this.rtt = Date.now() - send.sentAt));
    }
    if (event === 'live') for (const send of this.sends.waiting(room.name)) if (!send.sent) this.transmit(send);
  }

  /**
   * The backend subscribed this user to `name` (PUT /api/users/{sub}/rooms/{room}): followed from
   * now, like one the app asked for; the app hears of it on 'subscribed' and attaches handlers
   * there with `subscribe(name, handlers)`, before the room's next frame is read.
   * @param {string} name
   */
  adopt(name) {
    const room = new Room(name, {});
    room.subscribeFrame();
    this.rooms.set(name, room);
    this.emit('subscribed', name);
  }

  /** @param {import('./protocol.js').Welcome} frame */
  welcomed(frame) {
    this.welcome = frame;
    this.attempt = 0;
    if (frame.expiresAt !== undefined) this.scheduleRefresh(frame.expiresAt);
    if (this.options.name !== undefined && frame.user === undefined) this.outbox.send({ type: 'name', name: this.options.name });
    this.state = 'open';
    this.emit('state', { state: 'open' });
    this.emit('welcome', frame);
    // After the handlers, which may follow rooms (each asked for once): the server put the socket
    // in its default room, left unless followed, and every room followed is asked for again.
    if (frame.room !== null && !this.rooms.has(frame.room)) this.outbox.send({ type: 'unsubscribe', room: frame.room });
    for (const room of this.rooms.values()) if (!room.asked) this.outbox.send(room.subscribeFrame());
  }

  /** @param {import('./protocol.js').ErrorFrame} frame */
  refused(frame) {
    const room = frame.room === undefined ? undefined : this.rooms.get(frame.room);
    if (frame.reason === 'token_invalid') this.timers.refresh = setTimeout(() => void this.refresh(), 5000);
    else if (room && !room.subscribed) {
      // The subscribe was refused (forbidden, too_many_rooms): the room is not followed.
      this.rooms.delete(room.name);
      this.sends.failRoom(room.name, frame.reason);
      room.handlers.error?.(frame.reason);
    } else if (frame.key !== undefined) this.sends.refuseKey(frame.key, frame.reason);
    // A refusal that names no key (a say without one) is for the oldest send in flight to the room.
    else if (room) this.sends.refuseOldest(room.name, frame.reason);
    this.emit('error', frame);
  }

  /** @param {number} expiresAt ms since the epoch */
  scheduleRefresh(expiresAt) {
    clearTimeout(this.timers.refresh);
    if (!this.options.getToken) return;
    const lifetime = expiresAt - Date.now();
    const margin = this.options.refreshMarginMs ?? Math.min(30_000, lifetime / 3);
    this.timers.refresh = setTimeout(() => void this.refresh(), Math.max(0, lifetime - margin));
  }

  async refresh() {
    try {
      const token = await this.options.getToken?.();
      if (token && this.state === 'open') this.outbox.send({ type: 'refresh', token });
    } catch {
      this.timers.refresh = setTimeout(() => void this.refresh(), 5000);
    }
  }

  /** @param {number} code @param {string} reason */
  closed(code, reason) {
    this.stop();
    this.socket = undefined;
    for (const room of this.rooms.values()) room.disconnected();
    for (const send of this.sends.byKey.values()) send.sent = false;
    if (!this.wanted) return;
    if (NO_RETRY.includes(code) || (code === CLOSE.tokenExpired && !this.options.getToken)) {
      this.wanted = false;
      this.sends.failAll('closed');
      return this.setState({ state: 'closed', code, reason });
    }
    this.retry(code, reason);
  }

  /** @param {number} code @param {string} reason */
  retry(code, reason) {
    // An expired token is not the network: a fresh one at once.
    const wait = code === CLOSE.tokenExpired ? 0 : backoffDelay(this.attempt++, this.options.random);
    this.setState({ state: 'reconnecting', code, reason, retryInMs: wait });
    this.timers.retry = setTimeout(() => void this.open(), wait);
  }

  stop() {
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    this.outbox.clear();
  }
}
