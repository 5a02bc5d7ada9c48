// 10k idle sockets on one server: memory per connection, heartbeat CPU, a 2/s broadcast to all
// of them, then fan-out capacity with many publishers (overloaded on purpose).
import { SERVERS, settings, type ServerName } from '../lib/args.ts';
import { connectAll, startClient, stopClient, windowed, wsUrl } from '../lib/loadgen.ts';
import { sleep, withCleanup } from '../lib/processes.ts';
import { record, windowFigures } from '../lib/record.ts';
import { memory, startServer, stopServer } from '../lib/servers.ts';

export async function groupC10k(name: ServerName, rep: number): Promise<void> {
  const s = settings;
  await withCleanup(async (defer) => {
    const server = await startServer(name, 'c10k');
    defer(() => stopServer(server));
    const client = startClient();
    defer(() => stopClient(client));
    const base = await memory(server);
    const conn = await connectAll(client, wsUrl(SERVERS[name].kind, server.port), SERVERS[name].kind, s.bigN, false);
    await sleep(s.settleMs);
    const mem = await memory(server);
    const n = conn.connected;
    record(name, rep, 'idle-memory', { bytesPerConn: (mem.rss - base.rss) / n, heapBytesPerConn: (mem.heapUsed - base.heapUsed) / n, rssMiB: mem.rss / 2 ** 20, connected: n, connectMs: conn.ms }, { connect: conn });
    const hb = await windowed(client, server, { cmd: 'idle', warmMs: s.hbWarmMs, windowMs: s.hbWindowMs }, s.hbWarmMs + s.hbWindowMs + 30_000);
    record(name, rep, 'heartbeat', { ...windowFigures(hb), pongsPerSec: (hb.result.pongs * 1000) / hb.result.windowMs, closed: hb.result.closedDuring }, hb);
    const b = await windowed(client, server, { cmd: 'broadcast', publishers: 1, rate: s.b10kRate, warmMs: s.bWarmMs, windowMs: s.bWindowMs, drainMs: s.bDrainMs, bytes: s.bytes }, 60_000);
    record(name, rep, 'broadcast-10k', { ...windowFigures(b), deliveriesPerSec: b.result.perSec, arrivedPct: (100 * b.result.arrived) / Math.max(1, b.result.expected), closed: b.result.closedDuring }, b);
    const f = await windowed(
      client,
      server,
      { cmd: 'broadcast', publishers: s.fanPublishers, rate: s.fanRate, warmMs: s.fanWarmMs, windowMs: s.fanWindowMs, drainMs: 500, bytes: s.bytes },
      60_000,
    );
    record(name, rep, 'fanout-10k', { ...windowFigures(f), deliveriesPerSec: f.result.perSec, offeredPerSec: s.fanRate * n, closed: f.result.closedDuring }, f);
  });
}
