// Following rooms with history. A socket subscribing to a room waits for the broker (to follow
// the room, and with `since` for its history) before it becomes a member; the live messages of
// the room that arrive meanwhile are kept here, per socket and room, then sent after the history
// without repeats or gaps. A socket may follow many rooms at once, each with its own pending
// subscribe; `join` is the single-room shorthand: leave every room, then subscribe to one.
// A replay holds memory for its socket while the broker reads it (the memory budget counts it):
// the size the room's replays have come to before, released once the history is handed to the
// sender (where it counts as output) or the replay ends any other way.
import { WebSocket } from 'ws';
import type { Broker, ChatMessage, History } from '../broker/broker.ts';
import type { Logger } from '../log/logger.ts';
import { CloseCode, CloseReason } from '../protocol/close.ts';
import { compareIdText } from '../protocol/ids.ts';
import { encode, type UnsubscribeReason } from '../protocol/messages.ts';
import { wireRoom } from '../protocol/rooms.ts';
import type { MemoryHolder } from './memory-budget.ts';
import type { ReplayGate } from './replay-gate.ts';
import type { Rooms } from './rooms.ts';
import type { Sender } from './sender.ts';
import type { ClientSocket } from './session.ts';

/** How a finished subscribe is answered: `welcome` for a join (today's single-room protocol), else `subscribed`. */
export type Answer = 'welcome' | 'subscribed';

export interface Subscriptions {
  /**
   * Follows `room` as well as the others (a room already followed: a resubscribe with this
   * `since`). Live messages of the room are buffered from now; once the broker follows the room,
   * the answer, with `since` the history after it, then the buffered messages newer than the last
   * one sent, then membership. Every message after `since` (or, without it, after the answer)
   * arrives once, in id order. With the in-process broker all of this happens before the socket's
   * next message is read. The caller has checked the grant and the cap.
   */
  subscribe(socket: ClientSocket, room: string, since: string | undefined, answer: Answer): Promise<void>;
  /**
   * Stops following `room` (nothing of it is sent after the answer); false when the socket did
   * not follow it. Requests for one room of one socket run in the order they came, so an
   * unsubscribe right after a subscribe is answered after that subscribe's `subscribed`.
   */
  unsubscribe(socket: ClientSocket, room: string, reason?: UnsubscribeReason): Promise<boolean>;
  /** Stops following every room, without a word to the client (a `join` follows). */
  leaveAll(socket: ClientSocket): void;
  /** A message the broker delivered: kept for the sockets still subscribing to its room. */
  heard(message: ChatMessage): void;
}

export interface SubscriptionsOptions {
  broker: Broker;
  rooms: Rooms;
  sender: Sender;
  logger: Logger;
  /** Latest-value rooms (LATEST_ROOMS): every subscribe gets the newest message, with or without `since`. */
  isLatest(room: string): boolean;
  /** Prices replays per socket and bounds them per instance. */
  gate: ReplayGate;
  /**
   * The memory budget (MEMORY_BUDGET_MB): a replay being read holds `gate.expected(room)` for its
   * socket until its history has been sent. Without it nothing is counted (features' own tests).
   */
  memory?: MemoryHolder;
}

interface Pending {
  socket: ClientSocket;
  room: string;
  live: ChatMessage[];
}

export function createSubscriptions(options: SubscriptionsOptions): Subscriptions {
  const { broker, rooms, sender, logger, isLatest, gate, memory } = options;
  /** Pending subscribes by room, for `heard`. */
  const byRoom = new Map<string, Set<Pending>>();
  /** Pending subscribes by socket and room: at most one per (socket, room), the newest. */
  const bySocket = new WeakMap<ClientSocket, Map<string, Pending>>();
  /** The last request queued per socket and room: each runs once the one before it is answered. */
  const queues = new WeakMap<ClientSocket, Map<string, Promise<unknown>>>();

  function serially<T>(socket: ClientSocket, room: string, run: () => Promise<T>): Promise<T> {
    let mine = queues.get(socket);
    if (!mine) queues.set(socket, (mine = new Map()));
    const before = mine.get(room);
    // Nothing queued: at once, as a lone request always ran (with the in-process broker, before
    // the socket's next message is read).
    const result = before ? before.then(run) : run();
    const tail = result.finally(() => {
      if (mine.get(room) === tail) mine.delete(room);
      if (mine.size === 0) queues.delete(socket);
    });
    mine.set(room, tail);
    return result;
  }

  function stop(socket: ClientSocket, room: string): void {
    const mine = bySocket.get(socket);
    const pending = mine?.get(room);
    if (!mine || !pending) return;
    mine.delete(room);
    if (mine.size === 0) bySocket.delete(socket);
    const waiting = byRoom.get(room);
    waiting?.delete(pending);
    if (waiting?.size === 0) byRoom.delete(room);
  }

  function forget(socket: ClientSocket, room: string): void {
    const { session } = socket;
    stop(socket, room);
    rooms.leave(socket, room);
    session.follows.delete(room);
    if (session.current === room) session.current = [...session.follows].at(-1);
  }

  function start(socket: ClientSocket, room: string): Pending {
    const pending: Pending = { socket, room, live: [] };
    let mine = bySocket.get(socket);
    if (!mine) bySocket.set(socket, (mine = new Map()));
    mine.set(room, pending);
    return pending;
  }

  /** From now on the room's live messages are kept for `pending`: called just before the broker is asked. */
  function listen(pending: Pending): void {
    const { room } = pending;
    let waiting = byRoom.get(room);
    if (!waiting) byRoom.set(room, (waiting = new Set()));
    waiting.add(pending);
  }

  /** The newest kept message of a latest-value room (its history after '0' is its one message). */
  async function fetch(room: string, since: string | undefined): Promise<History> {
    if (!isLatest(room)) return broker.history(room, since);
    const newest = await broker.history(room, '0');
    return { ...newest, truncated: false };
  }

  /** Answers the subscribe; returns the bytes of history sent, which the socket's replay budget pays. */
  function finish(socket: ClientSocket, pending: Pending, since: string | undefined, history: History, answer: Answer): number {
    const { session } = socket;
    const { room } = pending;
    const onWire = wireRoom(room);
    const user = session.identity ? { user: session.identity.sub, expiresAt: session.expiresAt } : {};
    const hello = answer === 'welcome' ? encode({ type: 'welcome', id: session.id, room: onWire, name: session.name, ...user, last: history.last }) : encode({ type: 'subscribed', room: onWire, last: history.last });
    sender.sendNow(socket, hello, answer);
    if (since !== undefined) sender.sendNow(socket, encode({ type: 'history', room: onWire, since, truncated: history.truncated, count: history.messages.length }), 'history');
    // Truncated history may come from a broker that lost its data and counts anew (ids below
    // `since`): then the history is all new to the client and only repeats among it are dropped.
    // A latest-value room's newest message is sent whatever `since` says.
    let last: string | undefined = history.truncated || isLatest(room) ? undefined : since;
    let replayed = 0;
    for (const [i, message] of [...history.messages, ...pending.live].entries()) {
      if (last !== undefined && compareIdText(message.id, last) <= 0) continue;
      const frame = encode({ type: 'message', ...message, room: onWire });
      sender.sendNow(socket, frame, 'message');
      if (i < history.messages.length) replayed += frame.length;
      last = message.id;
    }
    rooms.enter(socket, room);
    return replayed;
  }

  async function subscribe(socket: ClientSocket, room: string, since: string | undefined, answer: Answer): Promise<void> {
    const { session } = socket;
    // A resubscribe starts again from its own `since`: out of the members, silently.
    stop(socket, room);
    rooms.leave(socket, room);
    session.follows.delete(room);
    session.follows.add(room);
    session.current = room;
    const pending = start(socket, room);
    const wanted = (): boolean => bySocket.get(socket)?.get(room) === pending && socket.readyState === WebSocket.OPEN;
    // Only a replay waits at the gate; without `since` the broker is asked at once.
    const replays = since !== undefined || isLatest(room);
    const release = replays ? await gate.enter(session, wanted, room) : () => {};
    // Superseded or closed while it waited: never read (whoever superseded it cleaned up).
    if (!release) return;
    // What the read will bring is held from now until it is sent: at most MAX_REPLAYS_IN_FLIGHT
    // replays at a time hold it. Once read, the history goes to the sender in this same turn of
    // the event loop (nothing else runs in between), and there it counts as output.
    const held = replays ? gate.expected(room) : 0;
    memory?.hold(held, socket);
    try {
      listen(pending);
      let history: History;
      try {
        history = await fetch(room, since);
      } catch (err) {
        if (bySocket.get(socket)?.get(room) !== pending) return;
        forget(socket, room);
        logger.warn({ err, connId: session.id, room }, 'history unavailable');
        sender.close(socket, CloseCode.tryAgainLater, CloseReason.historyUnavailable);
        return;
      }
      // Closed, unsubscribed, or subscribed again meanwhile: the newer request decides.
      if (bySocket.get(socket)?.get(room) !== pending) return;
      stop(socket, room);
      if (socket.readyState === WebSocket.OPEN) {
        const replayed = finish(socket, pending, since, history, answer);
        if (replays) {
          gate.charge(session, replayed);
          gate.sized(room, replayed);
        }
      }
    } finally {
      memory?.release(held, socket);
      release();
    }
  }

  function unsubscribe(socket: ClientSocket, room: string, reason: UnsubscribeReason | undefined): boolean {
    if (!socket.session.follows.has(room)) return false;
    forget(socket, room);
    sender.sendNow(socket, encode({ type: 'unsubscribed', room: wireRoom(room), ...(reason ? { reason } : {}) }), 'unsubscribed');
    return true;
  }

  return {
    subscribe: (socket, room, since, answer) => serially(socket, room, () => subscribe(socket, room, since, answer)),
    unsubscribe: (socket, room, reason) => serially(socket, room, () => Promise.resolve(unsubscribe(socket, room, reason))),
    leaveAll(socket) {
      for (const room of [...socket.session.follows]) forget(socket, room);
    },
    heard(message) {
      const waiting = byRoom.get(message.room);
      if (waiting) for (const pending of waiting) pending.live.push(message);
    },
  };
}
