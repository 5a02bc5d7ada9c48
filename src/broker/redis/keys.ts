// Every key the broker uses, named in one place. All keys of one deployment share a prefix, and
// the prefix carries a hash tag (`{socketship}:`): Redis Cluster, and Azure Managed Redis with
// either clustering policy, put every key whose tag is the same in the same hash slot (and every
// shard channel: a script may push only on a channel of its own slot). The broker's multi-key
// commands and its Lua scripts (an instance's hash, the instances set and the events stream
// together; the count script even builds hash keys from the prefix) would otherwise be refused
// with CROSSSLOT. The price:
// one deployment's keys all live on one shard, so clustering adds availability, not throughput.

export const DEFAULT_KEY_PREFIX = '{socketship}:';

export interface RedisKeys {
  /** The stream of a room: its history, id source and delivery log. */
  room(room: string): string;
  /** The room a stream key belongs to, or undefined for any other key. */
  roomOf(key: string): string | undefined;
  /** The channel a room's messages are pushed on (PUBLISH, or SPUBLISH on a cluster), with their ids. */
  channel(room: string): string;
  /** The room a channel belongs to, or undefined for any other channel. */
  roomOfChannel(channel: string): string | undefined;
  /** A room's idempotency keys: key -> id of the message it stored. */
  keyIds(room: string): string;
  /** A room's idempotency keys scored by when each is forgotten (ms, Redis time). */
  keyExpiry(room: string): string;
  /** The stream of presence and typing events every instance reads. */
  readonly events: string;
  /** Sorted set of live instances, scored by when their presence expires. */
  readonly instances: string;
  /** Prefix of each instance's member-count hash (followed by the instance id). */
  readonly instanceHashPrefix: string;
  /** Prefix of each instance's roster hash (room -> JSON list of members; identity mode). */
  readonly rosterHashPrefix: string;
}

/**
 * The hash tag Redis Cluster takes from a key: the text between the first `{` and the next `}`,
 * when that is not empty (the cluster specification's rule). Undefined when the key has none.
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

export function redisKeys(prefix: string = DEFAULT_KEY_PREFIX): RedisKeys {
  // Whatever follows the prefix (room names are user input) must never decide the slot.
  if (hashTagOf(prefix) === undefined) throw new Error(`redis key prefix ${JSON.stringify(prefix)} has no hash tag like {name}: keys used together would land in different cluster slots`);
  const roomPrefix = `${prefix}room:`;
  const channelPrefix = `${prefix}live:`;
  return {
    room: (room) => roomPrefix + room,
    roomOf: (key) => (key.startsWith(roomPrefix) ? key.slice(roomPrefix.length) : undefined),
    channel: (room) => channelPrefix + room,
    roomOfChannel: (channel) => (channel.startsWith(channelPrefix) ? channel.slice(channelPrefix.length) : undefined),
    keyIds: (room) => `${prefix}once:${room}`,
    keyExpiry: (room) => `${prefix}once-until:${room}`,
    events: `${prefix}presence:events`,
    instances: `${prefix}presence:instances`,
    instanceHashPrefix: `${prefix}presence:instance:`,
    rosterHashPrefix: `${prefix}presence:roster:`,
  };
}
