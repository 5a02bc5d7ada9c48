// Who is in each room, for the server API (identity mode only): each instance writes its own
// members of a room as a JSON list in its roster hash, which expires with its presence (the
// presence scripts refresh and delete it), so a crashed instance's members vanish with its counts.
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import { ROSTER_MAX } from '../../protocol/limits.ts';
import type { Member, Roster } from '../broker.ts';
import { errorText, type RedisConnection } from './connection.ts';
import type { RedisKeys } from './keys.ts';
import { parseRosterReply } from './replies.ts';
import { evalScript, ROSTER } from './scripts.ts';
import { timed } from './timed.ts';

export interface Rosters {
  set(room: string, members: readonly Member[]): void;
  /** Writes every local roster again (after a reconnect). */
  rewrite(): Promise<void>;
  get(room: string): Promise<Roster>;
}

export function createRosters(conn: RedisConnection, keys: RedisKeys, instanceId: string, ttlMs: number, logger: Logger, metrics: BrokerMetrics): Rosters {
  const own = keys.rosterHashPrefix + instanceId;
  const local = new Map<string, string>();

  async function write(room: string): Promise<void> {
    const json = local.get(room);
    if (json === undefined) await conn.cmd.hDel(own, room);
    else await conn.cmd.multi().hSet(own, room, json).pExpire(own, ttlMs).exec();
  }

  return {
    set(room, members) {
      if (members.length > 0) local.set(room, JSON.stringify(members.slice(0, ROSTER_MAX)));
      else local.delete(room);
      if (!conn.cmd.isReady) return; // written whole on reconnect
      void timed(metrics, 'presence', write(room)).catch((err: unknown) => logger.debug({ err: errorText(err) }, 'roster update deferred'));
    },
    async rewrite() {
      if (local.size === 0) return;
      await conn.cmd.multi().del(own).hSet(own, Object.fromEntries(local)).pExpire(own, ttlMs).exec();
    },
    async get(room) {
      const reply = parseRosterReply(await evalScript(conn.cmd, ROSTER, [keys.instances], [keys.instanceHashPrefix, keys.rosterHashPrefix, room]), ROSTER_MAX * 10);
      if (!reply) throw new Error('unexpected reply to the roster script');
      return reply;
    },
  };
}
