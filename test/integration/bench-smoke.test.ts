// The benchmark harness end to end at toy size: a few connections for about a second per
// scenario, unpinned, no nginx. It asserts that the harness runs and writes valid JSON, never
// a timing (benchmarks report, tests assert behaviour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
