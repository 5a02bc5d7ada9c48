// Many rooms per socket: roomsN sockets each following 10 of 100 rooms (every room has N / 10
// followers), then 100 messages/s round-robin over the rooms, each published by a follower of its
// room (bench/client/rooms.ts). Socketship against Socket.IO (bare ws has no multi-room protocol).
//   rooms-memory: RSS and heap per connection with 1 room, then with 10 (same process, same sockets)
//   rooms-latency: delivery latency from the sender's clock (in the text) to each receiver's
//   rooms-latency-sampled: the same at one receiver in 10, the others not reading meanwhile, so
//     that the load generator (one core) does not set the latency (it cannot read 100k/s)
import { SERVERS, settings, type ServerName } from '../lib/args.ts';
import { ask, connectAll, startClient, stopClient, windowed, wsUrl, type Client } from '../lib/loadgen.ts';
import { sleep, withCleanup } from '../lib/processes.ts';
import { record, windowFigures } from '../lib/record.ts';
import { memory, startServer, stopServer } from '../lib/servers.ts';
import type { Reply, SubscribeResult } from '../lib/types.ts';

/** Subscribes in flight at once: like the connects, enough to keep the server busy, not a flood. */
const SUBSCRIBE_CONCURRENCY = 256;

async function subscribe(client: Client, kFrom: number, kTo: number, n: number): Promise<SubscribeResult> {
  const s = settings;
  const timeoutMs = 10_000;
  const ops = n * (kTo - kFrom);
  const r = await ask<Extract<Reply, { reply: 'subscribe' }>>(
    client,
    { cmd: 'subscribe', rooms: s.roomsTotal, perConn: s.roomsPerConn, kFrom, kTo, concurrency: SUBSCRIBE_CONCURRENCY, timeoutMs },
    'subscribe',
    // The load generator's own bound (2 ms a subscribe, at least 60 s) plus one answer's timeout.
    Math.max(60_000, ops * 2) + timeoutMs + 5_000,
  );
  if (r.result.failed > 0) throw new Error(`${r.result.failed}/${ops} subscribes failed (first: ${r.result.firstError ?? '?'})`);
  return r.result;
}

export async function groupRooms(name: ServerName, rep: number): Promise<void> {
  const s = settings;
  const kind = SERVERS[name].kind;
  await withCleanup(async (defer) => {
    const server = await startServer(name, 'rooms');
    defer(() => stopServer(server));
    const client = startClient();
    defer(() => stopClient(client));
    const base = await memory(server);
    const conn = await connectAll(client, wsUrl(kind, server.port), kind, s.roomsN, false);
    const n = conn.connected;
    if (n < s.roomsN) throw new Error(`${n}/${s.roomsN} connected (first error: ${conn.firstError ?? '?'})`);
    // One room first (a join: out of the lobby), measured; then the other nine as subscribes.
    const one = await subscribe(client, 0, 1, n);
    await sleep(s.settleMs);
    const mem1 = await memory(server);
    const ten = await subscribe(client, 1, s.roomsPerConn, n);
    await sleep(s.settleMs);
    const mem10 = await memory(server);
    const followers = Object.values(ten.followers);
    record(
      name,
      rep,
      'rooms-memory',
      {
        bytesPerConn: (mem10.rss - base.rss) / n,
        heapBytesPerConn: (mem10.heapUsed - base.heapUsed) / n,
        oneRoomBytesPerConn: (mem1.rss - base.rss) / n,
        oneRoomHeapBytesPerConn: (mem1.heapUsed - base.heapUsed) / n,
        // What the nine more rooms cost each connection: the same sockets, before and after.
        extraRoomsBytesPerConn: (mem10.rss - mem1.rss) / n,
        extraRoomsHeapBytesPerConn: (mem10.heapUsed - mem1.heapUsed) / n,
        // Where an RSS delta above the heap's went: V8's reserve (heapTotal) or buffers (external).
        extraRoomsHeapTotalBytesPerConn: (mem10.heapTotal - mem1.heapTotal) / n,
        extraRoomsExternalBytesPerConn: (mem10.external - mem1.external) / n,
        rssMiB: mem10.rss / 2 ** 20,
        connected: n,
        connectMs: conn.ms,
        subscribes: one.ok + ten.ok,
        subscribeMs: one.ms + ten.ms,
        subscribesPerSec: ((one.ok + ten.ok) * 1000) / (one.ms + ten.ms),
        rooms: followers.length,
        minFollowers: Math.min(...followers),
        maxFollowers: Math.max(...followers),
      },
      { connect: conn },
    );
    // Every receiver reads (as the other latency scenarios measure), then one in roomsReadEvery.
    for (const [scenario, readEvery] of [['rooms-latency', 1], ['rooms-latency-sampled', s.roomsReadEvery]] as const) {
      const w = await windowed(
        client,
        server,
        { cmd: 'rooms', rooms: s.roomsTotal, perConn: s.roomsPerConn, rate: s.roomsRate, warmMs: s.bWarmMs, windowMs: s.roomsWindowMs, drainMs: s.roomsDrainMs, bytes: s.bytes, readEvery },
        s.bWarmMs + s.roomsWindowMs + s.roomsDrainMs + 30_000,
      );
      if (w.result.closedDuring > 0) console.log(`  warning: ${name} ${scenario}: ${w.result.closedDuring} sockets closed during the window`);
      record(
        name,
        rep,
        scenario,
        {
          ...windowFigures(w),
          published: w.result.published,
          // Of the measured receivers: all of them, or one in readEvery.
          deliveriesPerSec: w.result.perSec,
          measuredShare: 1 / readEvery,
          arrivedPct: (100 * w.result.arrived) / Math.max(1, w.result.expected),
          closed: w.result.closedDuring,
        },
        w,
      );
      // The paused receivers read their backlog, the next window starts on a quiet server.
      await sleep(s.settleMs);
    }
  });
}
