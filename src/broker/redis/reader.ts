// The reader: one blocking XREAD over the streams of every room this instance follows, plus the
// events stream. It delivers each room's entries in id order from the last id delivered, so after
// a Redis hiccup it resumes exactly where it was.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import { compareIdText } from '../../protocol/ids.ts';
import type { ChatMessage } from '../broker.ts';
import { errorText, type NodeClient, type RedisConnection } from './connection.ts';
import type { RedisKeys } from './keys.ts';
import { parseEntries, parseInteger, parseXRead, toChatMessage, type StreamEntry } from './replies.ts';

const READ_BLOCK_MS = 2000;
const READ_COUNT = 500;
/** A room with no local member stays read this long, so a join that is replaying history keeps its feed. */
const LINGER_MS = 30_000;
const CATCH_UP_WAIT_MS = 5000;

export interface RoomReaderOptions {
  conn: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: BrokerMetrics;
  /** A chat message of a followed room, in id order within the room. */
  onMessage(message: ChatMessage): void;
  /** An entry of the events stream (presence changes, typing). */
  onEvent(entry: StreamEntry): void;
}

export interface RoomReader {
  /** Follows `room` from its current end (if not yet followed); resolves when the reader includes it. */
  follow(room: string): Promise<void>;
  /** Keeps `room` followed for a while (a join is under way); starts following it once Redis is back. */
  touch(room: string): void;
  /** Keeps `room`, if followed, followed for a while longer (its last local member left). */
  linger(room: string): void;
  /** The room is followed and its cursor is known. */
  following(room: string): boolean;
  /** The last id delivered for `room`, once followed. */
  cursorOf(room: string): string | undefined;
  /** Resolves once every message up to `target` of `room` has been delivered here. */
  delivered(room: string, target: string): Promise<void>;
  /** Forgets rooms nobody here needs any more; returns them. */
  sweep(needed: (room: string) => boolean): string[];
  /** After a reconnect: the events cursor fetched if unknown, unknown room cursors fetched. */
  resync(): Promise<void>;
  /** Runs until `stop`. */
  run(): Promise<void>;
  stop(): void;
}

interface Watch {
  /** Last id delivered for this room; undefined until it is known (Redis unreachable so far). */
  cursor: string | undefined;
  lingerUntil: number;
  starting?: Promise<void>;
  waiters: { target: string; resolve(): void }[];
}

export function createRoomReader(options: RoomReaderOptions): RoomReader {
  const { conn, keys, logger, metrics } = options;
  const watched = new Map<string, Watch>();
  let eventsCursor: string | undefined;
  /** Who to unblock: the reader's connection id on the node of the broker's keys, and the command connection to that node. */
  let blocked: { id: number; epoch: number; readerNode: NodeClient; cmdNode: NodeClient } | undefined;
  let readGeneration = 0;
  let reading = false;
  let stopped = false;

  /** A new connection, or another node (a cluster failover), has a new id. */
  async function whoIsBlocked(): Promise<void> {
    const epoch = conn.readerEpoch();
    const nodes = await conn.nodes();
    if (blocked && blocked.epoch === epoch && blocked.readerNode === nodes.reader && blocked.cmdNode === nodes.cmd) return;
    const id = parseInteger(await nodes.reader.clientId());
    blocked = id === undefined ? undefined : { id, epoch, readerNode: nodes.reader, cmdNode: nodes.cmd };
  }

  /** Makes the reader start over with the current set of rooms (CLIENT UNBLOCK ends its XREAD at once). */
  function unblock(): void {
    const generation = readGeneration;
    const once = (): void => {
      if (!reading || readGeneration !== generation || blocked === undefined || !conn.cmdReady()) return;
      blocked.cmdNode.clientUnblock(blocked.id, 'TIMEOUT').catch(() => {});
    };
    once();
    // The XREAD may not have reached Redis yet when the first UNBLOCK does; try once more.
    setTimeout(once, 25).unref();
  }

  function touch(room: string): Watch {
    let w = watched.get(room);
    if (!w) watched.set(room, (w = { cursor: undefined, lingerUntil: 0, waiters: [] }));
    w.lingerUntil = Date.now() + LINGER_MS;
    return w;
  }

  function follow(room: string): Promise<void> {
    const w = touch(room);
    if (w.cursor !== undefined) return Promise.resolve();
    w.starting ??= (async () => {
      try {
        const last = parseEntries(await conn.cmd.xRevRange(keys.room(room), '+', '-', { COUNT: 1 }))[0];
        w.cursor ??= last?.id ?? '0-0';
        unblock();
      } finally {
        w.starting = undefined;
      }
    })();
    return w.starting;
  }

  function settle(w: Watch): void {
    if (w.waiters.length === 0 || w.cursor === undefined) return;
    const cursor = w.cursor;
    w.waiters = w.waiters.filter((waiter) => {
      if (compareIdText(cursor, waiter.target) < 0) return true;
      waiter.resolve();
      return false;
    });
  }

  function handle(key: string, entries: StreamEntry[]): void {
    if (key === keys.events) {
      for (const entry of entries) {
        eventsCursor = entry.id;
        options.onEvent(entry);
      }
      return;
    }
    const room = keys.roomOf(key);
    const w = room === undefined ? undefined : watched.get(room);
    if (room === undefined || !w) return;
    for (const entry of entries) {
      if (w.cursor !== undefined && compareIdText(entry.id, w.cursor) <= 0) continue;
      w.cursor = entry.id;
      const chat = toChatMessage(room, entry);
      if (chat) options.onMessage(chat);
      else logger.warn({ room, id: entry.id }, 'ignored a malformed entry in a room stream');
    }
    settle(w);
  }

  async function readOnce(): Promise<void> {
    await whoIsBlocked();
    const streams = [{ key: keys.events, id: eventsCursor ?? '$' }];
    for (const [room, w] of watched) if (w.cursor !== undefined) streams.push({ key: keys.room(room), id: w.cursor });
    readGeneration++;
    reading = true;
    let reply: unknown;
    try {
      reply = await conn.reader.xRead(streams, { BLOCK: READ_BLOCK_MS, COUNT: READ_COUNT });
    } finally {
      reading = false;
    }
    for (const batch of parseXRead(reply)) handle(batch.key, batch.entries);
  }

  return {
    follow,
    touch(room) {
      touch(room);
    },
    linger(room) {
      const w = watched.get(room);
      if (w) w.lingerUntil = Date.now() + LINGER_MS;
    },
    following: (room) => watched.get(room)?.cursor !== undefined,
    cursorOf: (room) => watched.get(room)?.cursor,
    delivered(room, target) {
      const w = touch(room);
      if (w.cursor !== undefined && compareIdText(w.cursor, target) >= 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const waiter = {
          target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          w.waiters = w.waiters.filter((x) => x !== waiter);
          reject(new Error(`room ${room} not caught up to ${target} within ${CATCH_UP_WAIT_MS} ms`));
        }, CATCH_UP_WAIT_MS);
        w.waiters.push(waiter);
      });
    },
    sweep(needed) {
      const now = Date.now();
      const dropped: string[] = [];
      for (const [room, w] of watched) {
        if (!needed(room) && w.lingerUntil < now && w.waiters.length === 0 && !w.starting) {
          watched.delete(room);
          dropped.push(room);
        }
      }
      return dropped;
    },
    async resync() {
      if (eventsCursor === undefined) eventsCursor = parseEntries(await conn.cmd.xRevRange(keys.events, '+', '-', { COUNT: 1 }))[0]?.id ?? '0-0';
      for (const [room, w] of watched) if (w.cursor === undefined) void follow(room).catch(() => {});
    },
    async run() {
      while (!stopped) {
        if (!conn.readerReady()) {
          await conn.untilReady(1000);
          continue;
        }
        try {
          await readOnce();
        } catch (err) {
          if (stopped) return;
          metrics.brokerError('read');
          logger.debug({ err: errorText(err) }, 'redis read failed');
          await sleep(100);
        }
      }
    },
    stop() {
      stopped = true;
      for (const w of watched.values()) w.waiters.splice(0);
    },
  };
}
