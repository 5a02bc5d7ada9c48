// The benchmark harness end to end at toy size: a few connections for about a second per
// scenario, unpinned, no nginx. It asserts that the harness runs and writes valid JSON, never
// a timing (benchmarks report, tests assert behaviour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAGS } from '../../bench/lib/flags.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The harness's CLI as `npm run bench` starts it, bounded: a run that starts is killed and fails the test. */
function bench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bench/run.ts', ...args], { cwd: ROOT, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

interface BenchJson {
  mode: string;
  machine: { cores: number; node: string; openFilesLimit: { hard: number }; packages: Record<string, string> };
  servers: string[];
  summary: { scenario: string; metric: string; servers: Record<string, { median: number; n: number }>; ratio: Record<string, number> }[];
  runs: { server: string; scenario: string; variant?: string; figures: Record<string, number> }[];
  skipped: string[];
  events: { scenario: string; metric: string; ratio: Record<string, number> }[];
}

test('npm run bench -- --smoke runs a tiny scenario end to end and writes valid JSON and a chart', { timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['bench/run.ts', '--smoke', '--out', out], { cwd: ROOT, timeout: 110_000 }, (err, so, se) =>
        err ? reject(new Error(`${err.message}\n${so}\n${se}`)) : resolve(so),
      );
    });
    assert.match(stdout, /\| figure \| unit \|/, 'prints the markdown table');
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'));
    assert.ok(json, `a results file in ${files.join(', ')}`);
    assert.ok(files.some((f) => f.endsWith('.svg')), 'and a chart');
    const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchJson;
    assert.equal(result.mode, 'smoke');
    assert.deepEqual(result.skipped, []);
    assert.ok(result.machine.cores >= 1 && result.machine.node.startsWith('v'));
    assert.ok(result.machine.openFilesLimit.hard > 0);
    assert.ok(result.machine.packages.ws && result.machine.packages['socket.io']);
    for (const server of result.servers) {
      const echo = result.runs.find((r) => r.server === server && r.scenario === 'echo');
      assert.ok(echo && echo.figures.roundTripsPerSec! > 0, `${server} echoed`);
      const idle = result.runs.find((r) => r.server === server && r.scenario === 'idle-memory');
      assert.ok(idle && idle.figures.connected! > 0, `${server} held its connections`);
      const hb = result.runs.find((r) => r.server === server && r.scenario === 'heartbeat');
      assert.ok(hb && hb.figures.pongsPerSec! > 0, `${server} pinged and was answered`);
    }
    const echo = result.summary.find((s) => s.scenario === 'echo' && s.metric === 'roundTripsPerSec');
    assert.ok(echo && echo.ratio.service! > 0, 'ratios to bare ws are computed');
    // The connect storm: every mode opened its sockets, with tokens minted by the harness.
    for (const mode of ['anonymous', 'hs256', 'rs256']) {
      const storm = result.runs.find((r) => r.server === 'service' && r.scenario === `storm-${mode}`);
      assert.ok(storm && storm.figures.connected! > 0 && storm.figures.failed === 0, `storm ${mode} connected every socket`);
      assert.ok(storm.figures.connectsPerSec! > 0 && storm.figures.serverCpuPct! >= 0, `storm ${mode} has a rate and a CPU figure`);
    }
    assert.match(stdout, /\| Connect storm rate/, 'prints the storm table');
    assert.ok(files.some((f) => f.endsWith('-scale.svg')), 'and the scale-out chart');
    // Backend events: every in-process variant measured echo, acknowledgements and broadcast; the
    // webhook variant made events that the receiver got, the hook variant's says went through the hook.
    for (const variant of ['off', 'webhook', 'hook']) {
      const run = (scenario: string) => result.runs.find((r) => r.variant === variant && r.scenario === scenario);
      assert.ok((run('events-echo')?.figures.roundTripsPerSec ?? 0) > 0, `events ${variant} echoed`);
      // Not 100%: the toy drain is 200 ms, and a busy machine may take longer (benchmarks report, tests do not time).
      assert.ok((run('events-ack')?.figures.ackedPct ?? 0) > 0, `events ${variant}: says acknowledged`);
      assert.ok((run('events-b1k')?.figures.arrivedPct ?? 0) > 0, `events ${variant}: deliveries arrived`);
    }
    const webhook = result.runs.find((r) => r.variant === 'webhook' && r.scenario === 'events-ack')!.figures;
    assert.ok(webhook.eventsEmitted! > 0 && webhook.eventsReceived! > 0, 'the webhook variant made events and the receiver got them');
    const hook = result.runs.find((r) => r.variant === 'hook' && r.scenario === 'events-ack')!.figures;
    assert.ok(hook.hookCalls! > 0 && hook.hookAccepted === hook.hookCalls, 'the hook variant asked the hook about its says, and each was accepted');
    const off = result.runs.filter((r) => r.variant === 'off').map((r) => r.figures);
    assert.ok(off.every((f) => f.eventsEmitted === 0 && f.hookCalls === 0), 'events off made no events and called no hook');
    const echoRatio = result.events.find((f) => f.scenario === 'events-echo' && f.metric === 'roundTripsPerSec');
    assert.ok(echoRatio && echoRatio.ratio['webhook / off']! > 0 && echoRatio.ratio['hook / off']! > 0, 'ratios to events off are computed');
    assert.match(stdout, /\| figure \(one instance, backend events\)/, 'prints the events table');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the scale-out scenarios stop at once with a clear message when redis-server is missing', { timeout: 30_000 }, async () => {
  // A PATH holding node and nothing else: no redis-server, no taskset.
  const bin = mkdtempSync(join(tmpdir(), 'bench-nopath-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['bench/run.ts', '--quick', '--scenarios', 'redis', '--out', bin], { cwd: ROOT, timeout: 25_000, env: { PATH: bin } }, (err, _so, se) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr: se }),
      );
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /redis-server is not installed/);
    assert.match(stderr, /taskset is missing/);
    assert.deepEqual(readdirSync(bin), ['node'], 'no results written');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('npm run bench -- --help prints every flag with its meaning and default, and runs nothing', { timeout: 30_000 }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'bench-help-')), 'results');
  try {
    for (const help of ['--help', '-h']) {
      // --out beside it: had anything run, results would be written there.
      const { code, stdout, stderr } = await bench(['--quick', help, '--out', out], 20_000);
      assert.equal(code, 0, `${help}: ${stderr}`);
      assert.match(stdout, /^usage: npm run bench -- \[flags\]/);
      for (const f of FLAGS) {
        const line = stdout.split('\n').find((l) => l.trimStart().startsWith(`--${f.name}${f.value ? ` ${f.value}` : ''} `));
        assert.ok(line, `${help}: --${f.name} is listed`);
        assert.match(line, /\S.*; default: \S/, `${help}: --${f.name} has a meaning and a default`);
      }
      assert.match(stdout, /--instances LIST .*default: 2,4,8 \(--quick: 2,4, --smoke: 2\)/, 'the instance counts of each run kind');
      assert.doesNotMatch(stdout, /^bench (full|quick|smoke):/m, 'no run started');
      assert.equal(existsSync(out), false, 'nothing written');
    }
  } finally {
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
});

test('an unknown flag or a bad value stops the harness with exit code 2 and one line naming it', { timeout: 200_000 }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'bench-badflag-')), 'results');
  const cases: [string[], RegExp][] = [
    [['--bogus'], /unknown flag --bogus/],
    [['--instance', '4'], /unknown flag --instance\b/],
    [['--instances', '1,4'], /--instances: .*got "1"/],
    [['--instances', '2,four'], /--instances: .*got "four"/],
    [['--reps'], /--reps needs a value/],
    [['--reps', 'x'], /--reps: .*got "x"/],
    [['--scenarios', 'redis,nope'], /--scenarios: unknown "nope"/],
    [['stray'], /unexpected argument "stray"/],
  ];
  try {
    // One at a time: a harness that wrongly starts a run is killed at the bound before the next case.
    for (const [args, names] of cases) {
      const { code, stdout, stderr } = await bench([...args, '--out', out], 20_000);
      assert.equal(code, 2, `${args.join(' ')}: exit code (stderr: ${stderr})`);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: one line, got ${JSON.stringify(stderr)}`);
      assert.match(lines[0]!, names);
      assert.equal(stdout, '', `${args.join(' ')}: nothing else printed`);
    }
    assert.equal(existsSync(out), false, 'nothing written');
  } finally {
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
});
