// The events' keys in Redis, beside the broker's and under its prefix (so in its hash slot).
import { redisKeys } from '../broker/redis/keys.ts';

export interface EventsKeys {
  /** The events stream: what the backend reads, and the webhooks' queue. */
  stream: string;
  /** Events given up on after WEBHOOK_MAX_ATTEMPTS. */
  deadLetters: string;
  /** Live instances scored by when their lease lapses (Redis time, ms). */
  leases: string;
  /** Prefix of the lock one survivor takes to report a lapsed instance. */
  reapLockPrefix: string;
  /** What the instance holds: room NUL connection id -> sub, and connection id -> sub. */
  heldMembers: string;
  heldConns: string;
}

export function eventsKeys(prefix: string, instance: string): EventsKeys {
  // The broker's check: a prefix without a hash tag would spread these keys over cluster slots.
  redisKeys(prefix);
  return {
    stream: `${prefix}events`,
    deadLetters: `${prefix}events:dead`,
    leases: `${prefix}events:leases`,
    reapLockPrefix: `${prefix}events:reaping:`,
    heldMembers: `${prefix}events:held:${instance}`,
    heldConns: `${prefix}events:conns:${instance}`,
  };
}
