// One room of 1k members, one publisher at 10 messages/s: delivery latency and server CPU.
import { SERVERS, settings, type ServerName } from '../lib/args.ts';
import { connectAll, startClient, stopClient, windowed, wsUrl } from '../lib/loadgen.ts';
import { sleep, withCleanup } from '../lib/processes.ts';
import { record, windowFigures } from '../lib/record.ts';
import { startServer, stopServer } from '../lib/servers.ts';

export async function groupB1k(name: ServerName, rep: number): Promise<void> {
  const s = settings;
  await withCleanup(async (defer) => {
    const server = await startServer(name, 'b1k');
    defer(() => stopServer(server));
    const client = startClient();
    defer(() => stopClient(client));
    await connectAll(client, wsUrl(SERVERS[name].kind, server.port), SERVERS[name].kind, s.smallN, false);
    await sleep(s.settleMs / 2);
    const b = await windowed(client, server, { cmd: 'broadcast', publishers: 1, rate: s.b1kRate, warmMs: s.bWarmMs, windowMs: s.bWindowMs, drainMs: s.bDrainMs, bytes: s.bytes }, 60_000);
    record(name, rep, 'broadcast-1k', { ...windowFigures(b), deliveriesPerSec: b.result.perSec, arrivedPct: (100 * b.result.arrived) / Math.max(1, b.result.expected), closed: b.result.closedDuring }, b);
  });
}
