// Message ids: the in-process broker counts 1, 2, 3... per room; Redis gives stream ids
// "<milliseconds>-<sequence>". Both compare as the pair (a, b), a plain number n being (n, 0).

export type MessageId = readonly [bigint, bigint];

const ID = /^(\d{1,20})(?:-(\d{1,20}))?$/;

/** The id as a comparable pair, or undefined when it is not an id. */
export function parseId(text: string): MessageId | undefined {
  const match = ID.exec(text);
  if (!match) return undefined;
  return [BigInt(match[1] ?? '0'), BigInt(match[2] ?? '0')];
}

/** Negative, zero or positive as `a` comes before, equals or comes after `b`. */
export function compareIds(a: MessageId, b: MessageId): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

/** Compares two id strings; an unparsable id sorts first. */
export function compareIdText(a: string, b: string): number {
  const x = parseId(a);
  const y = parseId(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  return compareIds(x, y);
}

/** The smallest id after `id` (an inclusive range start that excludes `id`; Redis before 6.2 has no `(`). */
export function nextId(id: MessageId): string {
  const MAX = 18446744073709551615n; // a stream id's sequence is an unsigned 64-bit number
  return id[1] >= MAX ? `${id[0] + 1n}-0` : `${id[0]}-${id[1] + 1n}`;
}
