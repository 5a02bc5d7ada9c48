// What a client that last saw `since` gets back, decided from one atomic read of the room's
// stream. Pure: the broker does the I/O a verdict asks for.
import { compareIdText, type MessageId } from '../../protocol/ids.ts';
import type { HistoryReply, StreamEntry } from './replies.ts';

export type HistoryVerdict =
  /** Replay `entries`; `truncated` when some after `since` are gone. */
  | { kind: 'replay'; entries: StreamEntry[]; truncated: boolean }
  /** An id newer than any this stream gave: Redis lost its data since. Replay the newest kept, truncated. */
  | { kind: 'reload' }
  /** Redis 6 does not report trimmed ids: truncated if the stream is at its length limit. */
  | { kind: 'replay-unless-full'; entries: StreamEntry[] };

/**
 * `reply` holds the newest `historySize + 1` entries after `since` (newest first): one more than
 * is replayed, so that getting it back says the client missed more than is kept.
 */
export function judgeHistory(since: string, sinceId: MessageId | undefined, reply: HistoryReply, historySize: number): HistoryVerdict {
  const anythingSeen = sinceId !== undefined && (sinceId[0] > 0n || sinceId[1] > 0n);
  const entries = [...reply.entries].reverse();
  // The client saw messages of a room Redis no longer has: they are gone.
  if (!reply.exists) return { kind: 'replay', entries: [], truncated: anythingSeen };
  if (compareIdText(since, reply.lastId) > 0) return { kind: 'reload' };
  if (entries.length > historySize) return { kind: 'replay', entries: entries.slice(entries.length - historySize), truncated: true };
  if (reply.maxDeletedId !== undefined) {
    return { kind: 'replay', entries, truncated: reply.maxDeletedId !== '0-0' && compareIdText(reply.maxDeletedId, since) > 0 };
  }
  if (!anythingSeen || entries.length === 0) return { kind: 'replay', entries, truncated: false };
  return { kind: 'replay-unless-full', entries };
}
