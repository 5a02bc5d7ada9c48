// The benchmark harness end to end at toy size: a few connections for about a second per
// scenario, unpinned, no nginx. It asserts that the harness runs and writes valid JSON, never
// a timing (benchmarks report, tests assert behaviour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface BenchJson {
  mode: string;
  machine: { cores: number; node: string; openFilesLimit: { hard: number }; packages: Record<string, string> };
  servers: string[];
  summary: { scenario: string; metric: string; servers: Record<string, { median: number; n: number }>; ratio: Record<string, number> }[];
  runs: { server: string; scenario: string; figures: Record<string, number> }[];
  skipped: string[];
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
