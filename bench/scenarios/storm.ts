// Authenticated connect storm on one instance: stormN sockets opened 64 at a time (as after a
// deploy, when every client reconnects at once), anonymous, with HS256 tokens and with RS256
// tokens verified through a JWKS the harness serves on loopback. Connects/s and the server's CPU
// over the storm; the report gives each as a ratio to anonymous in the same run.
// Before each authenticated storm the harness checks that the server refuses a bad token (401):
// a build without auth would accept it, and its figures would be anonymous ones in disguise.
import { WebSocket } from 'ws';
import { settings, type ServerName } from '../lib/args.ts';
import { ask, startClient, stopClient, wsUrl } from '../lib/loadgen.ts';
import { cost, sample, type Sample } from '../lib/proc.ts';
import { withCleanup } from '../lib/processes.ts';
import { noteOtherLoad, record } from '../lib/record.ts';
import { startServer, stopServer } from '../lib/servers.ts';
import { hs256Issuer, rs256Issuer, type AuthVariant, type Issuer } from '../lib/tokens.ts';
import type { Reply } from '../lib/types.ts';

export const STORM_VARIANTS: readonly AuthVariant[] = ['anonymous', 'hs256', 'rs256'];
const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];

// Minted once per run (RS256 signing takes seconds for 10k), reused by every repetition.
const issuers = new Map<AuthVariant, Promise<Issuer>>();
function issuer(variant: AuthVariant): Promise<Issuer> {
  let p = issuers.get(variant);
  if (!p) {
    p = variant === 'hs256' ? hs256Issuer(settings.stormN) : variant === 'rs256' ? rs256Issuer(settings.stormN) : Promise.resolve({ env: {}, tokens: [] });
    issuers.set(variant, p);
  }
  return p;
}

/** The HTTP status a WebSocket upgrade to `url` gets with this Authorization header (101 when it opens). */
export function upgradeStatus(url: string, authorization?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, authorization ? { headers: { authorization } } : {});
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('upgrade check timed out'));
    }, 5_000);
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(101);
      ws.close();
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function stormOnce(name: ServerName, rep: number, variant: AuthVariant): Promise<void> {
  const { env, tokens } = await issuer(variant);
  await withCleanup(async (defer) => {
    const server = await startServer(name, 'storm', env, `storm-${variant}`);
    defer(() => stopServer(server));
    const url = wsUrl('ws', server.port);
    let enforced = 1;
    if (variant !== 'anonymous') {
      const bad = await upgradeStatus(url, 'Bearer not.a.token');
      const good = await upgradeStatus(url, `Bearer ${tokens[0]}`);
      if (good !== 101) throw new Error(`a valid ${variant} token was refused with HTTP ${good}`);
      if (bad !== 401) {
        enforced = 0;
        console.log(`  note: this server accepted a bad token (HTTP ${bad}, not 401): authentication is not enforced, the ${variant} figures are anonymous ones`);
      }
    }
    const client = startClient();
    defer(() => stopClient(client));
    const n = settings.stormN;
    const timeoutMs = 10_000;
    let a: Sample | undefined;
    let b: Sample | undefined;
    const r = await ask<Extract<Reply, { reply: 'connect' }>>(
      client,
      { cmd: 'connect', url, kind: 'ws', n, ownRooms: false, concurrency: settings.connectConcurrency, timeoutMs, sources: SOURCES, marks: true, ...(tokens.length ? { tokens } : {}) },
      'connect',
      Math.max(60_000, n * 20) + timeoutMs + 5_000,
      (mark) => {
        if (mark === 'start') a = sample(server.pid, client.pid);
        else b = sample(server.pid, client.pid);
      },
    );
    if (!a || !b) throw new Error('connect marks missing');
    const c = cost(a, b);
    noteOtherLoad(c.otherCpuPct);
    const res = r.result;
    if (res.connected < n) console.log(`  warning: ${variant}: ${res.connected}/${n} connected (${res.failed} failed, first: ${res.firstError ?? '?'})`);
    record(
      name,
      rep,
      `storm-${variant}`,
      {
        connectsPerSec: (res.connected * 1000) / res.ms,
        connectMs: res.ms,
        connected: res.connected,
        failed: res.failed,
        serverCpuPct: c.serverCpuPct,
        serverCpuUsPerConnect: (c.serverCpuPct * 10 * res.ms) / Math.max(1, res.connected),
        clientCpuPct: c.clientCpuPct,
        otherCpuPct: c.otherCpuPct,
        authEnforced: enforced,
      },
      { cost: c, connect: res },
    );
  });
}

export async function groupStorm(name: ServerName, rep: number): Promise<void> {
  // Rotated by repetition, so that no variant always runs first on a cold machine.
  const order = STORM_VARIANTS.map((_, i) => STORM_VARIANTS[(i + rep - 1) % STORM_VARIANTS.length]!);
  for (const variant of order) await stormOnce(name, rep, variant);
}
