import { encode, type ChatMessage, type OutboundType } from '../protocol/messages.ts';
import type { Sender } from './sender.ts';
import type { ClientSocket } from './session.ts';

/** This instance's members of each room. */
export interface Rooms {
  /** Moves the socket into `room` (out of the one it is a member of) and tells both rooms their new size. */
  enter(socket: ClientSocket, room: string): void;
  /** Takes the socket out of the room it is a member of, if any, and tells the room. */
  leave(socket: ClientSocket): void;
  /** Writes a published message to every member of its room on this instance. */
  deliver(message: ChatMessage): void;
  /** The room has members on this instance. */
  has(room: string): boolean;
  /** Queues `payload` for every member of `room` on this instance. */
  broadcast(room: string, payload: Buffer, type: OutboundType): void;
  /** Tells this instance's members of `room` its size (counted by the broker over every instance). */
  announce(room: string, members: number): void;
}

/**
 * Presence is coalesced: joins and leaves mark the room, and one flush a short moment later
 * reports each marked room's local size once (to `count`: the broker sums the instances and
 * answers through `announce`). Sent per join, 10k sockets arriving in one room would cost 50
 * million presence frames; coalesced, a burst costs one frame per member per flush.
 */
export const PRESENCE_FLUSH_MS = 50;

/** Receives each changed room's members on this instance at the presence flush (an empty set once it has none). */
export type RoomReport = (room: string, members: ReadonlySet<ClientSocket>) => void;

const NO_MEMBERS: ReadonlySet<ClientSocket> = new Set();

export function createRooms(sender: Sender, report: RoomReport, presenceFlushMs = PRESENCE_FLUSH_MS): Rooms {
  const rooms = new Map<string, Set<ClientSocket>>();
  const changed = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;

  function flushPresence(): void {
    flushTimer = undefined;
    for (const room of changed) report(room, rooms.get(room) ?? NO_MEMBERS);
    changed.clear();
  }

  function presence(room: string): void {
    changed.add(room);
    flushTimer ??= setTimeout(flushPresence, presenceFlushMs).unref();
  }

  function remove(socket: ClientSocket): void {
    const room = socket.session.memberOf;
    if (room === undefined) return;
    socket.session.memberOf = undefined;
    const members = rooms.get(room);
    if (!members?.delete(socket)) return;
    if (members.size === 0) rooms.delete(room);
    presence(room);
  }

  return {
    enter(socket, room) {
      sender.flush(); // messages queued before the move go to the rooms as they were
      remove(socket);
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Set()));
      members.add(socket);
      socket.session.memberOf = room;
      presence(room);
    },
    leave: remove,
    deliver(message) {
      const members = rooms.get(message.room);
      // Encoded once; every member gets the same bytes, the sender's copy being its acknowledgement.
      if (members) sender.broadcast(members, encode({ type: 'message', ...message }), 'message');
    },
    has: (room) => rooms.has(room),
    broadcast(room, payload, type) {
      const members = rooms.get(room);
      if (members) sender.broadcast(members, payload, type);
    },
    announce(room, total) {
      const members = rooms.get(room);
      if (members) sender.sendMany(members, encode({ type: 'presence', room, members: total }), 'presence');
    },
  };
}
