// The Lua scripts: each runs atomically in Redis, with Redis's own clock where time matters.
import { createHash } from 'node:crypto';
import { ErrorReply } from 'redis';
import type { RedisClient } from './connection.ts';

export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Runs the script by its hash, sending the source only the first time a Redis lacks it. */
export async function evalScript(client: RedisClient, s: Script, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await client.evalSha(s.sha, { keys, arguments: args });
  } catch (err) {
    if (err instanceof ErrorReply && err.message.startsWith('NOSCRIPT')) return client.eval(s.source, { keys, arguments: args });
    throw err;
  }
}

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: own hash, instances, events, own roster. ARGV: instance id, ttl ms, replace (1/0), then room, count pairs. */
export const PRESENCE_SET = script(`${NOW_MS}
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
redis.call('PEXPIRE', KEYS[4], ARGV[2])
for i = 4, #ARGV, 2 do
  local n = tonumber(ARGV[i + 1])
  if n > 0 then redis.call('HSET', KEYS[1], ARGV[i], n) else redis.call('HDEL', KEYS[1], ARGV[i]) end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'kind', 'presence', 'room', ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 3600000)
return now`);

/** The member count of each room ARGV[first..] over the live instances (KEYS[instances]), hash keys built from ARGV[prefix]. */
const COUNT = (instances: number, prefix: number, first: number): string => `local ids = redis.call('ZRANGEBYSCORE', KEYS[${instances}], now, '+inf')
local totals = {}
for j = ${first}, #ARGV do totals[j - ${first - 1}] = 0 end
if #ARGV < ${first} then ids = {} end
for _, id in ipairs(ids) do
  local counts = redis.call('HMGET', ARGV[${prefix}] .. id, unpack(ARGV, ${first}))
  for j = 1, #counts do
    if counts[j] then totals[j] = totals[j] + tonumber(counts[j]) end
  end
end
return totals`;

/** KEYS: instances. ARGV: hash key prefix, then rooms. The member count of each room over live instances. */
export const PRESENCE_COUNT = script(`${NOW_MS}
${COUNT(1, 1, 2)}`);

/**
 * The sweep's refresh, one call an instance whatever its number of rooms: its lease extended (its
 * counts, its roster and its place among the live instances), then the counts of its rooms as in
 * PRESENCE_COUNT. KEYS: own hash, instances, own roster. ARGV: instance id, ttl ms, hash key
 * prefix, then rooms.
 */
export const PRESENCE_REFRESH = script(`${NOW_MS}
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 3600000)
${COUNT(2, 3, 4)}`);

/** KEYS: own hash, instances, events, own roster. ARGV: instance id, then rooms. A clean exit: stop counting at once. */
export const PRESENCE_LEAVE = script(`redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 2, #ARGV do redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000, '*', 'kind', 'presence', 'room', ARGV[i]) end
return 1`);

/** KEYS: own roster. ARGV: ttl ms, replace (1/0), then room, JSON list pairs ('' removes the room). */
export const ROSTER_SET = script(`if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

/**
 * KEYS: instances. ARGV: count hash prefix, roster hash prefix, room. The room's member count over
 * live instances, then each live instance's roster of it (a JSON list, or false).
 */
export const ROSTER = script(`${NOW_MS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local total, lists = 0, {}
for _, id in ipairs(ids) do
  local n = redis.call('HGET', ARGV[1] .. id, ARGV[3])
  if n then total = total + tonumber(n) end
  lists[#lists + 1] = redis.call('HGET', ARGV[2] .. id, ARGV[3])
end
return {total, lists}`);

/**
 * KEYS: room stream. ARGV: range end (the id after since), count. Existence, last id, max deleted id
 * and the newest `count` entries after since (newest first), atomically.
 */
export const HISTORY = script(`if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, deleted = '0-0', ''
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
end
return {1, last, deleted, redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', ARGV[2])}`);

/**
 * The one way an entry enters a room's stream (KEYS[1]): appended, the stream's expiry renewed,
 * and the entry pushed on the room's channel with the id of the entry before it, all in the one
 * script call the publisher sends. An instance that follows the room gets every message by that
 * push (one command per message however many instances listen) and, from `prev`, knows when it
 * missed one: it then reads the gap from the stream (feed.ts). `pub` is PUBLISH, or SPUBLISH on a
 * cluster (the channel has the keys' hash tag, so it is in the script's slot).
 */
const APPEND = `local function append(maxlen, ttl, pub, channel, fields)
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  local prev = '0-0'
  if last[1] then prev = last[1][1] end
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', unpack(fields))
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call(pub, channel, cjson.encode({prev, id, fields}))
  return id
end
local function fieldsFrom(first)
  local fields = {}
  for i = first, #ARGV do fields[#fields + 1] = ARGV[i] end
  return fields
end`;

/** KEYS: room stream. ARGV: maxlen, ttl ms, pub, channel, then the entry's field, value pairs. Returns the id. */
export const PUBLISH = script(`${APPEND}
return append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], fieldsFrom(5))`);

/**
 * KEYS: room stream. ARGV: maxlen, ttl ms, pub, channel, publish id, then the entry's field, value
 * pairs (`pid` among them). A retry after an unknown outcome (the connection dropped before the
 * reply): the entry is added only if no recent entry has its publish id; if one has, it was pushed
 * by the attempt that stored it, and only the expiry is renewed.
 */
export const PUBLISH_ONCE = script(`${APPEND}
local recent = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])
for _, e in ipairs(recent) do
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'pid' and f[i + 1] == ARGV[5] then
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return e[1]
    end
  end
end
return append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], fieldsFrom(6))`);

/**
 * A publish with an idempotency key. KEYS: room stream, the room's key hash (key -> id), the
 * room's key expiry set (key scored by when it is forgotten). ARGV: maxlen, stream ttl ms, pub,
 * channel, key, key ttl ms, keys kept per room, then the entry's field, value pairs. A key seen
 * before and not yet expired: {0, its id, its entry if the stream still has it}, nothing written.
 * Else the entry is added and pushed ({1, id}), the key remembered, expired keys dropped, and the
 * oldest past the per-room bound: a flood of distinct keys costs a room a fixed amount. Time is
 * Redis's own, so instances with skewed clocks agree on when a key expires.
 */
export const PUBLISH_KEYED = script(`${APPEND}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('HGET', KEYS[2], ARGV[5])
if prev then
  local untilAt = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[5]) or '0')
  if untilAt > now then
    local e = redis.call('XRANGE', KEYS[1], prev, prev)
    if e[1] then return {0, prev, e[1]} end
    return {0, prev}
  end
end
local id = append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], fieldsFrom(8))
redis.call('HSET', KEYS[2], ARGV[5], id)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[5])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, k in ipairs(expired) do redis.call('HDEL', KEYS[2], k) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[7])
if extra > 0 then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, extra - 1)
  for _, k in ipairs(oldest) do redis.call('HDEL', KEYS[2], k) end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, extra - 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return {1, id}`);

/**
 * KEYS: room streams (one slot: the hash tag). The last id of each, '' for a stream that is gone:
 * the feed's check, once a sweep, that no push went missing at the end of a room's traffic.
 */
export const LAST_IDS = script(`local out = {}
for i = 1, #KEYS do
  local last = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
  if last[1] then out[i] = last[1][1] else out[i] = '' end
end
return out`);
