// Chat: `say` publishes a stored message into a room the socket follows. Delivery (and the
// sender's own copy as its acknowledgement) is the core's: every stored publication reaches the
// room's members through rooms.deliver. A `say` with a `key` is idempotent for SAY_DEDUPE_MS: a
// client that lost the acknowledgement in a drop sends it again, and the repeat is answered with
// the first message's copy, to the sender alone, instead of being stored twice.
//
// With the publish hook (PUBLISH_HOOK_URL) the backend judges each say first, and a socket's says
// wait for it in the order they came: each is stored (or refused) only after the one before it,
// so what a socket sent is stored in its order, as without the hook. The wait is bounded: every
// verdict is due PUBLISH_HOOK_TIMEOUT_MS after its say arrived, and the hook admits a bounded
// number of says over all sockets (the rest are refused `busy`, in their turn).
import { CloseCode, CloseReason } from '../../protocol/close.ts';
import type { HookVerdict, PublishHookCheck } from '../../events/publish-hook.ts';
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
  const { broker, clock, logger, sender, sayDedupeMs, publishHook } = deps;
  // Per socket, the last say still waiting for the hook: settles once it is stored or refused.
  const lanes = new WeakMap<ClientSocket, Promise<void>>();

  /** Stores the say: what follows (delivery, the sender's copy) is the core's. */
  async function publish(socket: ClientSocket, room: string, from: string, text: string, key: string | undefined): Promise<void> {
    try {
      const draft = { room, from, text, ts: Math.round(clock.now()), ...(key === undefined ? {} : { key }) };
      const { message, suppressed } = await broker.publish(draft, key === undefined ? {} : { idempotency: { key, ttlMs: sayDedupeMs } });
      if (suppressed) sender.sendNow(socket, encode({ type: 'message', ...message, room: wireRoom(message.room) }), 'message');
      else deps.events?.published({ room, messageId: message.id, from: message.from, text: message.text }, { connId: socket.session.id, sub: socket.session.identity?.sub });
    } catch (err) {
      logger.error({ err, connId: socket.session.id, room }, 'publish failed');
      sender.close(socket, CloseCode.tryAgainLater, CloseReason.notDelivered);
    }
  }

  /**
   * The hook's verdict, then the store or the refusal. A sender that closed meanwhile still has an
   * accepted say stored: it asked for it, and may already be retrying it (with its key) elsewhere;
   * nothing is sent to the closed socket (it is no room's member any more, and the sender writes
   * to open sockets only).
   */
  function judged(socket: ClientSocket, room: string, text: string, key: string | undefined, hook: PublishHookCheck): void {
    const { session } = socket;
    const from = session.name;
    const previous = lanes.get(socket);
    const sub = session.identity?.sub;
    const verdict = hook.check({ room, ...(sub === undefined ? {} : { sub }), connId: session.id, from, text, ...(key === undefined ? {} : { key }) }, previous);
    // Only the store is awaited in order, not its broker round trip: a socket's publishes are
    // issued in order, which is what orders them without the hook too.
    const settle = (v: HookVerdict): void => {
      if (v.publish) return void publish(socket, room, from, v.text, key);
      const refusal = { type: 'error', reason: v.reason, room: wireRoom(room), ...(key === undefined ? {} : { key }), ...(v.detail === undefined ? {} : { detail: v.detail }) } as const;
      sender.sendNow(socket, encode(refusal), 'error');
    };
    // Never rejects, so the next say of the socket always gets its turn.
    const done = (previous ?? Promise.resolve())
      .then(() => verdict)
      .then(settle)
      .catch((err: unknown) => logger.error({ err, connId: session.id, room }, 'say not settled'));
    lanes.set(socket, done);
    void done.then(() => {
      if (lanes.get(socket) === done) lanes.delete(socket);
    });
  }

  function say(socket: ClientSocket, { text, room: wire, key }: Say): void {
    const { session } = socket;
    const target = targetRoom(session, wire);
    if ('reason' in target) return deps.deny(socket, target.reason, wire);
    // A personal channel carries what the application's backend sends a user, nothing else.
    if (isPersonalRoom(target.room)) return deps.deny(socket, 'forbidden', wire ?? '@me');
    if (publishHook) return judged(socket, target.room, text, key, publishHook);
    void publish(socket, target.room, session.name, text, key);
  }

  return {
    name: 'chat',
    inbound: { say: inbound(parseSay, say) },
  };
}
