// The events' Lua scripts: membership, sequence numbers and the events stream change together in
// one atomic call, so no crash between two commands can leave an event made without its state, or
// state without its event. Keys a script builds from the prefix (a room's members, its sequence)
// share the deployment's hash tag, so they live in the same cluster slot as the keys it is given.
import { createHash } from 'node:crypto';
import type { EventsRedis } from './redis-port.ts';

export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Runs the script by its hash, sending the source only when Redis lacks it (a restart, a failover). */
export async function runScript(redis: EventsRedis, s: Script, keys: readonly string[], args: readonly string[]): Promise<unknown> {
  try {
    return await redis.call(['EVALSHA', s.sha, String(keys.length), ...keys, ...args]);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.call(['EVAL', s.source, String(keys.length), ...keys, ...args]);
  }
}

/** Fields per operation in EVENTS_APPLY's ARGV: kind, time, room, connId, sub, then three by kind. */
export const OP_FIELDS = 8;

// Shared by both scripts. ARGV[1..5]: instance, stream maxlen, enabled types (comma-joined),
// key prefix, sequence ttl ms. `emit` adds a room's next sequence number to room events.
const COMMON = `local instance, maxlen, prefix, seqTtl = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local enabled = {}
for t in string.gmatch(ARGV[3], '[^,]+') do enabled[t] = true end
local made = {}
local function emit(stream, etype, ev)
  if not enabled[etype] then return end
  ev.type = etype
  if ev.room then
    -- Kept while the room has members; once it has none it lasts seqTtl, so the keys of rooms
    -- nobody is in any more (a client can name any number of them) are bounded in time.
    local k = prefix .. 'events:seq:' .. ev.room
    ev.seq = redis.call('INCR', k)
    if redis.call('EXISTS', prefix .. 'events:members:' .. ev.room) == 1 then redis.call('PERSIST', k) else redis.call('PEXPIRE', k, seqTtl) end
  end
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'type', etype, 'data', cjson.encode(ev))
  made[#made + 1] = etype
end
local function base(time, inst, connId, sub)
  local ev = { time = time, instance = inst, connId = connId }
  if sub ~= '' then ev.sub = sub end
  return ev
end
local function memberOf(connId, sub)
  if sub == '' then return 'c:' .. connId end
  return 'u:' .. sub
end
-- The member's count in the room goes up; the first socket of a member makes member_joined, the
-- room's first member occupied.
local function enter(stream, time, inst, room, connId, sub)
  local mk = prefix .. 'events:members:' .. room
  if redis.call('HINCRBY', mk, memberOf(connId, sub), 1) ~= 1 then return end
  if redis.call('HLEN', mk) == 1 then
    local ev = base(time, inst, connId, sub); ev.room = room
    emit(stream, 'room.occupied', ev)
  end
  local ev = base(time, inst, connId, sub); ev.room = room
  emit(stream, 'room.member_joined', ev)
end
local function exit(stream, time, inst, room, connId, sub, reason)
  local mk = prefix .. 'events:members:' .. room
  local member = memberOf(connId, sub)
  local n = redis.call('HINCRBY', mk, member, -1)
  if n > 0 then return end
  redis.call('HDEL', mk, member)
  -- Below 0: the room's counts were lost (a Redis without persistence restarted): nothing to report.
  if n < 0 then return end
  local ev = base(time, inst, connId, sub); ev.room = room; ev.reason = reason
  emit(stream, 'room.member_left', ev)
  if redis.call('HLEN', mk) == 0 then
    local v = base(time, inst, connId, sub); v.room = room
    emit(stream, 'room.vacated', v)
  end
end`;

/**
 * This instance's events, in the order they happened. What the instance holds is recorded with
 * them (KEYS[2]: room NUL connection -> sub; KEYS[3]: connection -> sub), for the survivor that
 * reports it gone if it dies (EVENTS_REAP). A leave of something never recorded (its join was
 * dropped while Redis was away) makes nothing. KEYS: stream, held members, held connections.
 * ARGV[6..]: operations of OP_FIELDS each: o(pened), c(losed) code, j(oined), l(eft) reason,
 * p(ublished) messageId from text. Returns the types of the events made.
 */
export const EVENTS_APPLY = script(`${COMMON}
for i = 6, #ARGV, ${OP_FIELDS} do
  local kind, time, room, connId, sub = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if kind == 'o' then
    if redis.call('HSETNX', KEYS[3], connId, sub) == 1 then emit(KEYS[1], 'connection.opened', base(time, instance, connId, sub)) end
  elseif kind == 'c' then
    if redis.call('HDEL', KEYS[3], connId) == 1 then
      local ev = base(time, instance, connId, sub); ev.code = tonumber(ARGV[i + 5]); ev.reason = 'closed'
      emit(KEYS[1], 'connection.closed', ev)
    end
  elseif kind == 'j' then
    if redis.call('HSETNX', KEYS[2], room .. '\\0' .. connId, sub) == 1 then enter(KEYS[1], time, instance, room, connId, sub) end
  elseif kind == 'l' then
    if redis.call('HDEL', KEYS[2], room .. '\\0' .. connId) == 1 then exit(KEYS[1], time, instance, room, connId, sub, ARGV[i + 5]) end
  elseif kind == 'p' then
    local ev = base(time, instance, connId, sub); ev.room = room; ev.messageId = ARGV[i + 5]; ev.from = ARGV[i + 6]
    if ARGV[i + 7] ~= '' then ev.text = ARGV[i + 7] end
    if connId == '' then ev.connId = nil; ev.sender = 'server' end
    emit(KEYS[1], 'message.published', ev)
  end
end
return made`);

/**
 * A dead instance's members and connections reported gone (reason instance_lost), a batch at a
 * time, each exactly once: what is reported is deleted in the same call. A member of the room
 * through another socket (reconnected elsewhere meanwhile) is not reported gone: its count only
 * goes down. Once nothing is left, its lease goes. Its presence and roster are the broker's: they
 * stopped counting when it stopped renewing them (the same lapse) and expire on their own, and an
 * instance that was only paused finds them again. If its lease came back, nothing is done. KEYS: stream, its held members, its held
 * connections, leases. ARGV[6..]: dead
 * instance, time, batch. Returns the types of the events made, false once it is all gone.
 */
export const EVENTS_REAP = script(`${COMMON}
local dead, time, batch = ARGV[6], ARGV[7], tonumber(ARGV[8])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = redis.call('ZSCORE', KEYS[4], dead)
if lease and tonumber(lease) > now then return false end
local done = 0
-- HSCAN from the start each time: what was reported is gone, so it never comes back; a pass may
-- find nothing in a sparse table, so it goes on until the cursor is back at 0.
local function each(key, fn)
  local cursor = '0'
  repeat
    local r = redis.call('HSCAN', key, cursor, 'COUNT', batch)
    cursor = r[1]
    for i = 1, #r[2], 2 do
      redis.call('HDEL', key, r[2][i])
      fn(r[2][i], r[2][i + 1])
      done = done + 1
    end
  until done >= batch or cursor == '0'
end
each(KEYS[2], function(field, sub)
  local sep = string.find(field, '\\0', 1, true)
  exit(KEYS[1], time, dead, string.sub(field, 1, sep - 1), string.sub(field, sep + 1), sub, 'instance_lost')
end)
if done > 0 then return made end
each(KEYS[3], function(connId, sub)
  local ev = base(time, dead, connId, sub); ev.code = 1006; ev.reason = 'instance_lost'
  emit(KEYS[1], 'connection.closed', ev)
end)
if done > 0 then return made end
redis.call('ZREM', KEYS[4], dead)
return false`);

/**
 * Extends this instance's lease: KEYS[1] leases. ARGV: instance, ttl ms, first (1/0). Returns 1
 * when the lease was current (or this is the first), 0 when it had lapsed or was gone: a survivor
 * may have reported this instance gone, so what it holds is told again (EVENTS_APPLY makes events
 * only for what is not recorded, so a retelling repeats nothing). A survivor's next batch finds
 * the lease current and stops, so nothing it reports comes after the retelling.
 */
export const EVENTS_LEASE = script(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local had = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if (had and tonumber(had) > now) or ARGV[3] == '1' then return 1 end
return 0`);

/**
 * One instance whose lease lapsed, with the lock to report it taken by this one for ARGV[2] ms
 * (so exactly one survivor does it), or false. KEYS: leases. ARGV: this instance, lock ms, lock
 * key prefix.
 */
export const EVENTS_CLAIM_DEAD = script(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 10)) do
  if dead ~= ARGV[1] and redis.call('SET', ARGV[3] .. dead, ARGV[1], 'NX', 'PX', ARGV[2]) then return dead end
end
return false`);
