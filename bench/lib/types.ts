// Messages between the harness (bench/run.ts) and a load generator (bench/client.ts).

export type Kind = 'ws' | 'sio';

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export type Command =
  | { cmd: 'connect'; url: string; kind: Kind; n: number; ownRooms: boolean; concurrency: number; timeoutMs: number; sources: string[] }
  | { cmd: 'idle'; warmMs: number; windowMs: number }
  | { cmd: 'echo'; inflight: number; bytes: number; warmMs: number; windowMs: number; drainMs: number }
  | { cmd: 'broadcast'; publishers: number; rate: number; warmMs: number; windowMs: number; drainMs: number; bytes: number }
  | { cmd: 'exit' };

export interface ConnectResult {
  connected: number;
  failed: number;
  ms: number;
  firstError?: string;
}

export interface WindowResult {
  windowMs: number;
  /** Echo round trips or broadcast deliveries received inside the window. */
  received: number;
  perSec: number;
  published: number;
  /** Deliveries expected for the messages published in the window (broadcast). */
  expected: number;
  /** Of those, how many arrived before the drain ended. */
  arrived: number;
  pongs: number;
  closedDuring: number;
  latencyMs: LatencySummary;
}

export type Reply =
  | { reply: 'connect'; result: ConnectResult }
  | { reply: 'mark'; mark: 'start' | 'end' }
  | { reply: 'window'; result: WindowResult }
  | { reply: 'error'; message: string };
