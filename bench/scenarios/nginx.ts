// The echo scenario through nginx with the project's proxy config: what the proxy costs.
import { SERVERS, type ServerName } from '../lib/args.ts';
import { startClient, stopClient, wsUrl } from '../lib/loadgen.ts';
import { startNginx, stopNginx } from '../lib/nginx.ts';
import { withCleanup } from '../lib/processes.ts';
import { record, windowFigures } from '../lib/record.ts';
import { startServer, stopServer } from '../lib/servers.ts';
import { echoOnce } from './echo.ts';

export async function groupNginx(name: ServerName, rep: number): Promise<void> {
  await withCleanup(async (defer) => {
    const server = await startServer(name, 'nginx');
    defer(() => stopServer(server));
    const nginx = await startNginx(server.port);
    defer(() => stopNginx(nginx));
    const client = startClient();
    defer(() => stopClient(client));
    const e = await echoOnce(client, server, wsUrl(SERVERS[name].kind, nginx.port), SERVERS[name].kind);
    record(name, rep, 'echo-via-nginx', { ...windowFigures(e), roundTripsPerSec: e.result.perSec, closed: e.result.closedDuring }, e);
  });
}
