// Join with history: a socket joining a room waits for the broker (to follow the room, and with
// `since` for its history) before it becomes a member; the live messages of the room that arrive
// meanwhile are kept here, then sent after the history without repeats or gaps.
import { WebSocket } from 'ws';
import type { Broker, ChatMessage, History } from '../broker/broker.ts';
import type { Logger } from '../log/logger.ts';
import { CloseCode } from '../protocol/close.ts';
import { compareIdText } from '../protocol/ids.ts';
import { encode } from '../protocol/messages.ts';
import type { Rooms } from './rooms.ts';
import type { Sender } from './sender.ts';
import type { ClientSocket } from './session.ts';

export interface Joins {
  /**
   * Out of the old room at once, live messages of the new one buffered from now, then (once the
   * broker follows the room) the welcome, with `since` the history after it, then the buffered
   * messages newer than the last one sent, then membership. Every message after `since` (or,
   * without it, after the welcome) arrives once, in id order. With the in-process broker all of
   * this happens before the socket's next message is read.
   */
  join(socket: ClientSocket, room: string, since: string | undefined): Promise<void>;
  /** A message the broker delivered: kept for the sockets still joining its room. */
  heard(message: ChatMessage): void;
  /** The socket closed: any join it has under way is dropped. */
  cancel(socket: ClientSocket): void;
}

interface Joiner {
  socket: ClientSocket;
  room: string;
  live: ChatMessage[];
}

export function createJoins(broker: Broker, rooms: Rooms, sender: Sender, logger: Logger): Joins {
  const joiners = new Map<string, Set<Joiner>>();
  const joining = new WeakMap<ClientSocket, Joiner>();

  function stop(socket: ClientSocket): Joiner | undefined {
    const joiner = joining.get(socket);
    if (!joiner) return undefined;
    joining.delete(socket);
    const waiting = joiners.get(joiner.room);
    waiting?.delete(joiner);
    if (waiting?.size === 0) joiners.delete(joiner.room);
    return joiner;
  }

  function finish(socket: ClientSocket, joiner: Joiner, since: string | undefined, history: History): void {
    const { session } = socket;
    const { room } = joiner;
    const user = session.identity ? { user: session.identity.sub } : {};
    sender.send(socket, encode({ type: 'welcome', id: session.id, room, name: session.name, ...user, last: history.last }), 'welcome');
    if (since !== undefined) sender.send(socket, encode({ type: 'history', room, since, truncated: history.truncated, count: history.messages.length }), 'history');
    // Truncated history may come from a broker that lost its data and counts anew (ids below
    // `since`): then the history is all new to the client and only repeats among it are dropped.
    let last: string | undefined = history.truncated ? undefined : since;
    for (const message of [...history.messages, ...joiner.live]) {
      if (last !== undefined && compareIdText(message.id, last) <= 0) continue;
      sender.send(socket, encode({ type: 'message', ...message }), 'message');
      last = message.id;
    }
    rooms.enter(socket, room);
  }

  return {
    async join(socket, room, since) {
      const { session } = socket;
      stop(socket);
      rooms.leave(socket);
      session.room = room;
      const joiner: Joiner = { socket, room, live: [] };
      joining.set(socket, joiner);
      let waiting = joiners.get(room);
      if (!waiting) joiners.set(room, (waiting = new Set()));
      waiting.add(joiner);
      let history: History;
      try {
        history = await broker.history(room, since);
      } catch (err) {
        if (joining.get(socket) !== joiner) return;
        stop(socket);
        logger.warn({ err, connId: session.id, room }, 'history unavailable');
        sender.close(socket, CloseCode.tryAgainLater, 'History unavailable, try again');
        return;
      }
      // Closed, or another join came in meanwhile: that one decides.
      if (joining.get(socket) !== joiner) return;
      stop(socket);
      if (socket.readyState === WebSocket.OPEN) finish(socket, joiner, since, history);
    },
    heard(message) {
      const waiting = joiners.get(message.room);
      if (waiting) for (const joiner of waiting) joiner.live.push(message);
    },
    cancel(socket) {
      stop(socket);
    },
  };
}
