// What a run counts while it goes (Tally: the progress line reads it every second) and what it
// reports at the end (Summary: the tables, and --json as is).
import type { Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from '../bench/lib/types.ts';

export interface Tally {
  requested: number;
  attempted: number;
  opened: number;
  /** Open now. */
  open: number;
  failed: number;
  /** Opened sockets the server (or the network) closed before the run's end. */
  closed: number;
  /** Failed connects by HTTP status or network error, and closes by the server by close code. */
  errors: Map<string, number>;
  /** Time from the upgrade request to the open socket (TCP, TLS and HTTP), microseconds. */
  handshake: Histogram;
  /** From the ramp's start to its last connect settled. */
  rampMs: number;
  sent: number;
  /** Copies of the messages sent owed to their senders (echo) and to the other members (broadcast). */
  echoExpected: number;
  broadcastExpected: number;
  /** Delivery latency, microseconds, from each message's due time to its arrival. */
  echo: Histogram;
  broadcast: Histogram;
}

/** When the run ends; moved to now by Ctrl-C. */
export interface RunClock {
  deadline: number;
  interrupted: boolean;
  /** Set once the run closes its own sockets: closes from then on are not the server's doing. */
  closing: boolean;
}

export interface Summary {
  url: string;
  room: string;
  durationS: number;
  /** Stopped early by Ctrl-C. */
  interrupted: boolean;
  connect: {
    requested: number;
    opened: number;
    failed: number;
    /** Opened, then closed by the server or the network during the run. */
    closed: number;
    /** Connections opened a second over the ramp. */
    perSec: number;
    rampMs: number;
    handshakeMs: LatencySummary;
  };
  /** By HTTP status ("HTTP 401"), network error ("ECONNREFUSED", "timeout") or close ("close 1008 Rate limit exceeded"). */
  errors: Record<string, number>;
  messages: {
    rate: number;
    publishers: number;
    sent: number;
    echo: { expected: number; received: number; latencyMs: LatencySummary };
    broadcast: { expected: number; received: number; latencyMs: LatencySummary };
  };
  /** Every socket opened and stayed open, and every copy of every message arrived. */
  ok: boolean;
}

export function count(errors: Map<string, number>, what: string): void {
  errors.set(what, (errors.get(what) ?? 0) + 1);
}
