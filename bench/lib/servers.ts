// A server under test as its own process on core 0: started on a free port in an empty
// directory (no stray .env), healthy before use, asked for its memory through the probe.
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ROOT, SERVERS, options, settings, type GroupName, type ServerName } from './args.ts';
import { cleanEnv, freePort, launch, sleep, stopChild } from './processes.ts';

const PROBE = join(ROOT, 'bench/lib/probe.ts');

export interface RunningServer {
  name: ServerName;
  child: ChildProcess;
  port: number;
  pid: number;
  logFd: number;
  cwd: string;
}

export const SERVICE_SETTINGS: Record<GroupName, Record<string, string>> = {
  // Production defaults except what a scenario names: 10k+ sockets need MAX_CONNECTIONS above 10000;
  // throughput scenarios lift the per-socket rate limit (20/s) that they exist to exceed.
  c10k: { MAX_CONNECTIONS: '20000' },
  b1k: {},
  echo: { RATE_LIMIT_PER_SEC: '1000000' },
  nginx: { RATE_LIMIT_PER_SEC: '1000000', TRUST_PROXY: 'true' },
  // REDIS_URL comes from the scenario (its own redis-server).
  redis: { RATE_LIMIT_PER_SEC: '1000000' },
  // The AUTH_* variables come from the scenario, per variant.
  storm: { MAX_CONNECTIONS: '20000' },
  // Otherwise defaults: 10 rooms a socket is under MAX_ROOMS_PER_CONNECTION (64), and each of the
  // 10 senders publishes 10 messages/s (plus its pongs), under RATE_LIMIT_PER_SEC (20).
  rooms: { MAX_CONNECTIONS: '20000' },
  // Backend events: each window runs on a server started with echo's or b1k's settings (so that
  // its figures compare with those groups'), plus the variant's EVENTS, WEBHOOK_*, PUBLISH_HOOK_URL, REDIS_URL.
  events: {},
};

export async function waitHealthy(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`server on ${port} not healthy within ${timeoutMs} ms`);
}

/** `extraEnv` adds to (and overrides) the group's settings, for every server. */
export async function startServer(name: ServerName, group: GroupName, extraEnv: Record<string, string> = {}, label: string = group): Promise<RunningServer> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'socketship-bench-'));
  const logFd = openSync(join(cwd, 'server.log'), 'w');
  // The smoke run pings faster so that a sub-second window sees the heartbeat.
  const ping: Record<string, string> = settings.mode === 'smoke' ? { PING_INTERVAL_MS: '200' } : {};
  const env = cleanEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...ping, ...(name === 'service' ? SERVICE_SETTINGS[group] : {}), ...extraEnv });
  const nodeArgs = ['--expose-gc', '--import', PROBE];
  if (options.profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${resolve(options.profileDir)}`, `--cpu-prof-name=${name}-${label}-${Date.now()}.cpuprofile`);
  const child = launch([process.execPath, ...nodeArgs, SERVERS[name].entry], 0, env, logFd, cwd);
  const running: RunningServer = { name, child, port, pid: child.pid!, logFd, cwd };
  try {
    await waitHealthy(port, child);
  } catch (err) {
    // Not left running on the servers' core through the groups after it.
    await stopServer(running);
    throw err;
  }
  return running;
}

export async function stopServer(s: RunningServer): Promise<void> {
  // --cpu-prof writes its profile on a clean exit only: the service exits 0 on SIGTERM, the peers too.
  await stopChild(s.child, options.profileDir ? 15_000 : 5_000);
  closeSync(s.logFd);
  rmSync(s.cwd, { recursive: true, force: true });
}

interface MemoryReply {
  probe: 'memory';
  rss: number;
  heapUsed: number;
  /** What V8 holds for the heap (used or not): with rss, where memory that is not live objects went. */
  heapTotal: number;
  /** Buffers and other memory outside the heap that JavaScript objects own. */
  external: number;
}

export function memory(s: RunningServer): Promise<MemoryReply> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('memory probe timed out')), 30_000);
    const on = (m: MemoryReply): void => {
      if (m?.probe !== 'memory') return;
      clearTimeout(t);
      s.child.off('message', on);
      res(m);
    };
    s.child.on('message', on);
    s.child.send({ probe: 'memory' });
  });
}
