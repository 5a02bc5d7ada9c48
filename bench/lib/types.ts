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
  | {
      cmd: 'connect';
      url: string;
      kind: Kind;
      n: number;
      ownRooms: boolean;
      concurrency: number;
      timeoutMs: number;
      sources: string[];
      /** Adds to the open connections with indexes from here (default: replaces none, starts at 0). */
      indexFrom?: number;
      /** Which server instance these connections go to (scale-out: latency on the other instance). */
      instance?: number;
      /** Keep each connection's last message id (for `since` after a reconnect). */
      trackIds?: boolean;
      /** One token per connection, sent as `Authorization: Bearer` (the connect storm). */
      tokens?: string[];
      /** Send window marks around the connects (the harness samples CPU at them). */
      marks?: boolean;
    }
  | { cmd: 'idle'; warmMs: number; windowMs: number }
  | { cmd: 'echo'; inflight: number; bytes: number; warmMs: number; windowMs: number; drainMs: number }
  | { cmd: 'broadcast'; publishers: number; rate: number; warmMs: number; windowMs: number; drainMs: number; bytes: number }
  | { cmd: 'replay'; urls: string[]; missed: number; rate: number; concurrency: number; timeoutMs: number; sources: string[]; settleMs: number }
  /**
   * Many rooms: connection i follows rooms (i + k * rooms / perConn) % rooms for k in [kFrom, kTo);
   * k = 0 is a `join` (leaves the lobby), the others `subscribe`. Waits for every answer.
   */
  | { cmd: 'subscribe'; rooms: number; perConn: number; kFrom: number; kTo: number; concurrency: number; timeoutMs: number }
  /**
   * Many rooms: `rate` messages/s round-robin over the rooms, each sent by a follower of its room.
   * Measured at every receiver (readEvery 1) or at one in readEvery, the others not reading meanwhile.
   */
  | { cmd: 'rooms'; rooms: number; perConn: number; rate: number; warmMs: number; windowMs: number; drainMs: number; bytes: number; readEvery: number }
  | { cmd: 'exit' };

/** Clients that left, missed messages, and came back on the other instance asking for them. */
export interface ReplayResult {
  clients: number;
  missed: number;
  /** Clients that received every missed message. */
  caughtUp: number;
  /** Clients the server said it replayed for (Socket.IO `recovered`, the service's `history` frame untruncated). */
  recovered: number;
  /** From the first reconnect to the last client caught up (or the timeout). */
  ms: number;
  failed: number;
  firstError?: string;
}

/** The answers to a `subscribe` command. */
export interface SubscribeResult {
  /** Subscribes (and joins) answered with `subscribed` (or `welcome`). */
  ok: number;
  failed: number;
  ms: number;
  /** Followers of each room after the command, counted from the answers. */
  followers: Record<string, number>;
  firstError?: string;
}

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
  /** Scale-out: deliveries to members on another instance than their publisher. */
  farLatencyMs?: LatencySummary;
}

export type Reply =
  | { reply: 'connect'; result: ConnectResult }
  | { reply: 'mark'; mark: 'start' | 'end' }
  | { reply: 'window'; result: WindowResult }
  | { reply: 'replay'; result: ReplayResult }
  | { reply: 'subscribe'; result: SubscribeResult }
  | { reply: 'error'; message: string };
