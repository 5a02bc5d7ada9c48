// Chat echo: 100 sockets, each in its own room with 8 messages in flight; round trips/s and p99.
import { SERVERS, settings, type ServerName } from '../lib/args.ts';
import { connectAll, startClient, stopClient, windowed, wsUrl, type Client } from '../lib/loadgen.ts';
import type { Cost } from '../lib/proc.ts';
import { withCleanup } from '../lib/processes.ts';
import { record, windowFigures } from '../lib/record.ts';
import { startServer, stopServer, type RunningServer } from '../lib/servers.ts';
import type { Kind, WindowResult } from '../lib/types.ts';

/** The echo window against `url` (the server itself, or a proxy in front of it). */
export async function echoOnce(client: Client, server: RunningServer, url: string, kind: Kind): Promise<{ result: WindowResult; cost: Cost }> {
  const s = settings;
  await connectAll(client, url, kind, s.echoConns, true);
  return windowed(client, server, { cmd: 'echo', inflight: s.inflight, bytes: s.bytes, warmMs: s.echoWarmMs, windowMs: s.echoWindowMs, drainMs: 300 }, s.echoWarmMs + s.echoWindowMs + 30_000);
}

export async function groupEcho(name: ServerName, rep: number): Promise<void> {
  await withCleanup(async (defer) => {
    const server = await startServer(name, 'echo');
    defer(() => stopServer(server));
    const client = startClient();
    defer(() => stopClient(client));
    const e = await echoOnce(client, server, wsUrl(SERVERS[name].kind, server.port), SERVERS[name].kind);
    record(name, rep, 'echo', { ...windowFigures(e), roundTripsPerSec: e.result.perSec, closed: e.result.closedDuring }, e);
  });
}
