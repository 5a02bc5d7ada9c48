// Room names as clients write them and as the server keeps them. A client names a room with
// ROOM_PATTERN, or `@me` for its user's personal channel; the server keeps the personal channel
// under `@u:<sub>`. `@` is outside the room alphabet, so no room a client can name collides with
// one, and no client can name another user's channel.

/** How a client names its own user's personal channel. */
export const PERSONAL_ROOM = '@me';

const PERSONAL_PREFIX = '@u:';

/** The room under which the messages addressed to user `sub` are kept and delivered. */
export function personalRoom(sub: string): string {
  return PERSONAL_PREFIX + sub;
}

/** A personal channel (no presence, no typing, nobody says anything into it). */
export function isPersonalRoom(room: string): boolean {
  return room.startsWith(PERSONAL_PREFIX);
}

/** The name a socket sees: `@me` for its personal channel (only its own user follows it), else the room's. */
export function wireRoom(room: string): string {
  return isPersonalRoom(room) ? PERSONAL_ROOM : room;
}

/** A set of room names: exact ones and `prefix-*` patterns (LATEST_ROOMS, a token's `rooms`). */
export interface RoomSet {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

export function inRoomSet(set: RoomSet, room: string): boolean {
  return set.exact.has(room) || set.prefixes.some((prefix) => room.startsWith(prefix));
}
