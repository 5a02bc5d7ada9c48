// A warning per event is a disk-filling tool in an attacker's hands: past `perSecond` lines a
// second the rest are only counted, and the next line written says how many were left out.
import type { Logger } from './logger.ts';

export type Warn = (fields: Record<string, unknown>, msg: string) => void;

/** `perSecond` 0 writes nothing (the metrics still count every event). */
export function rateLimitedWarn(logger: Logger, perSecond: number, now: () => number = Date.now): Warn {
  let windowStart = Number.NEGATIVE_INFINITY;
  let written = 0;
  let suppressed = 0;
  return (fields, msg) => {
    const t = now();
    if (t - windowStart >= 1000) {
      windowStart = t;
      written = 0;
    }
    if (written >= perSecond) {
      suppressed++;
      return;
    }
    written++;
    logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
    suppressed = 0;
  };
}
