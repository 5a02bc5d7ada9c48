import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from '../config/config.ts';

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; stdout (synchronously, so nothing is lost on exit) by default. */
  destination?: DestinationStream;
}

/**
 * JSON lines for machines (docker logs, Azure Monitor, Loki); `npm run dev` pipes them
 * through pino-pretty rather than loading a transport here, so production carries no
 * worker thread and no pretty-printer.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'socketship' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
