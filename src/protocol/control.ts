// Control events between instances that name a user (and a room): the server API sends them
// through the broker's control channel, every instance acts on its own sockets of the user. The
// data is JSON text; from Redis it is untrusted, so it is parsed here into a typed value.
import { isRecord } from './guards.ts';
import { ROOM_PATTERN, SUB_MAX } from './limits.ts';
import { isValidSub } from './text.ts';

/** The control kinds of the core features. */
export const CONTROL = {
  /** Close every socket of `sub` with 4003. */
  disconnect: 'disconnect',
  /** Every socket of `sub` follows `room` (a server-side subscribe). */
  subscribe: 'subscribe',
  /** Every socket of `sub` stops following `room`, told `reason: server`. */
  unsubscribe: 'unsubscribe',
} as const;

export interface UserControl {
  sub: string;
  room?: string;
}

export function encodeUserControl(event: UserControl): string {
  return JSON.stringify(event);
}

/** A control event's data, or undefined when it is not a user (and room) of the right shape. */
export function parseUserControl(data: string, withRoom: boolean): UserControl | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.sub !== 'string' || !isValidSub(value.sub, SUB_MAX)) return undefined;
  if (!withRoom) return { sub: value.sub };
  if (typeof value.room !== 'string' || !ROOM_PATTERN.test(value.room)) return undefined;
  return { sub: value.sub, room: value.room };
}
