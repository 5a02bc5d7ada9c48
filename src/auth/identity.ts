// A verified token's claims become an Identity here, and nowhere else: the claims are untrusted
// until this says what they mean.
import { isRecord } from '../protocol/guards.ts';
import { NAME_MAX, ROOM_PATTERN, ROOM_PREFIX_PATTERN, SUB_MAX } from '../protocol/limits.ts';
import { inRoomSet, type RoomSet } from '../protocol/rooms.ts';
import { isValidName, isValidSub } from '../protocol/text.ts';
import { AuthError } from './errors.ts';

/** Who a socket belongs to, from its token. */
export interface Identity {
  /** The user (`sub`). */
  readonly sub: string;
  /** The display name the server uses (`name`, else `sub`): a join's `name` cannot change it. */
  readonly name: string;
  /** Rooms the user may join (`rooms`): exact names and `prefix-*` patterns; undefined: every room. */
  readonly rooms: RoomGrant | undefined;
  /** When the token expires (ms since the epoch): the socket is closed with 4001 then. */
  readonly expiresAt: number;
}

export type RoomGrant = RoomSet;


function grant(value: unknown): RoomGrant | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 1000) throw new AuthError('token_claims', 'rooms is not a list of room names');
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const item of value) {
    if (typeof item === 'string' && ROOM_PATTERN.test(item)) exact.add(item);
    else if (typeof item === 'string' && ROOM_PREFIX_PATTERN.test(item)) prefixes.push(item.slice(0, -1));
    else throw new AuthError('token_claims', 'rooms holds something that is neither a room name nor a prefix-* pattern');
  }
  return { exact, prefixes };
}

export function identityFromClaims(claims: unknown): Identity {
  if (!isRecord(claims)) throw new AuthError('token_claims', 'claims are not an object');
  const { sub, name, rooms, exp } = claims;
  if (typeof sub !== 'string' || !isValidSub(sub, SUB_MAX)) throw new AuthError('token_claims', 'sub is missing or not a plain string');
  if (typeof exp !== 'number') throw new AuthError('token_claims', 'exp is missing or not a number');
  let display: string;
  if (name === undefined) display = isValidName(sub, NAME_MAX) ? sub : `user-${sub.slice(-8)}`;
  else if (typeof name === 'string' && isValidName(name, NAME_MAX)) display = name;
  else throw new AuthError('token_claims', `name is not a display name of 1-${NAME_MAX} printable characters`);
  return { sub, name: display, rooms: grant(rooms), expiresAt: exp * 1000 };
}

/** The identity may join `room`. */
export function mayJoin(identity: Identity | undefined, room: string): boolean {
  const rooms = identity?.rooms;
  return rooms === undefined || inRoomSet(rooms, room);
}
