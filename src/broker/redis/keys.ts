// Every key the broker uses, named in one place. All keys of one deployment share a prefix.

export interface RedisKeys {
  /** The stream of a room: its history, id source and delivery log. */
  room(room: string): string;
  /** The room a stream key belongs to, or undefined for any other key. */
  roomOf(key: string): string | undefined;
  /** The stream of presence and typing events every instance reads. */
  readonly events: string;
  /** Sorted set of live instances, scored by when their presence expires. */
  readonly instances: string;
  /** Prefix of each instance's member-count hash (followed by the instance id). */
  readonly instanceHashPrefix: string;
  /** Prefix of each instance's roster hash (room -> JSON list of members; identity mode). */
  readonly rosterHashPrefix: string;
}

export function redisKeys(prefix: string): RedisKeys {
  const roomPrefix = `${prefix}room:`;
  return {
    room: (room) => roomPrefix + room,
    roomOf: (key) => (key.startsWith(roomPrefix) ? key.slice(roomPrefix.length) : undefined),
    events: `${prefix}presence:events`,
    instances: `${prefix}presence:instances`,
    instanceHashPrefix: `${prefix}presence:instance:`,
    rosterHashPrefix: `${prefix}presence:roster:`,
  };
}
