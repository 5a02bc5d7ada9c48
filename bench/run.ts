// The benchmark harness: `npm run bench` (full: 3 repetitions of every group, the redis group at
// 2, 4 and 8 instances its longest part), `npm run bench -- --quick` (one short repetition).
// Starts each server under test as its own process (pinned to core 0), a load generator
// process (pinned to core 1), runs the scenarios with the servers interleaved, and writes a
// markdown table (stdout), bench/results/<date>-<sha>.json and an SVG chart beside it.
// Flags: `npm run bench -- --help` (bench/lib/flags.ts). Scenarios: bench/scenarios/, one file each.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT, options, settings, type GroupName, type ServerName } from './lib/args.ts';
import { nginxSkipReason } from './lib/nginx.ts';
import { openFilesLimit } from './lib/proc.ts';
import { cleanEnv, launch, pin, sleep, stopChild } from './lib/processes.ts';
import { resetDisturbed, retried, rows, skipped, wasDisturbed } from './lib/record.ts';
import { chart } from './lib/report-chart.ts';
import { summarise, table } from './lib/report.ts';
import { scaleChart } from './lib/report-scale-chart.ts';
import { instanceCounts, scaleHeading, scaleTable, summariseScale } from './lib/report-scale.ts';
import { stormTable, summariseStorm } from './lib/report-storm.ts';
import { roomsTable, summariseRooms } from './lib/report-rooms.ts';
import { eventsTable, summariseEvents } from './lib/report-events.ts';
import { groupB1k } from './scenarios/b1k.ts';
import { groupC10k } from './scenarios/c10k.ts';
import { groupEcho } from './scenarios/echo.ts';
import { eventVariants, groupEvents, variantAt } from './scenarios/events.ts';
import { groupNginx } from './scenarios/nginx.ts';
import { groupRedis } from './scenarios/redis.ts';
import { groupRooms } from './scenarios/rooms.ts';
import { groupStorm } from './scenarios/storm.ts';
import { redisMissing } from './lib/redis.ts';

const { servers, groups, outDir } = options;
if (!pin && settings.mode !== 'smoke') console.log('note: not pinning processes to cores (taskset missing, --no-pin or one core): figures are noisier');

interface Group {
  /** `variant`: one of the group's variants, when it has any. */
  run: (name: ServerName, rep: number, variant: number | undefined) => Promise<void>;
  /** The servers the group compares (default: every server of the run). */
  only?: readonly ServerName[];
  /** Run once each, every server in turn for each (the scale-out group: its instance counts). */
  variants?: readonly number[];
  /** How a variant is named in the progress lines (default: `<group> x<variant>`). */
  label?: (variant: number, rep: number) => string;
}
const GROUPS: Record<GroupName, Group> = {
  c10k: { run: groupC10k },
  b1k: { run: groupB1k },
  echo: { run: groupEcho },
  nginx: { run: groupNginx },
  // Bare ws has no multi-instance mode; the connect storm compares the service with itself (auth off, HS256, RS256).
  redis: { run: (name, rep, n) => groupRedis(name, rep, n ?? settings.instances[0]!), only: ['service', 'sio'], variants: settings.instances },
  storm: { run: groupStorm, only: ['service'] },
  // Bare ws has no many-rooms protocol: Socketship against Socket.IO.
  rooms: { run: groupRooms, only: ['service', 'sio'] },
  // The service against itself: events off, webhooks, publish hook (and through Redis), a variant a group run.
  events: { run: (_name, rep, v) => groupEvents(rep, v ?? 0), only: ['service'], variants: eventVariants().map((_, i) => i), label: (v, rep) => `events ${variantAt(rep, v)}` },
};

/** The scale-out groups need a real Redis and pinned processes: without them, stop with the reason. */
function requireTools(plan: readonly GroupName[]): void {
  const problems: string[] = [];
  if (plan.includes('redis') || (plan.includes('events') && settings.eventsRedis)) {
    const missing = redisMissing();
    if (missing) problems.push(missing);
  }
  if ((plan.includes('redis') || plan.includes('storm')) && !pin && !options.noPin && settings.mode !== 'smoke') problems.push('taskset is missing (util-linux) or the machine has one core: the scale-out scenarios pin servers and load generator to separate cores');
  if (problems.length === 0) return;
  console.error(`bench: cannot run the scale-out scenarios:\n${problems.map((p) => `- ${p}`).join('\n')}\n(leave them out with --scenarios c10k,b1k,echo,nginx,rooms; the events group's Redis variants need redis-server too)`);
  process.exit(2);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'missing';
  }
}

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

/** Every group (and variant) for every server, repetitions interleaved; a disturbed group run goes once more. */
async function runAll(plan: GroupName[]): Promise<void> {
  for (let rep = 1; rep <= settings.reps; rep++) {
    for (const g of plan) {
      for (const variant of GROUPS[g].variants ?? [undefined]) {
        const label = variant === undefined ? g : (GROUPS[g].label?.(variant, rep) ?? `${g} x${variant}`);
        for (const name of servers.filter((n) => GROUPS[g].only?.includes(n) ?? true)) {
          // A group whose windows saw other work on the machine runs once more (the machine may be shared).
          for (let attempt = 1; attempt <= 2; attempt++) {
            const t = Date.now();
            const before = rows.length;
            resetDisturbed();
            try {
              await GROUPS[g].run(name, rep, variant);
            } catch (err) {
              console.log(`  ${label} ${name} rep ${rep} FAILED: ${(err as Error).message}`);
              skipped.push(`${label} ${name} rep ${rep}: ${(err as Error).message}`);
            }
            console.log(`  rep ${rep} ${label.padEnd(5)} ${name.padEnd(7)} ${((Date.now() - t) / 1000).toFixed(1)} s${wasDisturbed() ? ' (disturbed by other load)' : ''}`);
            if (!wasDisturbed() || attempt === 2 || settings.mode === 'smoke') break;
            retried.push({ group: g, ...(variant === undefined ? {} : { variant }), server: name, rep, rows: rows.splice(before) });
          }
        }
      }
    }
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  // Load averages at the start and end: whether the machine was shared, beside each window's otherCpuPct.
  const loadStart = loadavg();
  const nginxSkip = groups.includes('nginx') ? nginxSkipReason() : undefined;
  const plan = groups.filter((g) => !(g === 'nginx' && nginxSkip));
  requireTools(plan);
  if (nginxSkip) {
    skipped.push(`echo-via-nginx: ${nginxSkip}`);
    console.log(`note: skipping the via-nginx scenario: ${nginxSkip}`);
  }
  const sha = git(['rev-parse', '--short', 'HEAD']) || 'nogit';
  const dirty = git(['status', '--porcelain', '--', 'src', 'bench']) !== '';
  const hardLimit = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
  const instances = plan.includes('redis') ? `, redis at ${settings.instances.join(', ')} instances` : '';
  console.log(`bench ${settings.mode}: ${settings.reps} reps x [${plan.join(', ')}] x [${servers.join(', ')}]${instances}, pinned: ${pin}, fd hard limit ${hardLimit}`);
  await runAll(plan);
  // The limit a server actually ran with (children raise soft to hard).
  const probe = launch(['sleep', '1'], 0, cleanEnv({}), 'ignore');
  await sleep(200);
  const fdLimit = probe.pid ? openFilesLimit(probe.pid) : undefined;
  await stopChild(probe);

  const summary = summarise(rows, servers);
  const scaleOut = summariseScale(rows);
  const storm = summariseStorm(rows);
  const rooms = summariseRooms(rows);
  const events = summariseEvents(rows);
  const durationS = (Date.now() - started) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const machine = {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    packages: Object.fromEntries(['ws', 'socket.io', 'socket.io-client', 'hdr-histogram-js', '@socket.io/redis-streams-adapter', 'redis', 'jose'].map((p) => [p, version(p)])),
    redisServer: plan.includes('redis') || (plan.includes('events') && settings.eventsRedis) ? redisVersion() : undefined,
    loadAverage: { start: loadStart, end: loadavg() },
    openFilesLimit: fdLimit ?? { soft: hardLimit, hard: hardLimit },
    pinned: pin ? { servers: `core 0 (in the scale-out scenarios every instance: ${settings.instances.join(', ')} instances share that one core)`, loadGenerator: 'core 1', redis: 'core 1', backendPeer: 'core 1' } : false,
  };
  const result = { date: new Date().toISOString(), git: { sha, dirty }, mode: settings.mode, durationS, settings, machine, servers, summary, scaleOut, storm, rooms, events, skipped, runs: rows, disturbedRuns: retried };
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, options.name ?? `${date}-${sha}${settings.mode === 'full' ? '' : `-${settings.mode}`}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const subtitle = `${settings.mode} run ${date}, git ${sha}${dirty ? '+' : ''}, ${machine.cores} cores, node ${process.version}, median of ${settings.reps} (whiskers: min-max)`;
  // A run of only the groups with tables of their own has nothing for the main chart.
  const others = scaleOut.length || storm.length || rooms.length || events.length;
  const mainSvg = summary.length || !others ? `${base}.svg` : undefined;
  if (mainSvg) writeFileSync(mainSvg, chart(summary, servers, subtitle));
  const scaleSvg = scaleOut.length || storm.length ? `${base}-scale.svg` : undefined;
  const sharing = scaleOut.length ? (pin ? ', every instance on core 0 (one shared core), Redis and load generator on core 1' : ', not pinned') : '';
  if (scaleSvg) writeFileSync(scaleSvg, scaleChart(scaleOut, storm, `${subtitle}${sharing}`));
  if (summary.length || !others) console.log(`\n${table(summary, servers)}\n`);
  if (scaleOut.length) console.log(`${scaleHeading(instanceCounts(rows), settings.redisMembers, pin)}\n\n${scaleTable(scaleOut)}\n`);
  if (storm.length) console.log(`${stormTable(storm)}\n`);
  if (rooms.length) console.log(`${roomsTable(rooms)}\n`);
  if (events.length) console.log(`${eventsTable(events)}\n`);
  if (skipped.length) console.log(`skipped or failed:\n${skipped.map((s) => `- ${s}`).join('\n')}\n`);
  console.log(`machine: ${machine.cores} cores (${machine.cpuModel}), node ${machine.node}, open files ${machine.openFilesLimit.soft}/${machine.openFilesLimit.hard}, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')} at start, ${machine.loadAverage.end.map((l) => l.toFixed(2)).join(' ')} at end, ${retried.length} group run(s) run again as disturbed`);
  console.log(`wrote ${[`${base}.json`, mainSvg, scaleSvg].filter(Boolean).join(' and ')} in ${durationS.toFixed(0)} s`);
}

await main();
process.exit(0);
