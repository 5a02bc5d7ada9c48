// Room membership as the events count it, without Redis (the Redis log keeps the same in Lua,
// redis-scripts.ts): per room, how many sockets each member has in it. A member's first socket in
// makes `member_joined`, its last out `member_left`; the room's first member `occupied`, its last
// `vacated`. Each room event takes the room's next sequence number.

/** Who is a member: a user by its `sub`, or in anonymous mode the connection itself. */
export function memberKey(connId: string, sub: string | undefined): string {
  return sub === undefined ? `c:${connId}` : `u:${sub}`;
}

export interface Membership {
  /** The member's count in the room went 0 -> 1 (`joined`), and the room had no member before (`occupied`). */
  enter(room: string, member: string): { joined: boolean; occupied: boolean };
  /** The member's count went 1 -> 0 (`left`), and it was the room's last (`vacated`). */
  exit(room: string, member: string): { left: boolean; vacated: boolean };
  nextSeq(room: string): number;
  /**
   * Forgets the sequence of a room without members (after its `vacated`): memory stays bounded by
   * the rooms in use, and the room's next occupant starts again at 1 (docs/events.md).
   */
  forgetIfEmpty(room: string): void;
}

export function createMembership(): Membership {
  const rooms = new Map<string, Map<string, number>>();
  const seqs = new Map<string, number>();
  return {
    enter(room, member) {
      let members = rooms.get(room);
      const occupied = !members;
      if (!members) rooms.set(room, (members = new Map()));
      const n = (members.get(member) ?? 0) + 1;
      members.set(member, n);
      return { joined: n === 1, occupied };
    },
    exit(room, member) {
      const members = rooms.get(room);
      const n = members?.get(member);
      if (!members || n === undefined) return { left: false, vacated: false };
      if (n > 1) {
        members.set(member, n - 1);
        return { left: false, vacated: false };
      }
      members.delete(member);
      if (members.size > 0) return { left: true, vacated: false };
      rooms.delete(room);
      return { left: true, vacated: true };
    },
    nextSeq(room) {
      const n = (seqs.get(room) ?? 0) + 1;
      seqs.set(room, n);
      return n;
    },
    forgetIfEmpty(room) {
      if (!rooms.has(room)) seqs.delete(room);
    },
  };
}
