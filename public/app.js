// @ts-check
import { Connection, socketUrl } from './connection.js';
import { AUTH_REQUIRED, TYPING_TTL_MS } from './protocol.js';

const MAX_LOG_ITEMS = 50;
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
const roomInput = /** @type {HTMLInputElement} */ ($('room'));
const nameInput = /** @type {HTMLInputElement} */ ($('name'));
const textInput = /** @type {HTMLTextAreaElement} */ ($('text'));
const typingEl = $('typing');

const session = { room: 'lobby', name: '', joined: false, pings: 0, lastPingAt: 0, typingSentAt: Number.NEGATIVE_INFINITY };
/** @type {ReturnType<typeof setTimeout> | undefined} */
let typingClear;
/** Messages this page sent and has not yet seen come back: the server's copy is the acknowledgement. */
const pending = /** @type {{ text: string, sentAt: number }[]} */ ([]);

/** @param {HTMLElement} list @param {string} text @param {string} [className] */
function append(list, text, className) {
  const item = document.createElement('li');
  item.textContent = text;
  if (className) item.className = className;
  list.append(item);
  while (list.children.length > MAX_LOG_ITEMS) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
  return item;
}

function clock() {
  return new Date().toLocaleTimeString([], { hour12: false });
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

const connection = new Connection(() => (token ? `${url}?access_token=${encodeURIComponent(token)}` : url), {
  onState(state, detail) {
    stateEl.textContent = detail ? `${state} (${detail})` : state;
    stateEl.className = `state state-${state}`;
    toggle.textContent = state === 'stopped' || state === 'closed' || state === 'expired' ? 'Start' : 'Stop';
    if (state === 'expired') askForToken('token expired: paste a new one');
    if (state !== 'open') append(exchange, `${clock()}  ${state}${detail ? `: ${detail}` : ''}`, 'event');
  },
  onOpen() {
    // After a reconnect, go back to the room this page was in, asking for the messages missed meanwhile.
    if (session.joined || connection.lastIds.has(session.room)) connection.join(session.room, session.name);
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
    switch (message.type) {
      case 'welcome':
        session.room = message.room === null ? '' : String(message.room);
        session.name = String(message.name);
        if (typeof message.user === 'string') {
          // Signed in: the token decides the name.
          $('whoami').hidden = false;
          $('whoami').textContent = `Signed in as ${session.name} (${message.user})`;
          nameInput.disabled = true;
        }
        $('room-label').textContent = session.room;
        roomInput.value = session.room;
        if (!nameInput.value || !session.joined) nameInput.value = session.name;
        append(messages, session.room ? `You are ${session.name} in ${session.room}` : `You are ${session.name}: join a room you may enter`, 'event');
        break;
      case 'history': {
        // The answer to a rejoin: `count` missed messages follow. Truncated: some are gone for good.
        const count = Number(message.count);
        if (message.truncated) append(messages, 'Some earlier messages are no longer available: history was truncated.', 'event truncated');
        else if (count > 0) append(messages, `${count} missed message${count === 1 ? '' : 's'} while reconnecting:`, 'event');
        break;
      }
      case 'presence':
        if (message.room === session.room) $('members').textContent = String(message.members);
        break;
      case 'error':
        append(messages, message.reason === 'forbidden' ? `You may not join ${String(message.room)}.` : 'Join a room first.', 'event');
        break;
      case 'typing':
        if (message.room === session.room && Array.isArray(message.names)) showTyping(message.names.map(String), Number(message.others) || 0);
        break;
      case 'message': {
        const mine = message.from === session.name && pending[0]?.text === message.text;
        if (mine) {
          const sent = pending.shift();
          if (sent) $('rtt').textContent = `${Math.round(performance.now() - sent.sentAt)} ms (chat ack)`;
        }
        const ts = typeof message.ts === 'number' ? new Date(message.ts).toLocaleTimeString([], { hour12: false }) : '';
        const from = message.sender === 'server' ? `[server] ${String(message.from)}` : String(message.from);
        append(messages, `${ts}  ${from}: ${String(message.text)}`, mine ? 'mine' : message.sender === 'server' ? 'server' : 'theirs');
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

textInput.addEventListener('input', () => {
  const now = performance.now();
  if (!textInput.value || now - session.typingSentAt < TYPING_EVERY_MS) return;
  if (connection.send({ type: 'typing' })) session.typingSentAt = now;
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
    messages.replaceChildren();
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
  if (connection.send({ type: 'say', text })) {
    pending.push({ text, sentAt: performance.now() });
    session.typingSentAt = Number.NEGATIVE_INFINITY;
    textInput.value = '';
  } else {
    append(messages, 'Not connected: press Start first.', 'event');
  }
});
