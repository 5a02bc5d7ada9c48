// The events reader: one blocking XREAD on the events stream (presence changes, ephemeral
// publications, control events), from the last entry it handed on, so after a Redis hiccup it
// resumes exactly where it was. Room messages do not come this way: they are pushed (feed.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log/logger.ts';
import type { BrokerMetrics } from '../../metrics/metrics.ts';
import { errorText, type RedisConnection } from './connection.ts';
import type { RedisKeys } from './keys.ts';
import { parseEntries, parseXRead, type StreamEntry } from './replies.ts';

/**
 * How long one XREAD waits for an entry. Long, since an idle instance re-reads once per block (a
 * command each time), short enough that the connection's AUTH for a renewed Entra ID token, which
 * waits for the XREAD to return, comes long before the old token expires.
 */
const READ_BLOCK_MS = 10_000;
const READ_COUNT = 500;

export interface EventsReaderOptions {
  conn: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: BrokerMetrics;
  /** An entry of the events stream, in stream order. */
  onEvent(entry: StreamEntry): void;
}

export interface EventsReader {
  /** After a reconnect: the events cursor fetched if unknown (the first connect: from now on). */
  resync(): Promise<void>;
  /** Runs until `stop`. */
  run(): Promise<void>;
  stop(): void;
}

export function createEventsReader(options: EventsReaderOptions): EventsReader {
  const { conn, keys, logger, metrics } = options;
  let cursor: string | undefined;
  let stopped = false;

  async function readOnce(): Promise<void> {
    const reply = await conn.reader.xRead([{ key: keys.events, id: cursor ?? '$' }], { BLOCK: READ_BLOCK_MS, COUNT: READ_COUNT });
    for (const batch of parseXRead(reply)) {
      if (batch.key !== keys.events) continue;
      for (const entry of batch.entries) {
        cursor = entry.id;
        options.onEvent(entry);
      }
    }
  }

  return {
    async resync() {
      if (cursor === undefined) cursor = parseEntries(await conn.cmd.xRevRange(keys.events, '+', '-', { COUNT: 1 }))[0]?.id ?? '0-0';
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
          logger.debug({ err: errorText(err) }, 'redis events read failed');
          await sleep(100);
        }
      }
    },
    stop() {
      stopped = true;
    },
  };
}
