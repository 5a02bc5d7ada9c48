// The sizes and windows of the three kinds of run (full, quick, smoke): every number a scenario
// uses, so that a results file's `settings` says exactly what was measured.

export interface Settings {
  mode: 'full' | 'quick' | 'smoke';
  reps: number;
  bigN: number;
  smallN: number;
  echoConns: number;
  inflight: number;
  bytes: number;
  settleMs: number;
  hbWarmMs: number;
  hbWindowMs: number;
  b10kRate: number;
  b1kRate: number;
  bWarmMs: number;
  bWindowMs: number;
  bDrainMs: number;
  fanPublishers: number;
  fanRate: number;
  fanWarmMs: number;
  fanWindowMs: number;
  echoWarmMs: number;
  echoWindowMs: number;
  connectConcurrency: number;
  /** Scale-out through Redis: how many instances of each server, one group run per count. */
  instances: number[];
  /** Scale-out: members, spread evenly over the instances. */
  redisMembers: number;
  /** The scale-out broadcast window (10 messages/s, like broadcast-1k). */
  redisWindowMs: number;
  /** Publish rates tried in order for the throughput ceiling; the steps stop at the first miss. */
  ceilingRates: number[];
  ceilingWarmMs: number;
  ceilingWindowMs: number;
  /** Messages published while the replaying clients are away. */
  replayMissed: number;
  /** Connects per variant of the connect storm. */
  stormN: number;
  /** Many rooms: sockets, rooms, rooms each socket follows (each room gets roomsN * roomsPerConn / roomsTotal followers). */
  roomsN: number;
  roomsTotal: number;
  roomsPerConn: number;
  /** Messages a second over all the rooms, round-robin. */
  roomsRate: number;
  roomsWindowMs: number;
  /** The second window measures one receiver in this many, the others not reading meanwhile (bench/client/rooms.ts). */
  roomsReadEvery: number;
  /** The longest wait for a window's deliveries after it (a server that keeps up ends it sooner). */
  roomsDrainMs: number;
  /** Backend events: says a second, open loop over the echo sockets, for the say-to-acknowledgement window. */
  eventsAckRate: number;
  eventsAckWindowMs: number;
  /** The publish hook's answer time (the backend peer's timer). */
  eventsHookDelayMs: number;
  /** Also the variants through Redis (events off and on, each with its own redis-server). */
  eventsRedis: boolean;
}

export const FULL: Settings = {
  mode: 'full',
  reps: 3,
  bigN: 10_000,
  smallN: 1_000,
  echoConns: 100,
  inflight: 8,
  bytes: 64,
  settleMs: 2_000,
  hbWarmMs: 1_000,
  hbWindowMs: 6_000,
  b10kRate: 2,
  b1kRate: 10,
  bWarmMs: 1_000,
  bWindowMs: 12_000,
  bDrainMs: 2_000,
  fanPublishers: 20,
  fanRate: 100,
  fanWarmMs: 1_500,
  fanWindowMs: 5_000,
  echoWarmMs: 1_000,
  echoWindowMs: 5_000,
  connectConcurrency: 64,
  instances: [2, 4, 8],
  redisMembers: 1_000,
  redisWindowMs: 6_000,
  ceilingRates: [25, 50, 100, 150, 200, 300, 400, 600],
  ceilingWarmMs: 500,
  ceilingWindowMs: 3_000,
  replayMissed: 20,
  stormN: 10_000,
  roomsN: 10_000,
  roomsTotal: 100,
  roomsPerConn: 10,
  roomsRate: 100,
  // With the warm-up, short enough for the receivers paused in the sampled window (PAUSE_MAX_MS).
  roomsWindowMs: 4_000,
  roomsReadEvery: 10,
  roomsDrainMs: 10_000,
  // 10 says a second per socket: a moderate load, under the default rate limit, where the hook's
  // own time shows rather than the queue a saturated echo builds.
  eventsAckRate: 1_000,
  eventsAckWindowMs: 4_000,
  eventsHookDelayMs: 1,
  eventsRedis: true,
};
// One repetition at full size with short windows: a look in under 3 minutes, not a result to commit.
export const QUICK: Settings = {
  ...FULL,
  mode: 'quick',
  reps: 1,
  hbWarmMs: 500,
  hbWindowMs: 3_000,
  settleMs: 1_500,
  bWarmMs: 500,
  bWindowMs: 3_000,
  bDrainMs: 1_000,
  fanWarmMs: 1_000,
  fanWindowMs: 2_500,
  echoWarmMs: 500,
  echoWindowMs: 2_000,
  // Two counts: enough to see a cost that grows with the instances, without the 8-instance runs.
  instances: [2, 4],
  redisWindowMs: 3_000,
  ceilingWindowMs: 2_000,
  stormN: 5_000,
  roomsN: 2_000,
  roomsWindowMs: 3_000,
  roomsDrainMs: 3_000,
  eventsAckWindowMs: 2_000,
};
export const SMOKE: Settings = {
  ...FULL,
  mode: 'smoke',
  reps: 1,
  bigN: 6,
  smallN: 4,
  echoConns: 2,
  inflight: 2,
  settleMs: 100,
  hbWarmMs: 0,
  hbWindowMs: 500,
  bWarmMs: 100,
  bWindowMs: 300,
  bDrainMs: 200,
  fanPublishers: 2,
  fanRate: 20,
  fanWarmMs: 100,
  fanWindowMs: 300,
  echoWarmMs: 100,
  echoWindowMs: 300,
  connectConcurrency: 4,
  instances: [2],
  redisMembers: 6,
  redisWindowMs: 300,
  ceilingRates: [20, 40],
  ceilingWarmMs: 100,
  ceilingWindowMs: 300,
  replayMissed: 3,
  stormN: 20,
  // 10 senders (connections 0-9) and 2 followers a room.
  roomsN: 20,
  roomsRate: 20,
  roomsWindowMs: 300,
  roomsDrainMs: 500,
  eventsAckRate: 20,
  eventsAckWindowMs: 300,
  // Without Redis: the suite's smoke run needs no redis-server (test:e2e runs the Redis groups).
  eventsRedis: false,
};
