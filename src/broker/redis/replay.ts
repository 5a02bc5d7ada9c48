// Replays: what a client that last saw `since` missed in a room, read from the room's stream on
// the history connection. Joins of one room that come together (a reconnect storm after an
// instance died, or a flood of rejoins) share one read: the history script runs once from the
// oldest `since` among them, and each joiner's answer is judged from the entries after its own.
// The newest `size + 1` entries after the oldest `since` hold the newest `size + 1` after any
// later one, so every joiner gets exactly what a read of its own would have given.
import { compareIdText, nextId, parseId, type MessageId } from '../../protocol/ids.ts';
import type { ChatMessage, History } from '../broker.ts';
import type { RedisConnection } from './connection.ts';
import type { RoomFeed } from './feed.ts';
import { judgeHistory } from './history.ts';
import type { RedisKeys } from './keys.ts';
import { parseEntries, parseHistoryReply, toChatMessage, type HistoryReply } from './replies.ts';
import { evalScript, HISTORY } from './scripts.ts';

export interface ReplayOptions {
  conn: RedisConnection;
  keys: RedisKeys;
  feed: RoomFeed;
  historySizeOf(room: string): number;
  /** Entries a room's stream keeps (MAXLEN ~): a Redis 6 stream this long may have trimmed some. */
  retentionOf(room: string): number;
}

interface Joiner {
  since: string;
  sinceId: MessageId | undefined;
  resolve(reply: HistoryReply): void;
  reject(err: unknown): void;
}

export type Replay = (room: string, since: string) => Promise<History>;

export function createReplay(options: ReplayOptions): Replay {
  const { conn, keys, feed, historySizeOf, retentionOf } = options;
  /** Joins waiting for the read of their room that starts at the end of this turn of the event loop. */
  const waiting = new Map<string, Joiner[]>();

  async function read(room: string, joiners: Joiner[]): Promise<void> {
    try {
      await feed.follow(room);
      // The oldest since decides where the shared read starts; one that is not an id reads from the start.
      const ids = joiners.map((j) => j.sinceId);
      const oldest = ids.includes(undefined) ? undefined : ids.reduce((a, b) => (a && b && (a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1])) ? a : b));
      const end = oldest ? nextId(oldest) : '-';
      const reply = parseHistoryReply(await evalScript(conn.history, HISTORY, [keys.room(room)], [end, String(historySizeOf(room) + 1)]));
      if (!reply) throw new Error('unexpected reply to the history script');
      for (const j of joiners) j.resolve(reply);
    } catch (err) {
      for (const j of joiners) j.reject(err);
    }
  }

  function shared(room: string, since: string, sinceId: MessageId | undefined): Promise<HistoryReply> {
    return new Promise((resolve, reject) => {
      let joiners = waiting.get(room);
      if (!joiners) {
        waiting.set(room, (joiners = []));
        setImmediate(() => {
          const all = waiting.get(room) ?? [];
          waiting.delete(room);
          void read(room, all);
        });
      }
      joiners.push({ since, sinceId, resolve, reject });
    });
  }

  return async (room, since) => {
    const sinceId = parseId(since);
    const size = historySizeOf(room);
    const whole = await shared(room, since, sinceId);
    // This joiner's view of the shared read: the entries after its own since (newest first).
    const reply = sinceId ? { ...whole, entries: whole.entries.filter((e) => compareIdText(e.id, since) > 0) } : whole;
    const verdict = judgeHistory(since, sinceId, reply, size);
    let entries = verdict.kind === 'reload' ? [] : verdict.entries;
    let truncated = true;
    if (verdict.kind === 'reload') entries = parseEntries(await conn.history.xRevRange(keys.room(room), '+', '-', { COUNT: size })).reverse();
    else if (verdict.kind === 'replay') truncated = verdict.truncated;
    else truncated = (await conn.history.xLen(keys.room(room))) >= retentionOf(room);
    await feed.delivered(room, entries.at(-1)?.id ?? reply.lastId);
    const messages: ChatMessage[] = [];
    for (const entry of entries) {
      const chat = toChatMessage(room, entry);
      if (chat) messages.push(chat);
    }
    return { messages, truncated, last: entries.at(-1)?.id ?? reply.lastId };
  };
}
