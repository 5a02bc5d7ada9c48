// The scale-out benchmark end to end at toy size: a real redis-server, N instances of the service
// with REDIS_URL and N Socket.IO instances with @socket.io/redis-streams-adapter, at two instance
// counts. It asserts the report's shape and that its numbers are consistent (commands sent never
// above operations, every member reached), never a timing (benchmarks report, tests assert
// behaviour). First, the command-count method itself against a real redis-server.
// Needs redis-server on PATH; without it the harness exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { commandCount, monitorsGone, startMonitor } from '../../bench/lib/monitor.ts';
import { redisStats } from '../../bench/lib/redis-stats.ts';
import { freePort } from '../helpers/ports.ts';
import { redisServer } from '../helpers/redis.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = "redis.call('XADD', KEYS[1], '*', 'text', ARGV[1]); redis.call('PEXPIRE', KEYS[1], 60000); return redis.call('PUBLISH', KEYS[1], ARGV[1])";

test('commands sent: a script call counts once, its redis.call()s count as operations, admin commands MONITOR hides still count', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-count-'));
  const redis = redisServer(await freePort(), dir);
  await redis.start();
  const harness = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
  const app = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
  try {
    await Promise.all([harness.connect(), app.connect()]);
    const sha = String(await app.sendCommand(['SCRIPT', 'LOAD', SCRIPT]));
    const monitor = await startMonitor(redis.url, harness);
    await app.sendCommand(['SET', 'before', '1']);
    const a = await redisStats(harness);
    for (let i = 0; i < 5; i++) await app.sendCommand(['EVALSHA', sha, '1', 'room', `m${i}`]);
    await app.sendCommand(['SET', 'k', 'v']);
    await app.sendCommand(['GET', 'k']);
    // An admin command: Redis never shows it to MONITOR, and it is a request all the same.
    await app.sendCommand(['CLIENT', 'UNBLOCK', '999999', 'TIMEOUT']);
    await app.multi().get('k').del('k').exec();
    const b = await redisStats(harness);
    await app.sendCommand(['SET', 'after', '1']);
    const seen = await monitor.stop(5_000);
    await monitorsGone(harness);
    assert.equal(seen.complete, true, 'both INFO snapshots were found in the MONITOR stream');
    const c = commandCount(a, b, seen, 1);
    // 5 EVALSHA + SET + GET + CLIENT UNBLOCK + MULTI GET DEL EXEC = 12 requests; each EVALSHA is 4 operations.
    assert.equal(c.sentPerMessage, 12);
    assert.equal(c.opsPerMessage, 12 + 15);
    assert.equal(c.scriptInnerPerMessage, 15);
    assert.equal(c.monitorSentPerMessage, 11, 'MONITOR shows every request but the admin one');
    assert.deepEqual(c.sentByCommand, { evalsha: 5, set: 1, get: 2, 'client|unblock': 1, multi: 1, del: 1, exec: 1 });
    assert.deepEqual(c.scriptInnerByCommand, { xadd: 5, pexpire: 5, publish: 5 });
    assert.equal(c.rejectedPerMessage, 0);
  } finally {
    await Promise.allSettled([harness.quit(), app.quit()]);
    await redis.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Run {
  server: string;
  scenario: string;
  instances?: number;
  figures: Record<string, number>;
  redis?: { byCommand: Record<string, number> };
  count?: { complete: boolean; sentByCommand: Record<string, number>; scriptInnerByCommand: Record<string, number> };
}

interface ScaleFigure {
  scenario: string;
  metric: string;
  instances: number;
  ratio?: number;
  servers: Record<string, { n: number; median: number }>;
}

const COUNTS = [2, 3];

test('npm run bench -- --smoke --scenarios redis --instances 2,3 measures both servers at each instance count through a real Redis', { timeout: 150_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  try {
    const args = ['bench/run.ts', '--smoke', '--scenarios', 'redis', '--servers', 'service,sio', '--instances', COUNTS.join(','), '--out', out];
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, args, { cwd: ROOT, timeout: 140_000 }, (err, so, se) => (err ? reject(new Error(`${err.message}\n${so}\n${se}`)) : resolve(so)));
    });
    assert.match(stdout, /\| figure \(N instances \+ one Redis\) \| unit \| instances \|/, 'prints the scale-out table');
    assert.match(stdout, /Scale-out through one Redis at 2, 3 instances of each server: not pinned/, 'says where the instances ran');
    const json = readdirSync(out).find((f) => f.endsWith('.json'));
    assert.ok(json);
    assert.ok(readdirSync(out).some((f) => f.endsWith('-scale.svg')), 'and the scale-out chart');
    const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as { skipped: string[]; settings: { instances: number[] }; runs: Run[]; scaleOut: ScaleFigure[] };
    assert.deepEqual(result.skipped, []);
    assert.deepEqual(result.settings.instances, COUNTS);
    for (const server of ['service', 'sio']) {
      for (const n of COUNTS) {
        const at = `${server} x${n}`;
        const row = (scenario: string): Run => {
          const r = result.runs.find((x) => x.server === server && x.instances === n && x.scenario === scenario);
          assert.ok(r, `${at}: ${scenario} ran`);
          return r;
        };
        const b = row('redis-broadcast-1k');
        assert.equal(b.figures.arrivedPct, 100, `${at}: every member got every message`);
        assert.ok(b.figures.p50Ms! > 0 && b.figures.p99Ms! >= b.figures.p50Ms!, `${at}: p50 and p99`);
        assert.ok(b.figures.farP99Ms! > 0, `${at}: members on the other instances received`);
        assert.ok((b.redis?.byCommand.xadd ?? 0) > 0, `${at}: each message went through a Redis stream`);
        assert.equal(b.figures.countArrivedPct, 100, `${at}: the counting window delivered too`);
        const c = row('redis-ceiling');
        assert.ok(c.figures.ceilingPerSec! > 0, `${at}: a ceiling was found`);
        for (const [what, r] of [['10/s', b], ['ceiling', c]] as const) {
          const f = r.figures;
          assert.ok(r.count?.complete, `${at} ${what}: the counting window was bounded by its snapshots`);
          // Not >= 1: in a toy window a message due inside may reach Redis just after the end mark.
          assert.ok(f.sentPerMessage! > 0 && Number.isFinite(f.sentPerMessage!), `${at} ${what}: commands sent per message (${f.sentPerMessage})`);
          assert.ok(f.sentPerMessage! <= f.opsPerMessage!, `${at} ${what}: commands sent ${f.sentPerMessage} <= operations ${f.opsPerMessage}`);
          assert.ok(Math.abs(f.opsPerMessage! - f.sentPerMessage! - f.scriptInnerPerMessage!) < 1e-9, `${at} ${what}: operations = sent + script-inner`);
          assert.ok(f.monitorSentPerMessage! <= f.sentPerMessage! + 1e-9, `${at} ${what}: MONITOR's own count never above commands sent`);
          assert.ok(f.windowOpsPerMessage! > 0 && Number.isFinite(f.windowOpsPerMessage!), `${at} ${what}: operations per message in the latency window too`);
          assert.ok(f.redisCpuUsPerMessage! > 0 && Number.isFinite(f.redisCpuUsPerMessage!), `${at} ${what}: Redis CPU per message`);
        }
        // Socket.IO's adapter runs no scripts: every operation is a command it sent.
        if (server === 'sio') assert.deepEqual(b.count?.scriptInnerByCommand, {}, `${at}: no script-inner commands`);
        const replay = row('redis-replay');
        assert.equal(replay.figures.caughtUpPct, 100, `${at}: every client caught up on the next instance`);
        assert.equal(replay.figures.recovered, replay.figures.clients, `${at}: the server replayed for every client`);
      }
    }
    for (const metric of ['p99Ms', 'p50Ms', 'sentPerMessage', 'opsPerMessage', 'redisCpuUsPerMessage', 'ceilingPerSec', 'catchUpMs']) {
      for (const n of COUNTS) {
        const f = result.scaleOut.find((x) => x.metric === metric && x.instances === n);
        assert.ok(f && f.servers.service?.n === 1 && f.servers.sio?.n === 1, `summary has ${metric} at ${n} instances for both servers`);
        assert.ok(f.ratio! > 0, `ratio Socketship / Socket.IO for ${metric} at ${n} instances`);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
