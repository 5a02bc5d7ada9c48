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

/** KEYS: instances. ARGV: hash key prefix, then rooms. The member count of each room over live instances. */
export const PRESENCE_COUNT = script(`${NOW_MS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local totals = {}
for j = 2, #ARGV do totals[j - 1] = 0 end
for _, id in ipairs(ids) do
  local counts = redis.call('HMGET', ARGV[1] .. id, unpack(ARGV, 2))
  for j = 1, #counts do
    if counts[j] then totals[j] = totals[j] + tonumber(counts[j]) end
  end
end
return totals`);

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
 * KEYS: room stream. ARGV: maxlen, publish id, from, text, ts, sender ('' for a user), ttl ms. A retry
 * after an unknown outcome (the connection dropped before the reply): the entry is added only if it
 * is not already there. Either way the stream's expiry is renewed, as on every publish.
 */
export const PUBLISH_ONCE = script(`local recent = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])
for _, e in ipairs(recent) do
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'pid' and f[i + 1] == ARGV[2] then
      redis.call('PEXPIRE', KEYS[1], ARGV[7])
      return e[1]
    end
  end
end
local id
if ARGV[6] ~= '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'from', ARGV[3], 'text', ARGV[4], 'ts', ARGV[5], 'pid', ARGV[2], 'sender', ARGV[6])
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'from', ARGV[3], 'text', ARGV[4], 'ts', ARGV[5], 'pid', ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return id`);

/**
 * A publish with an idempotency key. KEYS: room stream, the room's key hash (key -> id), the
 * room's key expiry set (key scored by when it is forgotten). ARGV: maxlen, publish id, from,
 * text, ts, sender ('' for a user), stream ttl ms, key, key ttl ms, keys kept per room. A key seen
 * before and not yet expired: {0, its id, its entry if the stream still has it}, nothing written.
 * Else the entry is added ({1, id}), the key remembered, expired keys dropped, and the oldest
 * past the per-room bound: a flood of distinct keys costs a room a fixed amount. Time is Redis's
 * own, so instances with skewed clocks agree on when a key expires.
 */
export const PUBLISH_KEYED = script(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('HGET', KEYS[2], ARGV[8])
if prev then
  local untilAt = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[8]) or '0')
  if untilAt > now then
    local e = redis.call('XRANGE', KEYS[1], prev, prev)
    if e[1] then return {0, prev, e[1]} end
    return {0, prev}
  end
end
local id
if ARGV[6] ~= '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'from', ARGV[3], 'text', ARGV[4], 'ts', ARGV[5], 'pid', ARGV[2], 'key', ARGV[8], 'sender', ARGV[6])
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'from', ARGV[3], 'text', ARGV[4], 'ts', ARGV[5], 'pid', ARGV[2], 'key', ARGV[8])
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('HSET', KEYS[2], ARGV[8], id)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[9]), ARGV[8])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, k in ipairs(expired) do redis.call('HDEL', KEYS[2], k) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[10])
if extra > 0 then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, extra - 1)
  for _, k in ipairs(oldest) do redis.call('HDEL', KEYS[2], k) end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, extra - 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[9])
redis.call('PEXPIRE', KEYS[3], ARGV[9])
return {1, id}`);
