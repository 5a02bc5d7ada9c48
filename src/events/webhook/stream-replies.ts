// Reading the events stream's replies for the Redis outlet. A link may speak RESP2 (maps come as
// flat [key, value, ...] arrays, XREADGROUP as [[stream, entries]]) or RESP3, node-redis's default
// since v5 (maps come as objects, XREADGROUP as { stream: entries }); both read the same here.
/** One entry of the events stream: `type` and `data` as stored, and the event they make. */
export interface StreamEntry {
  id: string;
  type: string;
  data: string;
  /** The event as JSON, `data` with the entry's id; undefined when `data` is no JSON object, so there is nothing to deliver. */
  json: string | undefined;
}

/** A map reply's pairs, whichever protocol carried it. */
function pairsOf(reply: unknown): [string, unknown][] {
  if (reply instanceof Map) return [...reply.entries()].map(([k, v]) => [String(k), v]);
  if (Array.isArray(reply)) {
    const pairs: [string, unknown][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1]]);
    return pairs;
  }
  return typeof reply === 'object' && reply !== null ? Object.entries(reply) : [];
}

/**
 * The entry's id spliced into `data` as text, not parsed and written again: at tens of thousands
 * of events a second the outlet would spend more on JSON than on HTTP. `id` goes first, and is
 * always the entry's: the scripts never write one, and one forged into `data` is replaced. Entries
 * the scripts wrote (cjson objects) are spliced as they are; anything else is parsed, and what is no
 * JSON object is not delivered.
 */
function toJson(id: string, data: string): string | undefined {
  const quoted = JSON.stringify(id);
  // The scripts' output: an object without an `id` key (a text that mentions one takes the slow path).
  if (data.length > 2 && data.startsWith('{') && data.endsWith('}') && !data.includes('"id"')) return `{"id":${quoted},${data.slice(1)}`;
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return JSON.stringify(Object.assign({ id }, parsed, { id }));
  } catch {
    return undefined;
  }
}

/** Entries as `[id, [field, value, ...]]`; the ids of entries trimmed away (no fields) go to `gone`. */
export function parseEntries(reply: unknown, gone: string[]): StreamEntry[] {
  const entries: StreamEntry[] = [];
  for (const item of Array.isArray(reply) ? reply : []) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    const id = item[0];
    if (item[1] === null || item[1] === undefined) {
      gone.push(id);
      continue;
    }
    const fields = new Map(pairsOf(item[1]));
    const data = String(fields.get('data') ?? '');
    entries.push({ id, type: String(fields.get('type') ?? ''), data, json: toJson(id, data) });
  }
  return entries;
}

/** XREADGROUP's entries of every stream in the reply (null when BLOCK ran out). */
export function readEntries(reply: unknown, gone: string[]): StreamEntry[] {
  const streams = Array.isArray(reply) ? reply.map((s: unknown) => (Array.isArray(s) ? s[1] : undefined)) : pairsOf(reply).map(([, entries]) => entries);
  return streams.flatMap((entries) => parseEntries(entries, gone));
}

/** From XINFO GROUPS: the group's lag plus pending, or pending alone where Redis gives no lag. */
export function groupBacklog(reply: unknown, group: string): number | undefined {
  for (const item of Array.isArray(reply) ? reply : []) {
    const info = new Map(pairsOf(item));
    if (String(info.get('name')) !== group) continue;
    const lag = info.get('lag');
    // lag is absent before Redis 7 and null when Redis cannot tell (entries deleted mid-stream).
    return Number(info.get('pending') ?? 0) + (typeof lag === 'number' ? lag : 0);
  }
  return undefined;
}
