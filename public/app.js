// @ts-check
import { Connection, socketUrl } from './connection.js';
import { append, Rooms } from './rooms.js';
import { AUTH_REQUIRED, NAME_MAX, PERSONAL_ROOM, ROOM_PATTERN_HTML, TEXT_MAX, TYPING_TTL_MS } from './protocol.js';

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
const messages = $('messages');
const notifications = $('notifications');
const roomInput = /** @type {HTMLInputElement} */ ($('room'));
const newRoomInput = /** @type {HTMLInputElement} */ ($('new-room'));
const nameInput = /** @type {HTMLInputElement} */ ($('name'));
const textInput = /** @type {HTMLTextAreaElement} */ ($('text'));
const typingEl = $('typing');
/** @type {ReturnType<typeof setTimeout> | undefined} */
let typingClear;
const rooms = new Rooms({
  list: $('rooms'),
  messages,
  onView(name, room) {
    $('room-label').textContent = name || 'no room';
    $('members').textContent = String(room?.members ?? 0);
    clearTimeout(typingClear);
    typingEl.textContent = '';
  },
});

// The limits are the server's (from /protocol.js), never copies in the HTML: a copied room regex
// once stopped compiling under the `v` flag Chromium uses for `pattern`, and validated nothing.
for (const input of [roomInput, newRoomInput]) input.pattern = ROOM_PATTERN_HTML;
// maxLength counts UTF-16 units, the server code points: the page errs on the short side.
nameInput.maxLength = NAME_MAX;
nameInput.title = `1–${NAME_MAX} characters, at least one visible; no control or direction-changing characters`;
textInput.maxLength = TEXT_MAX;
$('text-max').textContent = String(TEXT_MAX);
$('notifications-card').hidden = !AUTH_REQUIRED;

const session = { name: '', joined: false, notified: false, pings: 0, lastPingAt: 0, typingSentAt: Number.NEGATIVE_INFINITY };
/** A join on its way, whose `welcome` decides; `fresh` (the Join form): the server leaves every other room. */
let joining = /** @type {{ room: string, fresh: boolean } | null} */ (null);
/** Rooms the user asked to add: their `subscribed` brings them into view (a server-side subscribe does not). */
const adding = /** @type {Set<string>} */ (new Set());
/** Messages this page sent and has not yet seen come back: the server's copy is the acknowledgement. */
const pending = /** @type {{ text: string, sentAt: number }[]} */ ([]);

function clock() {
  return new Date().toLocaleTimeString([], { hour12: false });
}

/** The `@me` channel's lines go to the notifications panel, every other room's to its own log. @param {string} room @param {string} text @param {string} [className] */
function note(room, text, className) {
  if (room === PERSONAL_ROOM) append(notifications, text, className);
  else rooms.note(room, text, className);
}

const url = socketUrl(window.location);
$('endpoint').textContent = url;

// Auth mode: the token comes from the field or from a link's #access_token=..., which is taken
// out of the address bar at once so it is not bookmarked or shared.
const authForm = /** @type {HTMLFormElement} */ ($('auth'));
const tokenInput = /** @type {HTMLInputElement} */ ($('token'));
let token = new URLSearchParams(window.location.hash.slice(1)).get('access_token') ?? '';
if (token) window.history.replaceState(null, '', window.location.pathname + window.location.search);
authForm.hidden = !AUTH_REQUIRED;

/** @param {string} text */
function askForToken(text) {
  authForm.hidden = false;
  tokenInput.placeholder = text;
  tokenInput.focus();
}

/** @type {Record<string, (room: string) => string>} */
const REFUSED = {
  forbidden: (room) => `You may not join ${room}.`,
  too_many_rooms: (room) => `You follow too many rooms to add ${room}.`,
  not_subscribed: (room) => `You do not follow ${room}.`,
};

const connection = new Connection(() => (token ? `${url}?access_token=${encodeURIComponent(token)}` : url), {
  onState(state, detail) {
    stateEl.textContent = detail ? `${state} (${detail})` : state;
    stateEl.className = `state state-${state}`;
    toggle.textContent = state === 'stopped' || state === 'closed' || state === 'expired' ? 'Start' : 'Stop';
    if (state === 'expired') askForToken('token expired: paste a new one');
    if (state !== 'open') append(exchange, `${clock()}  ${state}${detail ? `: ${detail}` : ''}`, 'event');
  },
  onOpen() {
    // After a reconnect, follow every room again from the last id seen in each (each replays what
    // it missed): a join for the room in view, which takes the name back, then the others.
    const followed = rooms.names();
    const home = rooms.has(rooms.viewed) ? rooms.viewed : followed[0];
    joining = home === undefined ? null : { room: home, fresh: false };
    if (home === undefined) return;
    connection.join(home, session.name);
    for (const room of followed) if (room !== home) connection.subscribe(room);
  },
  onPing(at) {
    session.pings++;
    const interval = session.lastPingAt ? Math.round(at - session.lastPingAt) : 0;
    session.lastPingAt = at;
    $('pings').textContent = String(session.pings);
    if (interval) $('interval').textContent = `${interval} ms`;
    append(exchange, `${clock()}  ← ping  → pong  #${session.pings}${interval ? `  (+${interval} ms)` : ''}`, 'ping');
  },
  onMessage(message) {
    const room = typeof message.room === 'string' ? message.room : '';
    switch (message.type) {
      case 'welcome': {
        // The connection's own greeting (the default room) while a rejoin is on its way: the rejoin's answer counts.
        if (joining && room !== joining.room) break;
        const fresh = joining?.fresh === true;
        joining = null;
        session.name = String(message.name);
        if (typeof message.user === 'string') {
          // Signed in: the token decides the name.
          $('whoami').hidden = false;
          $('whoami').textContent = `Signed in as ${session.name} (${message.user})`;
          nameInput.disabled = true;
        }
        // A join from the form leaves every other room, and starts its own log afresh.
        if (fresh) rooms.clear();
        if (room) rooms.ensure(room);
        if (fresh || !rooms.has(rooms.viewed)) rooms.view(room);
        else rooms.render();
        roomInput.value = room;
        if (!nameInput.value || !session.joined) nameInput.value = session.name;
        note(room, room ? `You are ${session.name} in ${room}` : `You are ${session.name}: join a room you may enter`, 'event');
        // A join leaves the personal channel too: follow it (again), from the last notification seen.
        if (AUTH_REQUIRED) connection.subscribe(PERSONAL_ROOM);
        break;
      }
      case 'subscribed': {
        if (room === PERSONAL_ROOM) {
          // Said once: the personal channel is followed again after every join, which leaves it.
          if (!session.notified) note(room, 'Notifications from the server appear here.', 'event');
          session.notified = true;
          break;
        }
        const added = !rooms.has(room);
        rooms.ensure(room);
        if (adding.delete(room)) rooms.view(room);
        else rooms.render();
        if (added) note(room, `Following ${room}`, 'event');
        break;
      }
      case 'unsubscribed':
        if (room === PERSONAL_ROOM) break;
        rooms.forget(room);
        note(rooms.viewed, message.reason === 'server' ? `The server took you out of ${room}.` : message.reason === 'forbidden' ? `You may no longer follow ${room}.` : `You left ${room}.`, 'event');
        break;
      case 'history': {
        // The answer to a rejoin: `count` missed messages follow. Truncated: some are gone for good.
        const count = Number(message.count);
        if (message.truncated) note(room, 'Some earlier messages are no longer available: history was truncated.', 'event truncated');
        else if (count > 0) note(room, `${count} missed message${count === 1 ? '' : 's'} while reconnecting:`, 'event');
        break;
      }
      case 'presence': {
        const followed = rooms.get(room);
        if (followed) followed.members = Number(message.members);
        if (followed && room === rooms.viewed) $('members').textContent = String(message.members);
        break;
      }
      case 'error': {
        if (joining?.room === room) joining = null;
        adding.delete(room);
        // A room the server refused is one it does not follow (after a reconnect a new token may allow fewer).
        if (room && room !== PERSONAL_ROOM) rooms.forget(room);
        note(rooms.viewed, REFUSED[String(message.reason)]?.(room) ?? 'Join a room first.', 'event');
        break;
      }
      case 'typing':
        if (room === rooms.viewed && Array.isArray(message.names)) showTyping(message.names.map(String), Number(message.others) || 0);
        break;
      case 'message': {
        // A room left meanwhile: nothing of it is shown.
        if (room !== PERSONAL_ROOM && !rooms.has(room)) break;
        const mine = message.from === session.name && pending[0]?.text === message.text;
        if (mine) {
          const sent = pending.shift();
          if (sent) $('rtt').textContent = `${Math.round(performance.now() - sent.sentAt)} ms (chat ack)`;
        }
        const ts = typeof message.ts === 'number' ? new Date(message.ts).toLocaleTimeString([], { hour12: false }) : '';
        const from = message.sender === 'server' ? `[server] ${String(message.from)}` : String(message.from);
        rooms.arrived(room);
        note(room, `${ts}  ${from}: ${String(message.text)}`, mine ? 'mine' : message.sender === 'server' ? 'server' : 'theirs');
        break;
      }
    }
  },
});

/** "alice and bob are typing…", without this page's own name. @param {string[]} names @param {number} others */
function showTyping(names, others) {
  const shown = names.filter((n) => n !== session.name);
  const more = others > 0 ? ` and ${others} more` : '';
  typingEl.textContent = shown.length === 0 ? '' : `${shown.join(', ')}${more} ${shown.length + others === 1 ? 'is' : 'are'} typing…`;
  // The server says when typists stop; should that frame be lost with the connection, clear it anyway.
  clearTimeout(typingClear);
  if (shown.length > 0) typingClear = setTimeout(() => (typingEl.textContent = ''), TYPING_TTL_MS * 2);
}

/** A frame for the room in view (the server needs it to be one this socket follows). @param {Record<string, unknown>} frame */
function inView(frame) {
  return rooms.viewed ? { ...frame, room: rooms.viewed } : frame;
}

textInput.addEventListener('input', () => {
  const now = performance.now();
  if (!textInput.value || now - session.typingSentAt < TYPING_EVERY_MS) return;
  if (connection.send(inView({ type: 'typing' }))) session.typingSentAt = now;
});

authForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const fresh = tokenInput.value.trim();
  if (!fresh) return;
  token = fresh;
  tokenInput.value = '';
  tokenInput.placeholder = 'token set';
  // After 4001: back with the new token; the rejoin asks for what was missed (`since`).
  if (toggle.textContent === 'Start') connection.start();
});

toggle.addEventListener('click', () => {
  if (toggle.textContent === 'Start' && AUTH_REQUIRED && !token) return askForToken('this server needs a token');
  if (toggle.textContent === 'Start') {
    session.pings = 0;
    session.lastPingAt = 0;
    connection.start();
  } else {
    connection.stop();
  }
});

$('join').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = roomInput.value.trim();
  const name = nameInput.value.trim();
  if (connection.join(room, name, { resume: false })) {
    session.joined = true;
    session.name = name;
    joining = { room, fresh: true };
  }
});

$('add-room').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = newRoomInput.value.trim();
  if (rooms.has(room)) return rooms.view(room);
  if (!connection.subscribe(room, { resume: false })) return note(rooms.viewed, 'Not connected: press Start first.', 'event');
  adding.add(room);
  newRoomInput.value = '';
});

rooms.list.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button') : null;
  const room = button?.closest('li')?.dataset.room;
  if (!button || room === undefined) return;
  if (!button.classList.contains('room-leave')) return rooms.view(room);
  // Offline, leaving is the page's alone: the next connection just does not follow it again.
  if (!connection.unsubscribe(room)) {
    connection.lastIds.delete(room);
    rooms.forget(room);
  }
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
  if (!text.trim()) return;
  if (connection.send(inView({ type: 'say', text }))) {
    pending.push({ text, sentAt: performance.now() });
    session.typingSentAt = Number.NEGATIVE_INFINITY;
    textInput.value = '';
  } else {
    note(rooms.viewed, 'Not connected: press Start first.', 'event');
  }
});
