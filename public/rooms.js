// @ts-check
// The rooms a page follows: each keeps its own log, member count and unread count, and one is in
// view. app.js decides what the server's frames mean; this keeps the outcome and shows it, so a
// room switched back to shows what it said meanwhile.

const MAX_LOG_ITEMS = 50;

/** @param {HTMLElement} list @param {string} text @param {string} [className] */
export function append(list, text, className) {
  const item = document.createElement('li');
  item.textContent = text;
  if (className) item.className = className;
  list.append(item);
  while (list.children.length > MAX_LOG_ITEMS) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
  return item;
}

/** @typedef {{ log: { text: string, className: string }[], unread: number, members: number }} Room */

export class Rooms {
  /**
   * @param {{ list: HTMLElement, messages: HTMLElement, onView: (name: string, room: Room | undefined) => void }} parts
   * `list` the rooms' buttons, `messages` the log in view, `onView` the rest of the page follows a switch.
   */
  constructor({ list, messages, onView }) {
    this.list = list;
    this.messages = messages;
    this.onView = onView;
    /** In the order they came: what the server follows for this socket, as far as the page knows. */
    this.rooms = /** @type {Map<string, Room>} */ (new Map());
    /** The room in view: '' for none. */
    this.viewed = '';
  }

  /** @param {string} name */
  has(name) {
    return this.rooms.has(name);
  }

  /** @param {string} name */
  get(name) {
    return this.rooms.get(name);
  }

  names() {
    return [...this.rooms.keys()];
  }

  /** @param {string} name */
  ensure(name) {
    let room = this.rooms.get(name);
    if (!room) this.rooms.set(name, (room = { log: [], unread: 0, members: 0 }));
    return room;
  }

  clear() {
    this.rooms.clear();
  }

  /**
   * A line of `name`'s log, and on the page when that room is in view. A line for a room not
   * followed (an error about it, or about none) goes on the page as it stands: it has to be seen.
   * @param {string} name @param {string} text @param {string} [className]
   */
  note(name, text, className = '') {
    const room = this.rooms.get(name);
    if (room) {
      room.log.push({ text, className });
      if (room.log.length > MAX_LOG_ITEMS) room.log.shift();
    }
    if (name === this.viewed || !room) append(this.messages, text, className);
  }

  /** A message arrived in `name`: counted until the room is in view. @param {string} name */
  arrived(name) {
    const room = this.rooms.get(name);
    if (!room || name === this.viewed) return;
    room.unread++;
    this.render();
  }

  /** @param {string} name */
  view(name) {
    this.viewed = name;
    const room = this.rooms.get(name);
    if (room) room.unread = 0;
    this.messages.replaceChildren();
    for (const line of room?.log ?? []) append(this.messages, line.text, line.className);
    this.onView(name, room);
    this.render();
  }

  /** The server no longer follows `name` for this socket: out of the list, and out of view. @param {string} name */
  forget(name) {
    if (!this.rooms.delete(name)) return;
    if (this.viewed === name) this.view(this.rooms.keys().next().value ?? '');
    else this.render();
  }

  render() {
    const items = [...this.rooms].map(([name, room]) => {
      const item = document.createElement('li');
      item.dataset.room = name;
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'room-open';
      open.textContent = name;
      if (name === this.viewed) open.setAttribute('aria-current', 'true');
      const unread = document.createElement('span');
      unread.className = 'unread';
      unread.textContent = String(room.unread);
      unread.hidden = room.unread === 0;
      unread.setAttribute('aria-label', `${room.unread} unread`);
      open.append(' ', unread);
      const leave = document.createElement('button');
      leave.type = 'button';
      leave.className = 'room-leave';
      leave.textContent = 'Leave';
      leave.setAttribute('aria-label', `Leave ${name}`);
      item.append(open, leave);
      return item;
    });
    this.list.replaceChildren(...items);
  }
}
