// The scale-out benchmark end to end at toy size: a real redis-server, two instances of the
// service with REDIS_URL and two Socket.IO instances with @socket.io/redis-streams-adapter. It
// asserts that the scenarios ran and delivered across instances, never a timing (benchmarks
// report, tests assert behaviour). Needs redis-server on PATH; without it the harness exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  server: string;
  scenario: string;
  figures: Record<string, number>;
  redis?: { byCommand: Record<string, number> };
}

test('npm run bench -- --smoke --scenarios redis delivers across instances through a real Redis for both servers', { timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['bench/run.ts', '--smoke', '--scenarios', 'redis', '--servers', 'service,sio', '--out', out], { cwd: ROOT, timeout: 110_000 }, (err, so, se) =>
        err ? reject(new Error(`${err.message}\n${so}\n${se}`)) : resolve(so),
      );
    });
    assert.match(stdout, /\| figure \(two instances \+ Redis\)/, 'prints the scale-out table');
    const json = readdirSync(out).find((f) => f.endsWith('.json'));
    assert.ok(json);
    const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as { skipped: string[]; runs: Run[]; scaleOut: { metric: string; ratio?: number }[] };
    assert.deepEqual(result.skipped, []);
    for (const server of ['service', 'sio']) {
      const b = result.runs.find((r) => r.server === server && r.scenario === 'redis-broadcast-1k');
      assert.ok(b, `${server} broadcast ran`);
      assert.equal(b.figures.arrivedPct, 100, `${server}: every member got every message`);
      assert.ok(b.figures.farP99Ms! > 0, `${server}: members on the other instance received`);
      assert.ok((b.redis?.byCommand.xadd ?? 0) > 0, `${server}: each message went through a Redis stream`);
      const replay = result.runs.find((r) => r.server === server && r.scenario === 'redis-replay');
      assert.ok(replay && replay.figures.caughtUpPct === 100, `${server}: every client caught up on the other instance`);
      assert.equal(replay.figures.recovered, replay.figures.clients, `${server}: the server replayed for every client`);
      const ceiling = result.runs.find((r) => r.server === server && r.scenario === 'redis-ceiling');
      assert.ok(ceiling && ceiling.figures.stepsTried! >= 1);
    }
    assert.ok(result.scaleOut.some((f) => f.metric === 'p99Ms' && f.ratio! > 0), 'ratios Socketship / Socket.IO are computed');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
