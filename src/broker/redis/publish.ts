// Publishing: an outbox written to Redis in order, a pipelined batch at a time. A message whose
// write failed for sure is retried until PUBLISH timeout; one whose write may have reached Redis
// (the connection dropped before the reply) is retried idempotently and never given up on.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import type { ChatDraft, PublishOptions, PublishResult } from '../broker.ts';
import { IDEMPOTENCY_KEYS_PER_ROOM } from '../../protocol/limits.ts';
import { errorText, surelyNotStored, type RedisConnection } from './connection.ts';
import type { RedisKeys } from './keys.ts';
import { parseKeyedPublishReply, parseStreamId, toChatMessage } from './replies.ts';
import { evalScript, PUBLISH, PUBLISH_KEYED, PUBLISH_ONCE } from './scripts.ts';

const PUBLISH_BATCH = 256;

export interface PublisherOptions {
  conn: RedisConnection;
  keys: RedisKeys;
  instanceId: string;
  /** Entries a room's stream keeps (MAXLEN ~). */
  retentionOf(room: string): number;
  /** A room's stream expires this long after its last message (renewed by every publish). */
  ttlMs: number;
  /** How the publish script pushes each message to the instances that follow its room: SPUBLISH on a cluster. */
  push: 'PUBLISH' | 'SPUBLISH';
  /** A message Redis cannot take within this long is refused. */
  timeoutMs: number;
  logger: Logger;
  metrics: BrokerMetrics;
  /**
   * Makes the reader follow these rooms before their first message is written: else it would
   * start after it, and the sender's own copy (the acknowledgement) would never come.
   */
  follow(rooms: string[]): Promise<void>;
}

export interface Publisher {
  publish(draft: ChatDraft, options?: PublishOptions): Promise<PublishResult>;
  /** Writes what waits (after a reconnect). */
  pump(): void;
  /** Refuses what waited longer than the timeout. */
  expire(): void;
  /** Gives waiting messages until `deadline` (ms since epoch) to be written, then refuses the rest. */
  drain(deadline: number): Promise<void>;
}

interface Outgoing {
  draft: ChatDraft;
  once: PublishOptions['idempotency'];
  /** Publish id: lets a retry find the entry if the first attempt did store it. */
  pid: string;
  queuedAt: number;
  /** The last attempt may have reached Redis: it is retried idempotently and never given up on. */
  uncertain: boolean;
  resolve(result: PublishResult): void;
  reject(err: Error): void;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const { conn, keys, logger, metrics, retentionOf, timeoutMs, ttlMs, instanceId, push } = options;
  let outbox: Outgoing[] = [];
  let pumping = false;
  let published = 0;
  let draining = false;

  function expire(): void {
    const now = performance.now();
    const expired = outbox.filter((o) => !o.uncertain && now - o.queuedAt > timeoutMs);
    if (expired.length === 0) return;
    outbox = outbox.filter((o) => !expired.includes(o));
    for (const o of expired) o.reject(new Error(`redis unavailable for ${timeoutMs} ms: message not stored`));
  }

  /** The entry's fields as the publish scripts take them: field, value pairs. */
  function fieldsOf(o: Outgoing): string[] {
    const { from, text, ts, sender } = o.draft;
    return ['from', from, 'text', text, 'ts', String(ts), 'pid', o.pid, ...(o.once ? ['key', o.once.key] : []), ...(sender ? ['sender', sender] : [])];
  }

  /**
   * With a key, one script checks it and stores; a retry after an unknown outcome finds its own
   * key and is answered as a repeat, so it is idempotent too.
   */
  async function storeKeyed(o: Outgoing, once: NonNullable<Outgoing['once']>, head: string[]): Promise<PublishResult> {
    const { room } = o.draft;
    const args = [...head, once.key, String(once.ttlMs), String(IDEMPOTENCY_KEYS_PER_ROOM), ...fieldsOf(o)];
    const reply = parseKeyedPublishReply(await evalScript(conn.cmd, PUBLISH_KEYED, [keys.room(room), keys.keyIds(room), keys.keyExpiry(room)], args));
    if (!reply) throw new Error('unexpected reply to the keyed publish script');
    // The first message, as stored; if the stream has trimmed it, its id with this draft.
    const first = reply.entry && toChatMessage(room, reply.entry);
    return { message: first ?? { id: reply.id, ...o.draft }, suppressed: !reply.stored };
  }

  /** One script call a message: stored, its room's expiry renewed, pushed to the instances that follow the room. */
  async function store(o: Outgoing): Promise<PublishResult> {
    const { room } = o.draft;
    const head = [String(retentionOf(room)), String(ttlMs), push, keys.channel(room)];
    if (o.once) return storeKeyed(o, o.once, head);
    const reply = o.uncertain
      ? await evalScript(conn.cmd, PUBLISH_ONCE, [keys.room(room)], [...head, o.pid, ...fieldsOf(o)])
      : await evalScript(conn.cmd, PUBLISH, [keys.room(room)], [...head, ...fieldsOf(o)]);
    const id = parseStreamId(reply);
    if (id === undefined) throw new Error('unexpected reply to the publish script');
    return { message: { id, ...o.draft }, suppressed: false };
  }

  async function writeBatch(batch: Outgoing[]): Promise<void> {
    const results = await options.follow([...new Set(batch.map((o) => o.draft.room))]).then(
      () => Promise.allSettled(batch.map(store)),
      (err: unknown) => batch.map(() => ({ status: 'rejected', reason: err }) as const),
    );
    const done = new Set<Outgoing>();
    let failure: unknown;
    results.forEach((result, i) => {
      const o = batch[i];
      if (!o) return;
      if (result.status === 'fulfilled') {
        done.add(o);
        metrics.brokerLatency('publish', performance.now() - o.queuedAt);
        o.resolve(result.value);
      } else {
        failure = result.reason;
        metrics.brokerError('publish');
        if (!surelyNotStored(result.reason)) o.uncertain = true;
      }
    });
    outbox = outbox.filter((o) => !done.has(o));
    if (failure !== undefined) {
      logger.warn({ err: errorText(failure), waiting: outbox.length }, 'redis write failed; retrying');
      expire();
      await sleep(100);
    }
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (outbox.length > 0) {
        if (!conn.isReady()) {
          if (draining) return;
          expire();
          await conn.untilReady(250);
          continue;
        }
        await writeBatch(outbox.slice(0, PUBLISH_BATCH));
      }
    } finally {
      pumping = false;
    }
  }

  return {
    publish(draft, options = {}) {
      if (draining) return Promise.reject(new Error('broker closed'));
      return new Promise<PublishResult>((resolve, reject) => {
        outbox.push({ draft, once: options.idempotency, pid: `${instanceId}-${(published++).toString(36)}`, queuedAt: performance.now(), uncertain: false, resolve, reject });
        void pump();
      });
    },
    pump: () => void pump(),
    expire,
    async drain(deadline) {
      draining = true;
      while (outbox.length > 0 && Date.now() < deadline && conn.isReady()) {
        void pump();
        await sleep(20);
      }
      for (const o of outbox.splice(0)) o.reject(new Error('broker closed'));
    },
  };
}
