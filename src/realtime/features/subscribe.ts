// Following rooms: `join` (the single-room shorthand: leave every room, follow one, take a name),
// `subscribe` and `unsubscribe` (many rooms at once, `@me` for the user's personal channel), and
// the server API's subscribe and unsubscribe of a user, acted on by every instance.
import { mayJoin } from '../../auth/identity.ts';
import { CONTROL, parseUserControl } from '../../protocol/control.ts';
import { joinRoomField, nameField, parsed, roomField, sinceField, type Parsed } from '../../protocol/parse.ts';
import { PERSONAL_ROOM } from '../../protocol/rooms.ts';
import type { ClientSocket } from '../session.ts';
import { inbound, roomOf, type Feature, type FeatureDeps } from './feature.ts';

interface Join {
  room: string;
  name: string;
  since: string | undefined;
}

interface Subscribe {
  room: string;
  since: string | undefined;
}

export function parseJoin(fields: Record<string, unknown>): Parsed<Join> {
  const room = joinRoomField(fields.room);
  if (!room.ok) return room;
  const name = nameField(fields.name);
  if (!name.ok) return name;
  const since = sinceField(fields.since);
  if (!since.ok) return since;
  return parsed({ room: room.message, name: name.message, since: since.message });
}

export function parseSubscribe(fields: Record<string, unknown>): Parsed<Subscribe> {
  const room = roomField(fields.room, true);
  if (!room.ok) return room;
  const since = sinceField(fields.since);
  if (!since.ok) return since;
  return parsed({ room: room.message ?? PERSONAL_ROOM, since: since.message });
}

export function parseUnsubscribe(fields: Record<string, unknown>): Parsed<{ room: string }> {
  const room = roomField(fields.room, true);
  return room.ok ? parsed({ room: room.message ?? PERSONAL_ROOM }) : room;
}

export function createSubscribe(deps: FeatureDeps): Feature {
  const { subscriptions, users, logger, maxRooms } = deps;

  /** Past the cap only a room already followed (a resubscribe) may be subscribed. */
  function full(socket: ClientSocket, room: string): boolean {
    const { follows } = socket.session;
    return !follows.has(room) && follows.size >= maxRooms;
  }

  function join(socket: ClientSocket, { room, name, since }: Join): void {
    const { session } = socket;
    if (!mayJoin(session.identity, room)) return deps.deny(socket, 'forbidden', room);
    // With a token, the name is the token's: a join cannot take someone else's.
    if (!session.identity) session.name = name;
    subscriptions.leaveAll(socket);
    void subscriptions.subscribe(socket, room, since, 'welcome');
  }

  function subscribe(socket: ClientSocket, { room: wire, since }: Subscribe): void {
    const { identity } = socket.session;
    const room = roomOf(identity, wire);
    if (room === undefined || (wire !== PERSONAL_ROOM && !mayJoin(identity, room))) return deps.deny(socket, 'forbidden', wire);
    if (full(socket, room)) return deps.deny(socket, 'too_many_rooms', wire);
    void subscriptions.subscribe(socket, room, since, 'subscribed');
  }

  function unsubscribe(socket: ClientSocket, { room: wire }: { room: string }): void {
    const room = roomOf(socket.session.identity, wire);
    if (room === undefined) return deps.deny(socket, 'not_subscribed', wire);
    void subscriptions.unsubscribe(socket, room).then((followed) => {
      if (!followed) deps.deny(socket, 'not_subscribed', wire);
    });
  }

  /** The server API's subscribe: the grant does not apply (the backend decides), the cap does. */
  function serverSubscribe(data: string): void {
    const event = parseUserControl(data, true);
    if (!event?.room) return logger.warn({ kind: CONTROL.subscribe }, 'control event of the wrong shape ignored');
    for (const socket of users.socketsOf(event.sub)) {
      if (full(socket, event.room)) deps.deny(socket, 'too_many_rooms', event.room);
      else void subscriptions.subscribe(socket, event.room, undefined, 'subscribed');
    }
  }

  function serverUnsubscribe(data: string): void {
    const event = parseUserControl(data, true);
    if (!event?.room) return logger.warn({ kind: CONTROL.unsubscribe }, 'control event of the wrong shape ignored');
    for (const socket of users.socketsOf(event.sub)) void subscriptions.unsubscribe(socket, event.room, 'server');
  }

  return {
    name: 'subscribe',
    inbound: {
      join: inbound(parseJoin, join),
      subscribe: inbound(parseSubscribe, subscribe),
      unsubscribe: inbound(parseUnsubscribe, unsubscribe),
    },
    control: { [CONTROL.subscribe]: serverSubscribe, [CONTROL.unsubscribe]: serverUnsubscribe },
  };
}
