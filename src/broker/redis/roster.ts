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
import { evalScript, ROSTER, ROSTER_SET } from './scripts.ts';
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

  const write = (replace: boolean, pairs: string[]): Promise<unknown> => evalScript(conn.cmd, ROSTER_SET, [own], [String(ttlMs), replace ? '1' : '0', ...pairs]);

  return {
    set(room, members) {
      if (members.length > 0) local.set(room, JSON.stringify(members.slice(0, ROSTER_MAX)));
      else local.delete(room);
      if (!conn.cmdReady()) return; // written whole on reconnect
      void timed(metrics, 'presence', write(false, [room, local.get(room) ?? ''])).catch((err: unknown) => logger.debug({ err: errorText(err) }, 'roster update deferred'));
    },
    async rewrite() {
      if (local.size === 0) return;
      await write(true, [...local].flat());
    },
    async get(room) {
      const reply = parseRosterReply(await evalScript(conn.cmd, ROSTER, [keys.instances], [keys.instanceHashPrefix, keys.rosterHashPrefix, room]), ROSTER_MAX * 10);
      if (!reply) throw new Error('unexpected reply to the roster script');
      return reply;
    },
  };
}
