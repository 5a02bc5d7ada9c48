// Events without Redis: made in this process and handed to the webhook outlet's bounded queue.
// One instance, so membership over "every instance" is this one's; a crash loses what was queued
// (docs/events.md says so).
import type { Clock } from '../clock.ts';
import type { EventMetrics } from '../metrics/events.ts';
import type { BackendEvent, EventType } from '../protocol/backend-events.ts';
import type { EventConn, EventLog } from './log.ts';
import { createMembership, memberKey } from './membership.ts';

export interface MemoryEventLogOptions {
  types: ReadonlySet<EventType>;
  includeText: boolean;
  instance: string;
  clock: Clock;
  /** Where events go (the webhook outlet's queue). */
  push(event: BackendEvent): void;
  /** Waits until what was pushed is delivered, or `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  metrics: Pick<EventMetrics, 'eventEmitted'>;
}

export function createMemoryEventLog(options: MemoryEventLogOptions): EventLog {
  const { types, includeText, instance, clock, metrics } = options;
  const membership = createMembership();
  const tracksRooms = [...types].some((t) => t.startsWith('room.'));
  // Ids shaped like a stream's (`<ms>-<n>`), unique within the process and increasing.
  let lastMs = 0;
  let n = 0;
  // One ISO string per millisecond: at tens of thousands of events a second, most share it.
  let lastIso = new Date(0).toISOString();

  function emit(type: EventType, fields: Omit<BackendEvent, 'id' | 'type' | 'time' | 'instance'>): void {
    if (!types.has(type)) return;
    const ms = Math.max(lastMs, Math.floor(clock.now()));
    if (ms === lastMs) n++;
    else {
      n = 0;
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    const event: BackendEvent = Object.assign({ id: `${ms}-${n}`, type, time: lastIso, instance }, fields);
    if (fields.room !== undefined) event.seq = membership.nextSeq(fields.room);
    options.push(event);
    metrics.eventEmitted(type);
  }

  function who(conn: EventConn): { connId: string; sub?: string } {
    return conn.sub === undefined ? { connId: conn.connId } : { connId: conn.connId, sub: conn.sub };
  }

  return {
    opened: (conn) => emit('connection.opened', who(conn)),
    closed: (conn, code) => emit('connection.closed', { ...who(conn), code, reason: 'closed' }),
    joined(room, conn) {
      if (!tracksRooms) return;
      const { joined, occupied } = membership.enter(room, memberKey(conn.connId, conn.sub));
      if (occupied) emit('room.occupied', { room, ...who(conn) });
      if (joined) emit('room.member_joined', { room, ...who(conn) });
    },
    left(room, conn, reason) {
      if (!tracksRooms) return;
      const { left, vacated } = membership.exit(room, memberKey(conn.connId, conn.sub));
      if (left) emit('room.member_left', { room, ...who(conn), reason });
      if (vacated) emit('room.vacated', { room, ...who(conn) });
      membership.forgetIfEmpty(room);
    },
    published(facts, conn) {
      if (!types.has('message.published')) return;
      // Built in place: one event per chat message is the hot path of events.
      const fields: Omit<BackendEvent, 'id' | 'type' | 'time' | 'instance'> = { room: facts.room, messageId: facts.messageId, from: facts.from };
      if (conn === undefined) fields.sender = 'server';
      else {
        fields.connId = conn.connId;
        if (conn.sub !== undefined) fields.sub = conn.sub;
      }
      if (includeText) fields.text = facts.text;
      emit('message.published', fields);
      membership.forgetIfEmpty(facts.room);
    },
    close: (timeoutMs) => options.drain(timeoutMs),
  };
}
