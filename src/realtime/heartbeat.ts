import type { Clock } from '../clock.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CloseCode, CloseReason } from '../protocol/close.ts';
import { PING } from '../protocol/messages.ts';
import { textFrame } from './frame.ts';
import type { Sender } from './sender.ts';
import type { ClientSocket } from './session.ts';

export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Close with 1000 after this many answered pings; 0 = never. */
  pingCount: number;
  clock: Clock;
  sender: Sender;
  metrics: Metrics;
  sockets: () => Iterable<ClientSocket>;
}

export interface Heartbeat {
  /** The sweep that will send a socket opened now its first ping. */
  nextSweep(): number;
  /** Records the answer to the socket's oldest unanswered ping. */
  pong(socket: ClientSocket): void;
  start(): void;
  stop(): void;
}

/** Sockets pinged between two looks at I/O. */
export const SWEEP_CHUNK = 256;

/**
 * One timer pings every socket (not a timer per socket). Every open socket gets a ping in
 * every sweep, so ping k of a socket went out in sweep `firstSweep + k`: a ring of sweep
 * times gives each pong's round trip with three integers per socket and no per-ping state.
 */
export function createHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { intervalMs, timeoutMs, pingCount, clock, sender, metrics } = options;
  // Enough sweeps to look back past the timeout; anything older has timed out anyway.
  const ringSize = Math.ceil(timeoutMs / intervalMs) + 2;
  const sentAt = new Float64Array(ringSize);
  // Round trips on the monotonic, sub-millisecond clock: on loopback a pong comes back in well
  // under a millisecond, which Date.now() records as 0 (and a wall-clock step could make negative).
  const sentAtMono = new Float64Array(ringSize);
  let sweep = 0; // sweeps done so far; sweep numbers start at 1
  let timer: NodeJS.Timeout | undefined;
  // The ping frame, header included, encoded once for every socket and every sweep.
  const ping = textFrame(Buffer.from(PING));

  function timeOf(n: number): number {
    return n > sweep - ringSize ? (sentAt[n % ringSize] ?? 0) : Number.NEGATIVE_INFINITY;
  }

  // A sweep over many sockets yields to I/O every SWEEP_CHUNK sockets, so a chat message that
  // arrives meanwhile waits for one chunk of pings, not for all of them.
  let pending: Iterator<ClientSocket> | undefined;
  let oldestAllowed = 0;
  let sweepTime = 0;

  function run(): void {
    if (pending) continueSweep(Infinity); // the last sweep is still going: finish it first
    const now = clock.now();
    oldestAllowed = now - timeoutMs;
    sweepTime = now;
    sweep++;
    sentAt[sweep % ringSize] = now;
    sentAtMono[sweep % ringSize] = performance.now();
    sender.flush();
    pending = options.sockets()[Symbol.iterator]();
    continueSweep(SWEEP_CHUNK);
  }

  function continueSweep(chunk: number): void {
    const sockets = pending;
    if (!sockets) return;
    let pinged = 0;
    let seen = 0;
    for (let next = sockets.next(); !next.done; next = sockets.next()) {
      const socket = next.value;
      const session = socket.session;
      if (session.firstSweep > sweep) continue; // opened during this sweep: its first ping is the next one
      const oldestUnanswered = session.firstSweep + session.pongs;
      if (oldestUnanswered < sweep && timeOf(oldestUnanswered) < oldestAllowed) {
        sender.close(socket, CloseCode.pongTimeout, CloseReason.pongTimeout);
      } else if (session.expiresAt <= sweepTime) {
        // The sweep visits every socket once an interval anyway: token expiry costs no timer per socket.
        sender.close(socket, CloseCode.tokenExpired, CloseReason.tokenExpired);
      } else if (sender.write(socket, ping)) {
        pinged++;
      }
      if (++seen >= chunk) {
        metrics.messageOut('ping', ping.payload.length, pinged);
        setImmediate(resumeSweep);
        return;
      }
    }
    pending = undefined;
    metrics.messageOut('ping', ping.payload.length, pinged);
  }

  function resumeSweep(): void {
    continueSweep(SWEEP_CHUNK);
  }

  return {
    nextSweep: () => sweep + 1,
    pong(socket) {
      const session = socket.session;
      const answered = session.firstSweep + session.pongs;
      if (answered > sweep) return; // nothing outstanding: an extra pong is harmless
      session.pongs++;
      if (Number.isFinite(timeOf(answered))) metrics.pingRtt(performance.now() - (sentAtMono[answered % ringSize] ?? 0));
      if (pingCount > 0 && session.pongs >= pingCount) sender.close(socket, CloseCode.normal, CloseReason.done);
    },
    start() {
      timer ??= setInterval(run, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
