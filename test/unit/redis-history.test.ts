// The Redis broker's replay rules (src/broker/redis/history.ts), as a pure function: what a
// client that last saw `since` gets back from one atomic read of the room's stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeHistory } from '../../src/broker/redis/history.ts';
import type { HistoryReply, StreamEntry } from '../../src/broker/redis/replies.ts';
import { parseId } from '../../src/protocol/ids.ts';

const entry = (id: string): StreamEntry => ({ id, fields: { from: 'a', text: id, ts: '1' } });
/** Entries after since, newest first, as the script returns them. */
function reply(ids: string[], lastId: string, maxDeletedId?: string): HistoryReply {
  return { exists: true, lastId, maxDeletedId, entries: ids.map(entry).reverse() };
}
const judge = (since: string, r: HistoryReply, size = 3) => judgeHistory(since, parseId(since), r, size);

test('what came after since, oldest first, not truncated when nothing was trimmed past since', () => {
  assert.deepEqual(judge('1-1', reply(['1-2', '1-3'], '1-3', '1-0')), { kind: 'replay', entries: [entry('1-2'), entry('1-3')], truncated: false });
});

test('exactly HISTORY_SIZE came back: all of them, not truncated', () => {
  assert.deepEqual(judge('1-0', reply(['1-1', '1-2', '1-3'], '1-3', '0-0')), { kind: 'replay', entries: [entry('1-1'), entry('1-2'), entry('1-3')], truncated: false });
});

test('one more than HISTORY_SIZE came back: the newest HISTORY_SIZE, truncated', () => {
  const v = judge('1-0', reply(['1-1', '1-2', '1-3', '1-4'], '1-4'));
  assert.deepEqual(v, { kind: 'replay', entries: [entry('1-2'), entry('1-3'), entry('1-4')], truncated: true });
});

test('trimmed past since (Redis 7 reports the highest deleted id): truncated', () => {
  assert.equal(judge('1-1', reply(['1-5'], '1-5', '1-4')).kind, 'replay');
  assert.equal((judge('1-1', reply(['1-5'], '1-5', '1-4')) as { truncated: boolean }).truncated, true);
  assert.equal((judge('1-4', reply(['1-5'], '1-5', '1-4')) as { truncated: boolean }).truncated, false, 'since = the newest trimmed id');
  assert.equal((judge('1-1', reply([], '1-1', '0-0')) as { truncated: boolean }).truncated, false, 'nothing ever deleted');
});

test('a room Redis no longer has: truncated only if the client had seen something', () => {
  const gone: HistoryReply = { exists: false, lastId: '0-0', maxDeletedId: undefined, entries: [] };
  assert.deepEqual(judge('5-0', gone), { kind: 'replay', entries: [], truncated: true });
  assert.deepEqual(judge('0-0', gone), { kind: 'replay', entries: [], truncated: false });
});

test('an id newer than any the stream gave: Redis lost its data, reload', () => {
  assert.deepEqual(judge('9-0', reply([], '5-0')), { kind: 'reload' });
});

test('Redis 6 (no deleted id reported): the caller checks whether the stream is full', () => {
  assert.deepEqual(judge('1-1', reply(['1-2'], '1-2')), { kind: 'replay-unless-full', entries: [entry('1-2')] });
  assert.deepEqual(judge('1-2', reply([], '1-2')), { kind: 'replay', entries: [], truncated: false }, 'nothing missed');
});
