import { encode, type ChatMessage, type OutboundType } from '../protocol/messages.ts';
import { isPersonalRoom, wireRoom } from '../protocol/rooms.ts';
import type { EventLog } from '../events/log.ts';
import type { Sender } from './sender.ts';
import type { ClientSocket } from './session.ts';

/** This instance's members of each room. A socket is a member of every room it follows whose subscribe has finished. */
export interface Rooms {
  /** Adds the socket to `room`'s members and tells the room its new size. */
  enter(socket: ClientSocket, room: string): void;
  /** Takes the socket out of `room`'s members, if it is one, and tells the room. */
  leave(socket: ClientSocket, room: string): void;
  /** The socket is one of `room`'s members here (not merely subscribing). */
  isMember(socket: ClientSocket, room: string): boolean;
  /** Writes a published message to every member of its room on this instance (at the end of the tick). */
  deliver(message: ChatMessage): void;
  /** The room has members on this instance. */
  has(room: string): boolean;
  /** Queues `payload` for every member of `room` on this instance, written at the end of the tick. */
  sendAtTickEnd(room: string, payload: Buffer, type: OutboundType): void;
  /** Tells this instance's members of `room` its size (counted by the broker over every instance). */
  announce(room: string, members: number): void;
  /** Every (room, member) on this instance, for the backend's events to tell again (redis-log.ts). */
  memberships(): Array<[string, ClientSocket]>;
}

/**
 * Presence is coalesced: joins and leaves mark the room, and one flush a short moment later
 * reports each marked room's local size once (to `report`: the broker sums the instances and
 * answers through `announce`). Sent per join, 10k sockets arriving in one room would cost 50
 * million presence frames; coalesced, a burst costs one frame per member per flush.
 */
export const PRESENCE_FLUSH_MS = 50;

/** Receives each changed room's members on this instance at the presence flush (an empty set once it has none). */
export type RoomReport = (room: string, members: ReadonlySet<ClientSocket>) => void;

const NO_MEMBERS: ReadonlySet<ClientSocket> = new Set();

/** What the backend's events are told of membership: every room but the personal channels (a user's own sockets). */
export type MembershipEvents = Pick<EventLog, 'joined' | 'left'>;

const NO_MEMBERSHIP_EVENTS: MembershipEvents = { joined: () => {}, left: () => {} };

function eventConn(socket: ClientSocket): { connId: string; sub: string | undefined } {
  return { connId: socket.session.id, sub: socket.session.identity?.sub };
}

export function createRooms(sender: Sender, report: RoomReport, presenceFlushMs = PRESENCE_FLUSH_MS, events: MembershipEvents = NO_MEMBERSHIP_EVENTS): Rooms {
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

  return {
    enter(socket, room) {
      sender.flush(); // messages queued before the move go to the members as they were
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Set()));
      if (members.has(socket)) return;
      members.add(socket);
      presence(room);
      if (!isPersonalRoom(room)) events.joined(room, eventConn(socket));
    },
    leave(socket, room) {
      const members = rooms.get(room);
      if (!members?.has(socket)) return;
      sender.flush(); // what was queued for the room before the leave still reaches the socket
      members.delete(socket);
      if (members.size === 0) rooms.delete(room);
      presence(room);
      // A socket that is closing leaves its rooms because it closed; an open one because it asked.
      if (!isPersonalRoom(room)) events.left(room, eventConn(socket), socket.readyState === socket.OPEN ? 'left' : 'closed');
    },
    isMember: (socket, room) => rooms.get(room)?.has(socket) === true,
    deliver(message) {
      const members = rooms.get(message.room);
      // Encoded once; every member gets the same bytes, the sender's copy being its acknowledgement.
      // A personal channel's members are all its own user's sockets: they see it as `@me`.
      if (members) sender.sendAtTickEnd(members, encode({ type: 'message', ...message, room: wireRoom(message.room) }), 'message');
    },
    has: (room) => rooms.has(room),
    sendAtTickEnd(room, payload, type) {
      const members = rooms.get(room);
      if (members) sender.sendAtTickEnd(members, payload, type);
    },
    announce(room, total) {
      const members = rooms.get(room);
      // A personal channel has no presence to show: its members are one user's own sockets.
      if (members && !isPersonalRoom(room)) sender.sendNowToAll(members, encode({ type: 'presence', room, members: total }), 'presence');
    },
    memberships: () => [...rooms].flatMap(([room, members]) => (isPersonalRoom(room) ? [] : [...members].map((socket) => [room, socket] as [string, ClientSocket]))),
  };
}
