import type { ChatMessage } from './protocol.ts';
import { encode } from './protocol.ts';
import type { Sender } from './sender.ts';
import type { ClientSocket } from './session.ts';

export interface Rooms {
  /** Moves the socket into `room` (out of its current one) and tells both rooms their new size. */
  enter(socket: ClientSocket, room: string): void;
  /** Takes a closed socket out of its room and tells the room. */
  leave(socket: ClientSocket): void;
  /** Writes a published message to every member of its room on this instance. */
  deliver(message: ChatMessage): void;
  members(room: string): number;
  /** Tells this instance's members of `room` its size (counted by the broker over every instance). */
  announce(room: string, members: number): void;
}

/**
 * Presence is coalesced: joins and leaves mark the room, and one flush a short moment later
 * tells each marked room its size once. Sent per join, 10k sockets arriving in one room would
 * cost 50 million presence frames; coalesced, a burst costs one frame per member per flush.
 */
export const PRESENCE_FLUSH_MS = 50;

/**
 * `count`, when given, receives each changed room's local size at the flush instead of the room
 * being told it; the broker sums the instances and answers through `announce`.
 */
export function createRooms(sender: Sender, presenceFlushMs = PRESENCE_FLUSH_MS, count?: (room: string, localMembers: number) => void): Rooms {
  const rooms = new Map<string, Set<ClientSocket>>();
  const changed = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;

  function flushPresence(): void {
    flushTimer = undefined;
    for (const room of changed) {
      const members = rooms.get(room);
      if (count) count(room, members?.size ?? 0);
      else if (members) sender.sendMany(members, encode({ type: 'presence', room, members: members.size }), 'presence');
    }
    changed.clear();
  }

  function presence(room: string): void {
    changed.add(room);
    flushTimer ??= setTimeout(flushPresence, presenceFlushMs).unref();
  }

  function remove(socket: ClientSocket): string | undefined {
    const room = socket.session.room;
    const members = rooms.get(room);
    if (!members?.delete(socket)) return undefined;
    if (members.size === 0) rooms.delete(room);
    return room;
  }

  return {
    enter(socket, room) {
      sender.flush(); // messages queued before the move go to the rooms as they were
      const left = remove(socket);
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Set()));
      members.add(socket);
      socket.session.room = room;
      if (left !== undefined && left !== room) presence(left);
      presence(room);
    },
    leave(socket) {
      const left = remove(socket);
      if (left !== undefined) presence(left);
    },
    deliver(message) {
      const members = rooms.get(message.room);
      if (!members) return;
      // Encoded once; every member gets the same bytes, the sender's copy being its acknowledgement.
      // Queued: the messages of one event-loop turn reach each member in one write.
      sender.broadcast(members, encode({ type: 'message', ...message }), 'message');
    },
    members: (room) => rooms.get(room)?.size ?? 0,
    announce(room, total) {
      const members = rooms.get(room);
      if (members) sender.sendMany(members, encode({ type: 'presence', room, members: total }), 'presence');
    },
  };
}
