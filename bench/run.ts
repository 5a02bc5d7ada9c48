// The benchmark harness: `npm run bench` (full, < 15 min), `npm run bench -- --quick` (< 3 min).
// Starts each server under test as its own process (pinned to core 0), a load generator
// process (pinned to core 1), runs the scenarios with the servers interleaved, and writes a
// markdown table (stdout), bench/results/<date>-<sha>.json and an SVG chart beside it.
//
// Flags: --quick | --smoke (tiny, unpinned, for the test suite) | --reps N | --servers a,b
//        --scenarios c10k,b1k,echo,nginx | --out DIR | --no-pin | --profile DIR (server --cpu-prof)
//        --service-entry PATH (the service's main.ts from another checkout)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, release, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart, type Panel } from './lib/chart.ts';
import { cost, openFilesLimit, sample, type Cost, type Sample } from './lib/proc.ts';
import { fmt, spread, type Spread } from './lib/stats.ts';
import type { Command, ConnectResult, Kind, Reply, WindowResult } from './lib/types.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE = join(ROOT, 'bench/lib/probe.ts');
const CLIENT = join(ROOT, 'bench/client.ts');

type ServerName = 'service' | 'ws' | 'sio';
const SERVERS: Record<ServerName, { entry: string; kind: Kind; label: string }> = {
  service: { entry: join(ROOT, 'src/main.ts'), kind: 'ws', label: 'Socketship' },
  ws: { entry: join(ROOT, 'bench/peers/ws-server.ts'), kind: 'ws', label: 'bare ws' },
  sio: { entry: join(ROOT, 'bench/peers/socketio-server.ts'), kind: 'sio', label: 'Socket.IO' },
};
type GroupName = 'c10k' | 'b1k' | 'echo' | 'nginx';

interface Settings {
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
}

const FULL: Settings = {
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
};
// One repetition at full size with short windows: a look in under 3 minutes, not a result to commit.
const QUICK: Settings = { ...FULL, mode: 'quick', reps: 1, hbWarmMs: 500, hbWindowMs: 3_000, settleMs: 1_500, bWarmMs: 500, bWindowMs: 3_000, bDrainMs: 1_000, fanWarmMs: 1_000, fanWindowMs: 2_500, echoWarmMs: 500, echoWindowMs: 2_000 };
const SMOKE: Settings = {
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
};

// ---- arguments ------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const settings: Settings = { ...(flag('smoke') ? SMOKE : flag('quick') ? QUICK : FULL) };
if (option('reps')) settings.reps = Math.max(1, Number(option('reps')));
const servers = (option('servers')?.split(',') ?? (settings.mode === 'smoke' ? ['service', 'ws'] : ['service', 'ws', 'sio'])) as ServerName[];
const groups = (option('scenarios')?.split(',') ?? (settings.mode === 'smoke' ? ['c10k', 'echo'] : ['c10k', 'b1k', 'echo', 'nginx'])) as GroupName[];
const outDir = resolve(option('out') ?? join(ROOT, 'bench/results'));
const profileDir = option('profile');
// Another checkout's entry point for the service (e.g. a snapshot of a commit, for before/after).
const serviceEntry = option('service-entry');
if (serviceEntry) SERVERS.service.entry = resolve(serviceEntry);
for (const s of servers) if (!(s in SERVERS)) throw new Error(`unknown server ${s}`);

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const pin = !flag('no-pin') && settings.mode !== 'smoke' && hasCommand('taskset') && cpus().length >= 2;
if (!pin && settings.mode !== 'smoke') console.log('note: not pinning processes to cores (taskset missing, --no-pin or one core): figures are noisier');

// ---- processes ------------------------------------------------------------------------------
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cleanEnv = (extra: Record<string, string>): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra });

/** Runs argv with the open-files limit raised to the hard limit, pinned to `core` when pinning. */
function launch(args: string[], core: number, env: Record<string, string>, stdout: 'ignore' | 'inherit' | number, cwd = ROOT): ChildProcess {
  const pinArgs = pin ? ['taskset', '-c', String(core)] : [];
  const child = spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bash', ...pinArgs, ...args], {
    env,
    cwd,
    stdio: ['ignore', stdout, 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 4000) err += d.toString();
  });
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (code && code !== 0 && signal === null) console.error(`child ${args.at(-1)} exited ${code}: ${err.trim().slice(-1000)}`);
  });
  children.add(child);
  return child;
}

async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

async function waitHealthy(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
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

interface RunningServer {
  name: ServerName;
  child: ChildProcess;
  port: number;
  pid: number;
  logFd: number;
  cwd: string;
}

const SERVICE_SETTINGS: Record<GroupName, Record<string, string>> = {
  // Production defaults except what a scenario names: 10k+ sockets need MAX_CONNECTIONS above 10000;
  // throughput scenarios lift the per-socket rate limit (20/s) that they exist to exceed.
  c10k: { MAX_CONNECTIONS: '20000' },
  b1k: {},
  echo: { RATE_LIMIT_PER_SEC: '1000000' },
  nginx: { RATE_LIMIT_PER_SEC: '1000000', TRUST_PROXY: 'true' },
};

async function startServer(name: ServerName, group: GroupName): Promise<RunningServer> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'socketship-bench-')); // no stray .env gets read
  const logFd = openSync(join(cwd, 'server.log'), 'w');
  // The smoke run pings faster so that a sub-second window sees the heartbeat.
  const ping: Record<string, string> = settings.mode === 'smoke' ? { PING_INTERVAL_MS: '200' } : {};
  const env = cleanEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...ping, ...(name === 'service' ? SERVICE_SETTINGS[group] : {}) });
  const nodeArgs = ['--expose-gc', '--import', PROBE];
  if (profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`, `--cpu-prof-name=${name}-${group}-${Date.now()}.cpuprofile`);
  const child = launch([process.execPath, ...nodeArgs, SERVERS[name].entry], 0, env, logFd, cwd);
  await waitHealthy(port, child);
  return { name, child, port, pid: child.pid!, logFd, cwd };
}

async function stopServer(s: RunningServer): Promise<void> {
  // --cpu-prof writes its profile on a clean exit only: the service exits 0 on SIGTERM, the peers too.
  await stopChild(s.child, profileDir ? 15_000 : 5_000);
  closeSync(s.logFd);
  rmSync(s.cwd, { recursive: true, force: true });
}

interface MemoryReply {
  probe: 'memory';
  rss: number;
  heapUsed: number;
}

function memory(s: RunningServer): Promise<MemoryReply> {
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

interface Client {
  child: ChildProcess;
  pid: number;
}

function startClient(): Client {
  const child = launch([process.execPath, CLIENT], 1, cleanEnv({}), 'inherit');
  return { child, pid: child.pid! };
}

function ask<R extends Reply>(client: Client, command: Command, want: R['reply'], timeoutMs: number, onMark?: (m: 'start' | 'end') => void): Promise<R> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => done(new Error(`${command.cmd} timed out after ${timeoutMs} ms`)), timeoutMs);
    const exit = (): void => done(new Error(`load generator exited during ${command.cmd}`));
    const on = (m: Reply): void => {
      if (m.reply === 'mark') onMark?.(m.mark);
      else if (m.reply === 'error') done(new Error(m.message));
      else if (m.reply === want) done(undefined, m as R);
    };
    function done(err?: Error, value?: R): void {
      clearTimeout(t);
      client.child.off('message', on);
      client.child.off('exit', exit);
      if (err) rej(err);
      else res(value!);
    }
    client.child.on('message', on);
    client.child.once('exit', exit);
    client.child.send(command);
  });
}

async function windowed(client: Client, server: RunningServer, command: Command, timeoutMs: number): Promise<{ result: WindowResult; cost: Cost }> {
  let a: Sample | undefined;
  let b: Sample | undefined;
  const reply = await ask<Extract<Reply, { reply: 'window' }>>(client, command, 'window', timeoutMs, (mark) => {
    if (mark === 'start') a = sample(server.pid, client.pid);
    else b = sample(server.pid, client.pid);
  });
  if (!a || !b) throw new Error('window marks missing');
  return { result: reply.result, cost: cost(a, b) };
}

const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];

async function connectAll(client: Client, url: string, kind: Kind, n: number, ownRooms: boolean): Promise<ConnectResult> {
  const timeoutMs = 10_000;
  const r = await ask<Extract<Reply, { reply: 'connect' }>>(
    client,
    { cmd: 'connect', url, kind, n, ownRooms, concurrency: settings.connectConcurrency, timeoutMs, sources: SOURCES },
    'connect',
    Math.max(60_000, n * 20) + timeoutMs + 5_000,
  );
  if (r.result.connected < n) console.log(`  warning: ${r.result.connected}/${n} connected (${r.result.failed} failed, first: ${r.result.firstError ?? '?'})`);
  return r.result;
}

function wsUrl(kind: Kind, port: number): string {
  return kind === 'ws' ? `ws://127.0.0.1:${port}/ws` : `http://127.0.0.1:${port}`;
}

// ---- nginx with the project's proxy config --------------------------------------------------
const NGINX_TEMPLATES = join(ROOT, 'infra/nginx/templates');

function nginxSkipReason(): string | undefined {
  if (!hasCommand('nginx')) return 'nginx is not installed';
  if (!existsSync(join(NGINX_TEMPLATES, 'socketship/app.conf.template')) || !existsSync(join(NGINX_TEMPLATES, 'default.conf.template'))) return 'infra/nginx templates not found';
  return undefined;
}

function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (m, k: string) => vars[k] ?? m);
}

async function startNginx(appPort: number): Promise<{ child: ChildProcess; port: number; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'socketship-bench-nginx-'));
  const vars = { APP_UPSTREAM: `127.0.0.1:${appPort}`, PROXY_TIMEOUT: '3600s', SOCKETSHIP_RESOLVERS: '127.0.0.1' };
  writeFileSync(join(dir, 'app.conf'), render(readFileSync(join(NGINX_TEMPLATES, 'socketship/app.conf.template'), 'utf8'), vars));
  // The project's default.conf (map, resolver, gzip), with its site include replaced by one plain server.
  const site = render(readFileSync(join(NGINX_TEMPLATES, 'default.conf.template'), 'utf8'), vars).replace(
    /^\s*include\s+\S*active\.conf;\s*$/m,
    `server {\n    listen 127.0.0.1:${port};\n    server_name _;\n    include ${dir}/app.conf;\n}`,
  );
  writeFileSync(join(dir, 'site.conf'), site);
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      'worker_rlimit_nofile 20000;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 4096; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/site.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const child = launch(['nginx', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], 0, cleanEnv({}), 'ignore');
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      // starting
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8').slice(-500)}`);
    await sleep(50);
  }
  return { child, port, dir };
}

// ---- scenarios ------------------------------------------------------------------------------
interface Row {
  server: ServerName;
  rep: number;
  scenario: string;
  figures: Record<string, number>;
  cost?: Cost;
  window?: WindowResult;
  connect?: ConnectResult;
}
const rows: Row[] = [];
const skipped: string[] = [];
/** Rows of group runs discarded because other load disturbed them (kept in the JSON). */
const retried: { group: GroupName; server: ServerName; rep: number; rows: Row[] }[] = [];

function record(server: ServerName, rep: number, scenario: string, figures: Record<string, number>, extra: { connect?: ConnectResult; result?: WindowResult; cost?: Cost } = {}): void {
  const row: Row = { server, rep, scenario, figures };
  if (extra.cost) row.cost = extra.cost;
  if (extra.result) row.window = extra.result;
  if (extra.connect) row.connect = extra.connect;
  rows.push(row);
}

/** Other work on the machine above this (in % of a core) during a window makes the group run again. */
const DISTURBED_PCT = 30;
let disturbed = false;

function windowFigures(w: { result: WindowResult; cost: Cost }): Record<string, number> {
  if (w.cost.otherCpuPct > DISTURBED_PCT) disturbed = true;
  return {
    otherCpuPct: w.cost.otherCpuPct,
    serverCpuPct: w.cost.serverCpuPct,
    serverSysPct: w.cost.serverSysPct,
    clientCpuPct: w.cost.clientCpuPct,
    machineBusyPct: w.cost.machineBusyPct,
    softirqPct: w.cost.softirqPct,
    p50Ms: w.result.latencyMs.p50,
    p99Ms: w.result.latencyMs.p99,
    maxMs: w.result.latencyMs.max,
  };
}

async function groupC10k(name: ServerName, rep: number): Promise<void> {
  const s = settings;
  const server = await startServer(name, 'c10k');
  const client = startClient();
  try {
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
  } finally {
    client.child.send({ cmd: 'exit' } satisfies Command);
    await stopChild(client.child, 5000);
    await stopServer(server);
  }
}

async function groupB1k(name: ServerName, rep: number): Promise<void> {
  const s = settings;
  const server = await startServer(name, 'b1k');
  const client = startClient();
  try {
    await connectAll(client, wsUrl(SERVERS[name].kind, server.port), SERVERS[name].kind, s.smallN, false);
    await sleep(s.settleMs / 2);
    const b = await windowed(client, server, { cmd: 'broadcast', publishers: 1, rate: s.b1kRate, warmMs: s.bWarmMs, windowMs: s.bWindowMs, drainMs: s.bDrainMs, bytes: s.bytes }, 60_000);
    record(name, rep, 'broadcast-1k', { ...windowFigures(b), deliveriesPerSec: b.result.perSec, arrivedPct: (100 * b.result.arrived) / Math.max(1, b.result.expected), closed: b.result.closedDuring }, b);
  } finally {
    client.child.send({ cmd: 'exit' } satisfies Command);
    await stopChild(client.child, 5000);
    await stopServer(server);
  }
}

async function echoOnce(client: Client, server: RunningServer, url: string, kind: Kind): Promise<{ result: WindowResult; cost: Cost }> {
  const s = settings;
  await connectAll(client, url, kind, s.echoConns, true);
  return windowed(client, server, { cmd: 'echo', inflight: s.inflight, bytes: s.bytes, warmMs: s.echoWarmMs, windowMs: s.echoWindowMs, drainMs: 300 }, s.echoWarmMs + s.echoWindowMs + 30_000);
}

async function groupEcho(name: ServerName, rep: number): Promise<void> {
  const server = await startServer(name, 'echo');
  const client = startClient();
  try {
    const e = await echoOnce(client, server, wsUrl(SERVERS[name].kind, server.port), SERVERS[name].kind);
    record(name, rep, 'echo', { ...windowFigures(e), roundTripsPerSec: e.result.perSec, closed: e.result.closedDuring }, e);
  } finally {
    client.child.send({ cmd: 'exit' } satisfies Command);
    await stopChild(client.child, 5000);
    await stopServer(server);
  }
}

async function groupNginx(name: ServerName, rep: number): Promise<void> {
  const server = await startServer(name, 'nginx');
  const nginx = await startNginx(server.port);
  const client = startClient();
  try {
    const e = await echoOnce(client, server, wsUrl(SERVERS[name].kind, nginx.port), SERVERS[name].kind);
    record(name, rep, 'echo-via-nginx', { ...windowFigures(e), roundTripsPerSec: e.result.perSec, closed: e.result.closedDuring }, e);
  } finally {
    client.child.send({ cmd: 'exit' } satisfies Command);
    await stopChild(client.child, 5000);
    await stopChild(nginx.child, 3000);
    rmSync(nginx.dir, { recursive: true, force: true });
    await stopServer(server);
  }
}

const GROUPS: Record<GroupName, (name: ServerName, rep: number) => Promise<void>> = { c10k: groupC10k, b1k: groupB1k, echo: groupEcho, nginx: groupNginx };

// ---- summary --------------------------------------------------------------------------------
interface Figure {
  scenario: string;
  metric: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  /** Target for Socketship as a ratio to bare ws. */
  target?: number;
}

const FIGURES: Figure[] = [
  { scenario: 'idle-memory', metric: 'bytesPerConn', title: `Idle memory per connection (RSS, ${FULL.bigN / 1000}k)`, unit: 'bytes', better: 'lower', target: 1.1 },
  { scenario: 'idle-memory', metric: 'heapBytesPerConn', title: 'Idle heap per connection', unit: 'bytes', better: 'lower' },
  { scenario: 'idle-memory', metric: 'connectMs', title: `Time to open ${FULL.bigN / 1000}k sockets (64 at a time, presence on)`, unit: 'ms', better: 'lower' },
  { scenario: 'heartbeat', metric: 'serverCpuPct', title: 'Heartbeat CPU, 1 s ping', unit: '% of a core', better: 'lower', target: 0.85 },
  { scenario: 'heartbeat', metric: 'serverSysPct', title: 'Heartbeat CPU in the kernel (stime)', unit: '% of a core', better: 'lower' },
  { scenario: 'heartbeat', metric: 'machineBusyPct', title: 'Heartbeat machine busy (server + clients)', unit: '% of machine', better: 'lower' },
  { scenario: 'echo', metric: 'roundTripsPerSec', title: 'Chat echo throughput (100 x 8 in flight)', unit: 'round trips/s', better: 'higher', target: 0.9 },
  { scenario: 'echo', metric: 'p99Ms', title: 'Chat echo p99', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-1k', metric: 'p50Ms', title: 'Broadcast 1k x 10/s p50', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-1k', metric: 'p99Ms', title: 'Broadcast 1k x 10/s p99', unit: 'ms', better: 'lower', target: 0.9 },
  { scenario: 'broadcast-1k', metric: 'maxMs', title: 'Broadcast 1k x 10/s max', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-1k', metric: 'serverCpuPct', title: 'Broadcast 1k x 10/s server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'broadcast-10k', metric: 'p50Ms', title: 'Broadcast 10k x 2/s p50', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-10k', metric: 'p99Ms', title: 'Broadcast 10k x 2/s p99', unit: 'ms', better: 'lower', target: 0.9 },
  { scenario: 'broadcast-10k', metric: 'maxMs', title: 'Broadcast 10k x 2/s max', unit: 'ms', better: 'lower' },
  { scenario: 'broadcast-10k', metric: 'serverCpuPct', title: 'Broadcast 10k x 2/s server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'fanout-10k', metric: 'deliveriesPerSec', title: 'Fan-out capacity at 10k (overloaded)', unit: 'deliveries/s', better: 'higher', target: 1.3 },
  { scenario: 'fanout-10k', metric: 'serverCpuPct', title: 'Fan-out server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'fanout-10k', metric: 'clientCpuPct', title: 'Fan-out load generator CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'echo-via-nginx', metric: 'roundTripsPerSec', title: 'Chat echo through nginx', unit: 'round trips/s', better: 'higher' },
];

interface Summary extends Figure {
  servers: Partial<Record<ServerName, Spread>>;
  /** Median of the server / median of bare ws, same run. */
  ratio: Partial<Record<ServerName, number>>;
  /** Through nginx / direct, same server. */
  viaNginxRatio?: Partial<Record<ServerName, number>>;
  met?: boolean;
  beatsSocketIo?: boolean;
}

function summarise(): Summary[] {
  const out: Summary[] = [];
  for (const f of FIGURES) {
    const per: Partial<Record<ServerName, Spread>> = {};
    for (const s of servers) {
      const v = rows.filter((r) => r.server === s && r.scenario === f.scenario).map((r) => r.figures[f.metric] ?? Number.NaN);
      if (v.length) per[s] = spread(v);
    }
    if (Object.keys(per).length === 0) continue;
    const ratio: Partial<Record<ServerName, number>> = {};
    const base = per.ws?.median;
    for (const s of servers) if (per[s] && base) ratio[s] = per[s].median / base;
    const item: Summary = { ...f, servers: per, ratio };
    if (f.scenario === 'echo-via-nginx') {
      item.viaNginxRatio = {};
      for (const s of servers) {
        const direct = spread(rows.filter((r) => r.server === s && r.scenario === 'echo').map((r) => r.figures.roundTripsPerSec ?? Number.NaN)).median;
        if (per[s]) item.viaNginxRatio[s] = per[s].median / direct;
      }
    }
    const r = ratio.service;
    if (f.target !== undefined && r !== undefined && Number.isFinite(r)) item.met = f.better === 'lower' ? r <= f.target : r >= f.target;
    const sio = per.sio?.median;
    const svc = per.service?.median;
    if (f.target !== undefined && sio !== undefined && svc !== undefined) item.beatsSocketIo = f.better === 'lower' ? svc < sio : svc > sio;
    out.push(item);
  }
  return out;
}

function cell(s: Spread | undefined): string {
  if (!s || s.n === 0) return '-';
  return s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})` : fmt(s.median);
}

function table(summary: Summary[]): string {
  const cols = servers.map((s) => SERVERS[s].label);
  const ratioCols = servers.filter((s) => s !== 'ws').map((s) => `${SERVERS[s].label} / ws`);
  const lines = [
    `| figure | unit | ${cols.join(' | ')} | ${ratioCols.join(' | ')} | target | met |`,
    `|---|---|${cols.map(() => '---:').join('|')}|${ratioCols.map(() => '---:').join('|')}|---|---|`,
  ];
  for (const f of summary) {
    const ratios = servers.filter((s) => s !== 'ws').map((s) => {
      const r = f.ratio[s];
      const n = f.viaNginxRatio?.[s];
      return `${r !== undefined ? `${r.toFixed(2)}x` : '-'}${n !== undefined ? ` (${n.toFixed(2)}x direct)` : ''}`;
    });
    const target = f.target !== undefined ? `${f.better === 'lower' ? '<=' : '>='} ${f.target.toFixed(2)}x` : '';
    const met = f.met === undefined ? '' : `${f.met ? 'yes' : 'NO'}${f.beatsSocketIo === false ? ', not better than Socket.IO' : ''}`;
    lines.push(`| ${f.title} | ${f.unit} | ${servers.map((s) => cell(f.servers[s])).join(' | ')} | ${ratios.join(' | ')} | ${target} | ${met} |`);
  }
  return lines.join('\n');
}

function chart(summary: Summary[], subtitle: string): string {
  const pick = (scenario: string, metric: string): Summary | undefined => summary.find((f) => f.scenario === scenario && f.metric === metric);
  const bars = (f: Summary | undefined, scale = 1): Panel['groups'][number]['bars'] =>
    servers.map((s) => {
      const v = f?.servers[s];
      return { label: SERVERS[s].label, value: v ? { ...v, median: v.median * scale, min: v.min * scale, max: v.max * scale } : spread([]) };
    });
  const panels: Panel[] = [
    {
      title: 'Broadcast latency p99',
      unit: 'ms, lower is better',
      groups: [
        { name: '1k x 10/s', bars: bars(pick('broadcast-1k', 'p99Ms')) },
        { name: '10k x 2/s', bars: bars(pick('broadcast-10k', 'p99Ms')) },
      ],
    },
    {
      title: 'Broadcast latency p50',
      unit: 'ms, lower is better',
      groups: [
        { name: '1k x 10/s', bars: bars(pick('broadcast-1k', 'p50Ms')) },
        { name: '10k x 2/s', bars: bars(pick('broadcast-10k', 'p50Ms')) },
      ],
    },
    {
      title: 'Memory per idle connection',
      unit: 'KB (RSS and heap), lower is better',
      groups: [
        { name: 'RSS', bars: bars(pick('idle-memory', 'bytesPerConn'), 1 / 1024) },
        { name: 'heap', bars: bars(pick('idle-memory', 'heapBytesPerConn'), 1 / 1024) },
      ],
    },
    {
      title: 'Throughput',
      unit: 'thousands per second, higher is better',
      groups: [
        { name: 'echo', bars: bars(pick('echo', 'roundTripsPerSec'), 1 / 1000) },
        { name: 'fan-out 10k', bars: bars(pick('fanout-10k', 'deliveriesPerSec'), 1 / 1000) },
      ],
    },
  ];
  return renderChart('Socketship vs bare ws vs Socket.IO', subtitle, servers.map((s) => SERVERS[s].label), panels);
}

// ---- main -----------------------------------------------------------------------------------
function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const sha = git(['rev-parse', '--short', 'HEAD']) || 'nogit';
  const dirty = git(['status', '--porcelain', '--', 'src', 'bench']) !== '';
  const hardLimit = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
  const nginxSkip = groups.includes('nginx') ? nginxSkipReason() : undefined;
  if (nginxSkip) {
    skipped.push(`echo-via-nginx: ${nginxSkip}`);
    console.log(`note: skipping the via-nginx scenario: ${nginxSkip}`);
  }
  const plan = groups.filter((g) => !(g === 'nginx' && nginxSkip));
  console.log(`bench ${settings.mode}: ${settings.reps} reps x [${plan.join(', ')}] x [${servers.join(', ')}], pinned: ${pin}, fd hard limit ${hardLimit}`);
  for (let rep = 1; rep <= settings.reps; rep++) {
    for (const g of plan) {
      for (const name of servers) {
        // A group whose windows saw other work on the machine runs once more (the machine may be shared).
        for (let attempt = 1; attempt <= 2; attempt++) {
          const t = Date.now();
          const before = rows.length;
          disturbed = false;
          try {
            await GROUPS[g](name, rep);
          } catch (err) {
            console.log(`  ${g} ${name} rep ${rep} FAILED: ${(err as Error).message}`);
            skipped.push(`${g} ${name} rep ${rep}: ${(err as Error).message}`);
          }
          console.log(`  rep ${rep} ${g.padEnd(5)} ${name.padEnd(7)} ${((Date.now() - t) / 1000).toFixed(1)} s${disturbed ? ' (disturbed by other load)' : ''}`);
          if (!disturbed || attempt === 2 || settings.mode === 'smoke') break;
          retried.push({ group: g, server: name, rep, rows: rows.splice(before) });
        }
      }
    }
  }
  // The limit a server actually ran with (children raise soft to hard).
  const probe = launch(['sleep', '1'], 0, cleanEnv({}), 'ignore');
  await sleep(200);
  const fdLimit = probe.pid ? openFilesLimit(probe.pid) : undefined;
  await stopChild(probe);

  const summary = summarise();
  const durationS = (Date.now() - started) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const machine = {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    packages: { ws: version('ws'), 'socket.io': version('socket.io'), 'socket.io-client': version('socket.io-client'), 'hdr-histogram-js': version('hdr-histogram-js') },
    openFilesLimit: fdLimit ?? { soft: hardLimit, hard: hardLimit },
    pinned: pin ? { servers: 'core 0', loadGenerator: 'core 1' } : false,
  };
  const result = { date: new Date().toISOString(), git: { sha, dirty }, mode: settings.mode, durationS, settings, machine, servers, summary, skipped, runs: rows, disturbedRuns: retried };
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `${date}-${sha}${settings.mode === 'full' ? '' : `-${settings.mode}`}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const subtitle = `${settings.mode} run ${date}, git ${sha}${dirty ? '+' : ''}, ${machine.cores} cores, node ${process.version}, median of ${settings.reps} (whiskers: min-max)`;
  writeFileSync(`${base}.svg`, chart(summary, subtitle));
  console.log(`\n${table(summary)}\n`);
  if (skipped.length) console.log(`skipped or failed:\n${skipped.map((s) => `- ${s}`).join('\n')}\n`);
  console.log(`machine: ${machine.cores} cores (${machine.cpuModel}), node ${machine.node}, open files ${machine.openFilesLimit.soft}/${machine.openFilesLimit.hard}`);
  console.log(`wrote ${base}.json and ${base}.svg in ${durationS.toFixed(0)} s`);
}

await main();
process.exit(0);
