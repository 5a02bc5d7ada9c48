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
}

export function createRooms(sender: Sender): Rooms {
  const rooms = new Map<string, Set<ClientSocket>>();

  function presence(room: string): void {
    const members = rooms.get(room);
    if (!members) return;
    sender.sendMany(members, encode({ type: 'presence', room, members: members.size }), 'presence');
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
      sender.sendMany(members, encode({ type: 'message', ...message }), 'message');
    },
    members: (room) => rooms.get(room)?.size ?? 0,
  };
}
