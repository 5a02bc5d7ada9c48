// Everything that comes back from Redis is untrusted input: another program (or an operator
// with redis-cli) may have written to the same keys. These functions are the one place where
// replies become typed values; anything of the wrong shape is dropped, never passed on.
import { isRecord } from '../../protocol/guards.ts';
import { parseId } from '../../protocol/ids.ts';
import { IDEMPOTENCY_KEY_PATTERN } from '../../protocol/limits.ts';
import type { ChatMessage } from '../broker.ts';

/** A stream entry as node-redis returns it: { id, message: { field: value } }. */
export interface StreamEntry {
  id: string;
  fields: Readonly<Record<string, string>>;
}

export interface StreamBatch {
  key: string;
  entries: StreamEntry[];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

function streamId(value: unknown): string | undefined {
  const id = text(value);
  return id !== undefined && parseId(id) ? id : undefined;
}

/** A field map given as an object ({ from: 'a' }) or as a flat array (['from', 'a']). */
function fieldsOf(value: unknown): Record<string, string> | undefined {
  const fields: Record<string, string> = {};
  if (Array.isArray(value)) {
    if (value.length % 2 !== 0) return undefined;
    for (let i = 0; i < value.length; i += 2) {
      const k = text(value[i]);
      const v = text(value[i + 1]);
      if (k === undefined || v === undefined) return undefined;
      fields[k] = v;
    }
    return fields;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const key = text(k);
      const val = text(v);
      if (key === undefined || val === undefined) return undefined;
      fields[key] = val;
    }
    return fields;
  }
  if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) {
      const val = text(v);
      if (val === undefined) return undefined;
      fields[k] = val;
    }
    return fields;
  }
  return undefined;
}

/** One entry: node-redis's { id, message } or the raw [id, [field, value, ...]] of a script. */
export function parseEntry(value: unknown): StreamEntry | undefined {
  if (Array.isArray(value)) {
    const id = streamId(value[0]);
    const fields = fieldsOf(value[1]);
    return id && fields ? { id, fields } : undefined;
  }
  if (isRecord(value)) {
    const id = streamId(value.id);
    const fields = fieldsOf(value.message);
    return id && fields ? { id, fields } : undefined;
  }
  return undefined;
}

/** A list of entries (XRANGE, XREVRANGE); malformed ones are left out. */
export function parseEntries(value: unknown): StreamEntry[] {
  if (!Array.isArray(value)) return [];
  const entries: StreamEntry[] = [];
  for (const item of value) {
    const entry = parseEntry(item);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** XREAD: null on timeout, else one batch per stream with new entries. */
export function parseXRead(value: unknown): StreamBatch[] {
  if (value === null || value === undefined || !Array.isArray(value)) return [];
  const batches: StreamBatch[] = [];
  for (const item of value) {
    if (isRecord(item)) {
      const key = text(item.name);
      if (key !== undefined) batches.push({ key, entries: parseEntries(item.messages) });
    } else if (Array.isArray(item)) {
      const key = text(item[0]);
      if (key !== undefined) batches.push({ key, entries: parseEntries(item[1]) });
    }
  }
  return batches;
}

/** A room channel's push: the entry the publish script stored, and the id of the entry before it ('0-0': none). */
export interface Push {
  prev: string;
  entry: StreamEntry;
}

/** The publish scripts' push, `[prev, id, [field, value, ...]]` in JSON; anything else is not one. */
export function parsePush(message: string): Push | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const prev = streamId(value[0]);
  const entry = parseEntry([value[1], value[2]]);
  return prev !== undefined && entry ? { prev, entry } : undefined;
}

/** The last-ids script's reply: one id, or '' for a stream that is gone, per key asked. */
export function parseLastIds(value: unknown, length: number): string[] | undefined {
  if (!Array.isArray(value) || value.length !== length) return undefined;
  const ids: string[] = [];
  for (const item of value) {
    const id = text(item);
    if (id === undefined || (id !== '' && !parseId(id))) return undefined;
    ids.push(id);
  }
  return ids;
}

/** A chat message from a room stream's entry: from, text and ts fields; anything else is not one. */
export function toChatMessage(room: string, entry: StreamEntry): ChatMessage | undefined {
  const { from, text: body, ts, sender, key } = entry.fields;
  if (from === undefined || body === undefined || ts === undefined || !/^\d{1,16}$/.test(ts)) return undefined;
  return { id: entry.id, room, from, text: body, ts: Number(ts), ...(sender === 'server' ? { sender } : {}), ...(key !== undefined && IDEMPOTENCY_KEY_PATTERN.test(key) ? { key } : {}) };
}

/** The reply of the history script: {0} when the stream does not exist, else {1, last id, max deleted id or '', entries}. */
export interface HistoryReply {
  exists: boolean;
  lastId: string;
  /** Highest id trimmed away (Redis 7+), or undefined when the server does not say (Redis 6). */
  maxDeletedId: string | undefined;
  entries: StreamEntry[];
}

export function parseHistoryReply(value: unknown): HistoryReply | undefined {
  if (!Array.isArray(value)) return undefined;
  const exists = value[0];
  if (exists === 0) return { exists: false, lastId: '0-0', maxDeletedId: undefined, entries: [] };
  if (exists !== 1) return undefined;
  const lastId = streamId(value[1]);
  if (lastId === undefined) return undefined;
  const deleted = text(value[2]);
  return { exists: true, lastId, maxDeletedId: deleted && parseId(deleted) ? deleted : undefined, entries: parseEntries(value[3]) };
}

/** A list of non-negative integers (the presence count script). */
export function parseCounts(value: unknown, length: number): number[] | undefined {
  if (!Array.isArray(value) || value.length !== length) return undefined;
  const counts: number[] = [];
  for (const item of value) {
    const n = typeof item === 'number' ? item : Number(text(item));
    if (!Number.isSafeInteger(n) || n < 0) return undefined;
    counts.push(n);
  }
  return counts;
}

/** A stream id reply (XADD, the publish script). */
export function parseStreamId(value: unknown): string | undefined {
  return streamId(value);
}

/** A number reply (CLIENT ID). */
export function parseInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number(text(value));
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The roster script's reply: {total, [JSON list or false, ...]}; members of the wrong shape are dropped. */
export function parseRosterReply(value: unknown, max: number): { count: number; members: { sub: string; name: string }[]; truncated: boolean } | undefined {
  if (!Array.isArray(value) || value.length !== 2 || !Array.isArray(value[1])) return undefined;
  const count = typeof value[0] === 'number' ? value[0] : Number(text(value[0]));
  if (!Number.isSafeInteger(count) || count < 0) return undefined;
  const members: { sub: string; name: string }[] = [];
  for (const list of value[1] as unknown[]) {
    const json = text(list);
    if (json === undefined) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      continue;
    }
    if (!Array.isArray(parsed)) continue;
    for (const m of parsed) if (isRecord(m) && typeof m.sub === 'string' && typeof m.name === 'string' && members.length < max) members.push({ sub: m.sub, name: m.name });
  }
  return { count, members, truncated: members.length < count };
}

/** The reply of the keyed publish script: {1, id} stored, or {0, id, entry?} a key seen before. */
export function parseKeyedPublishReply(value: unknown): { stored: boolean; id: string; entry: StreamEntry | undefined } | undefined {
  if (!Array.isArray(value)) return undefined;
  const id = parseStreamId(value[1]);
  if (id === undefined || (value[0] !== 0 && value[0] !== 1)) return undefined;
  return { stored: value[0] === 1, id, entry: value[2] === undefined ? undefined : parseEntry(value[2]) };
}
