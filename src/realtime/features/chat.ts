// Chat: `say` publishes a stored message into a room the socket follows. Delivery (and the
// sender's own copy as its acknowledgement) is the core's: every stored publication reaches the
// room's members through rooms.deliver. A `say` with a `key` is idempotent for SAY_DEDUPE_MS: a
// client that lost the acknowledgement in a drop sends it again, and the repeat is answered with
// the first message's copy, to the sender alone, instead of being stored twice.
import { CloseCode, CloseReason } from '../../protocol/close.ts';
import { encode } from '../../protocol/messages.ts';
import { keyField, parsed, roomField, textField, type Parsed } from '../../protocol/parse.ts';
import { isPersonalRoom, wireRoom } from '../../protocol/rooms.ts';
import type { ClientSocket } from '../session.ts';
import { inbound, targetRoom, type Feature, type FeatureDeps } from './feature.ts';

interface Say {
  text: string;
  room: string | undefined;
  key: string | undefined;
}

export function parseSay(fields: Record<string, unknown>): Parsed<Say> {
  const text = textField(fields.text);
  if (!text.ok) return text;
  const room = roomField(fields.room, false);
  if (!room.ok) return room;
  const key = keyField(fields.key);
  if (!key.ok) return key;
  return parsed({ text: text.message, room: room.message, key: key.message });
}

export function createChat(deps: FeatureDeps): Feature {
  const { broker, clock, logger, sender, sayDedupeMs } = deps;

  async function say(socket: ClientSocket, { text, room: wire, key }: Say): Promise<void> {
    const { session } = socket;
    const target = targetRoom(session, wire);
    if ('reason' in target) return deps.deny(socket, target.reason, wire);
    // A personal channel carries what the application's backend sends a user, nothing else.
    if (isPersonalRoom(target.room)) return deps.deny(socket, 'forbidden', wire ?? '@me');
    try {
      const draft = { room: target.room, from: session.name, text, ts: Math.round(clock.now()), ...(key === undefined ? {} : { key }) };
      const { message, suppressed } = await broker.publish(draft, key === undefined ? {} : { idempotency: { key, ttlMs: sayDedupeMs } });
      if (suppressed) sender.sendNow(socket, encode({ type: 'message', ...message, room: wireRoom(message.room) }), 'message');
    } catch (err) {
      logger.error({ err, connId: session.id, room: target.room }, 'publish failed');
      sender.close(socket, CloseCode.tryAgainLater, CloseReason.notDelivered);
    }
  }

  return {
    name: 'chat',
    inbound: { say: inbound(parseSay, (socket, message) => void say(socket, message)) },
  };
}
