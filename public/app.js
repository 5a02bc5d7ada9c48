// @ts-check
// The demo page, built on the client library as any frontend would be: the library speaks the
// protocol (heartbeat, reconnects with backoff, every room resubscribed from the last id seen,
// token refresh, keyed sends retried once), and this file only turns clicks into its calls and
// shows what it reports. `../client/` is `/client/` in the browser and the repository's client/
// for the type check: the page is checked against the very library it runs.
import { connect, PERSONAL_ROOM, SendError, socketUrl } from '../client/socketship.js';
import { AUTH_REQUIRED, CLOSE_CODES, ROOM_PATTERN_HTML, TEXT_MAX, TYPING_TTL_MS } from './protocol.js';
import { nameField } from './name.js';
import { append, Rooms } from './rooms.js';
import { createStats } from './stats.js';
import { TokenSource } from './token.js';

/** @typedef {import('../client/socketship.js').Client} Client @typedef {import('../client/socketship.js').StateChange} StateChange */
/** @typedef {import('../client/socketship.js').Message} Message */

/** Tell the room this page's user is typing at most this often (the server keeps it for TYPING_TTL_MS). */
const TYPING_EVERY_MS = 1000;

/** @param {string} id */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

const toggle = /** @type {HTMLButtonElement} */ ($('toggle'));
const stateEl = $('state');
const exchange = $('exchange');
const notifications = $('notifications');
const newRoomInput = /** @type {HTMLInputElement} */ ($('new-room'));
const textInput = /** @type {HTMLTextAreaElement} */ ($('text'));
const typingEl = $('typing');
const whoami = $('whoami');
/** @type {ReturnType<typeof setTimeout> | undefined} */
let typingClear;
const rooms = new Rooms({
  list: $('rooms'),
  messages: $('messages'),
  onView(name, room) {
    $('room-label').textContent = name || 'no room';
    $('members').textContent = String(room?.members ?? 0);
    clearTimeout(typingClear);
    typingEl.textContent = '';
  },
});

// The limits are the server's (from /protocol.js), never copies in the HTML: a copied room regex
// once stopped compiling under the `v` flag Chromium uses for `pattern`, and validated nothing.
newRoomInput.pattern = ROOM_PATTERN_HTML;
// maxLength counts UTF-16 units, the server code points: the page errs on the short side.
textInput.maxLength = TEXT_MAX;
$('text-max').textContent = String(TEXT_MAX);
$('notifications-card').hidden = !AUTH_REQUIRED;

const url = socketUrl(window.location);
$('endpoint').textContent = url;

const authForm = /** @type {HTMLFormElement} */ ($('auth'));
const tokenInput = /** @type {HTMLInputElement} */ ($('token'));
authForm.hidden = !AUTH_REQUIRED;
/** @param {string} why */
function askForToken(why) {
  authForm.hidden = false;
  tokenInput.placeholder = why;
}
const tokens = new TokenSource(tokenInput, askForToken);
tokens.fromLink(window.location, window.history);

/** The page's client; a new one after Stop and Start (close() is for good). @type {Client | undefined} */
let client;
/** What the page shows: the library's state, or the page's own 'idle' and 'stopped'. */
let state = 'idle';
const session = { typingSentAt: Number.NEGATIVE_INFINITY, notified: false };
/** The names this page's connections were given: their messages are this user's. */
const myNames = /** @type {Set<string>} */ (new Set());
/** Rooms the user asked to follow: their answer brings them into view. */
const adding = /** @type {Set<string>} */ (new Set());
/** Rooms answered on this connection (a repeated answer says nothing new), and on an earlier one of this client. */
const answered = { now: /** @type {Set<string>} */ (new Set()), before: /** @type {Set<string>} */ (new Set()) };
let firstWelcome = true;

/** @param {number} [at] ms since the epoch */
function clock(at = Date.now()) {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

/** @param {string} text */
function log(text) {
  append(exchange, `${clock()}  ${text}`, 'event');
}
const stats = createStats($);
const chosenName = nameField({ form: /** @type {HTMLFormElement} */ ($('name-form')), input: /** @type {HTMLInputElement} */ ($('name')), hidden: AUTH_REQUIRED, rename: (name) => client?.rename(name) });

/** @param {string} shown @param {string} [detail] */
function showState(shown, detail = '') {
  state = shown;
  stateEl.textContent = detail ? `${shown} (${detail})` : shown;
  stateEl.className = `state state-${shown}`;
  toggle.textContent = shown === 'idle' || shown === 'stopped' || shown === 'closed' ? 'Start' : 'Stop';
}

/** @param {StateChange} change */
function stateChanged({ state: next, code, reason, retryInMs }) {
  let detail = code === undefined ? '' : `${code}${reason ? ` ${reason}` : ''}`;
  if (retryInMs !== undefined) detail += `; retry in ${(retryInMs / 1000).toFixed(1)} s`;
  if (next === 'reconnecting') stats.reconnected();
  if (next === 'open') stats.opened(clock());
  if (next !== 'open') answered.now.clear();
  if (code === CLOSE_CODES.tokenExpired) tokens.expired();
  showState(next, detail);
  log(detail ? `${next}: ${detail}` : next);
}

/** @type {Record<string, (room: string) => string>} */
const REFUSED = {
  forbidden: (room) => `You may not join ${room}.`,
  too_many_rooms: (room) => `You follow too many rooms to add ${room}.`,
  not_subscribed: (room) => `You do not follow ${room}.`,
};

/** @param {Client} c @param {import('../client/protocol.js').Welcome} welcome */
function welcomed(c, welcome) {
  myNames.add(welcome.name);
  whoami.hidden = false;
  // Signed in, the token decides the name; anonymous, the server gives each connection one.
  whoami.textContent = welcome.user === undefined ? `You are ${welcome.name}` : `Signed in as ${welcome.name} (${welcome.user})`;
  // A page following nothing yet follows the room the server put it in, as it always did.
  if (firstWelcome && rooms.names().length === 0 && welcome.room !== null) follow(c, welcome.room, true);
  firstWelcome = false;
}

/** Follows `room` through the library, which keeps it followed across reconnects. @param {Client} c @param {string} room @param {boolean} view */
function follow(c, room, view) {
  if (view) adding.add(room);
  c.subscribe(room, {
    subscribed: () => subscribed(room),
    message: (m) => shown(room, m),
    presence(members) {
      const followed = rooms.get(room);
      if (followed) followed.members = members;
      if (room === rooms.viewed) $('members').textContent = String(members);
    },
    typing: (names, others) => room === rooms.viewed && showTyping(names, others),
    truncated: () => rooms.note(room, 'Some earlier messages are no longer available: history was truncated.', 'event truncated'),
    unsubscribed(reason) {
      rooms.forget(room);
      rooms.note(rooms.viewed, reason === 'server' ? `The server took you out of ${room}.` : `You may no longer follow ${room}.`, 'event');
    },
    error(reason) {
      adding.delete(room);
      rooms.forget(room);
      rooms.note(rooms.viewed, REFUSED[reason]?.(room) ?? `${room}: ${reason}`, 'event');
    },
  });
}

/** @param {string} room */
function subscribed(room) {
  if (answered.now.has(room)) return;
  answered.now.add(room);
  const back = answered.before.has(room);
  answered.before.add(room);
  rooms.ensure(room);
  if (adding.delete(room)) rooms.view(room);
  else rooms.render();
  const name = [...myNames].at(-1) ?? '';
  // Back after a drop: the library asked for what came after the last message seen, which follows.
  rooms.note(room, back ? `Back in ${room}: anything missed follows.` : `You are ${name} in ${room}`, 'event');
}

/** @param {string} room @param {Message} m */
function shown(room, m) {
  const from = m.sender === 'server' ? `[server] ${m.from}` : m.from;
  rooms.arrived(room);
  rooms.note(room, `${clock(m.ts)}  ${from}: ${m.text}`, m.sender === 'server' ? 'server' : myNames.has(m.from) ? 'mine' : 'theirs');
}

/** The `@me` channel: the backend's notifications, in their own panel. @param {Client} c */
function followNotifications(c) {
  c.subscribe(PERSONAL_ROOM, {
    subscribed() {
      if (!session.notified) append(notifications, 'Notifications from the server appear here.', 'event');
      session.notified = true;
    },
    message: (m) => append(notifications, `${clock(m.ts)}  [server] ${m.from}: ${m.text}`, 'server'),
    error: (reason) => append(notifications, `Notifications unavailable (${reason}).`, 'event'),
  });
}

function start() {
  // A new client: nothing it follows has been answered yet, and its first welcome is to come.
  answered.now.clear();
  answered.before.clear();
  firstWelcome = true;
  stats.reset();
  showState('connecting');
  log('connecting');
  const c = connect(url, AUTH_REQUIRED ? { getToken: () => tokens.get(state === 'open') } : { name: chosenName() });
  client = c;
  // Events of a client that was stopped are the past: only the current one speaks.
  c.on('state', (change) => c === client && stateChanged(change));
  c.on('welcome', (welcome) => c === client && welcomed(c, welcome));
  c.on('ping', (at) => c === client && stats.ping(at));
  c.on('name', (name) => c === client && myNames.add(name) && (whoami.textContent = `You are ${name}`));
  c.on('rtt', (ms) => {
    stats.rtt(ms);
    log(`acknowledged in ${ms} ms`);
  });
  c.on('error', (frame) => frame.reason === 'token_invalid' && log('the new token was refused: paste another'));
  // Rooms followed before a Stop are followed again by the new client, from now.
  for (const room of rooms.names()) follow(c, room, false);
  if (AUTH_REQUIRED) followNotifications(c);
}

function stop() {
  const c = client;
  client = undefined;
  tokens.cancel();
  c?.close();
  showState('stopped');
  log('stopped');
}

/** "alice and bob are typing…", without this page's own name. @param {string[]} names @param {number} others */
function showTyping(names, others) {
  const shownNames = names.filter((n) => !myNames.has(n));
  const more = others > 0 ? ` and ${others} more` : '';
  typingEl.textContent = shownNames.length === 0 ? '' : `${shownNames.join(', ')}${more} ${shownNames.length + others === 1 ? 'is' : 'are'} typing…`;
  // The server says when typists stop; should that frame be lost with the connection, clear it anyway.
  clearTimeout(typingClear);
  if (shownNames.length > 0) typingClear = setTimeout(() => (typingEl.textContent = ''), TYPING_TTL_MS * 2);
}

textInput.addEventListener('input', () => {
  const now = performance.now();
  if (!client || !rooms.viewed || !textInput.value || now - session.typingSentAt < TYPING_EVERY_MS) return;
  client.typing(rooms.viewed);
  session.typingSentAt = now;
});

authForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!tokens.current()) return;
  tokenInput.placeholder = 'token set';
  // A connect waiting for a token goes on with this one; a stopped page starts.
  tokens.given();
  if (!client || state === 'closed') start();
});

toggle.addEventListener('click', () => {
  if (toggle.textContent === 'Stop') return stop();
  if (!AUTH_REQUIRED || tokens.current()) return start();
  askForToken('this server needs a token');
  tokenInput.focus();
});

$('add-room').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = newRoomInput.value.trim();
  if (rooms.has(room)) return rooms.view(room);
  if (!client || state === 'closed') return rooms.note(rooms.viewed, 'Not connected: press Start first.', 'event');
  follow(client, room, true);
  newRoomInput.value = '';
});

rooms.list.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button') : null;
  const room = button?.closest('li')?.dataset.room;
  if (!button || room === undefined) return;
  if (!button.classList.contains('room-leave')) return rooms.view(room);
  // The library stops following it at once (offline: the next connection does not follow it again).
  client?.unsubscribe(room);
  rooms.forget(room);
  rooms.note(rooms.viewed, `You left ${room}.`, 'event');
});

// Enter sends; Shift+Enter (or Enter while an input method is composing) stays in the box as a new line.
textInput.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  /** @type {HTMLFormElement} */ ($('say')).requestSubmit();
});

$('say').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textInput.value;
  const room = rooms.viewed;
  if (!text.trim()) return;
  if (!client || state === 'closed') return rooms.note(room, 'Not connected: press Start first.', 'event');
  if (!room) return rooms.note(room, 'Follow a room first.', 'event');
  // The message shows when the server's copy comes back; offline, the library sends it once back.
  if (state !== 'open') rooms.note(room, 'Not connected: sent once back.', 'event');
  client.say(room, text).catch((/** @type {unknown} */ err) => {
    rooms.note(room, `Not sent (${err instanceof SendError ? err.reason : String(err)}): ${text}`, 'event');
  });
  session.typingSentAt = Number.NEGATIVE_INFINITY;
  textInput.value = '';
});
