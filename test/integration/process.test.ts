import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { TestClient } from '../helpers/client.ts';
import { freePort, runService, waitHealthy } from '../helpers/process.ts';
import { eventually } from '../helpers/server.ts';
import { tcpSocketOf } from '../../src/realtime/ws-internals.ts';

for (const [name, value] of [
  ['PORT', 'eighty'],
  ['PING_INTERVAL_MS', '-5'],
  ['ALLOWED_ORIGINS', 'not-an-origin'],
  ['TRUST_PROXY', 'maybe'],
  ['ALLOWED_HOSTS', 'exa mple.com'],
  ['HISTORY_MAX_BYTES', '10'],
] as const) {
  test(`a bad ${name} stops start-up: exit 1, one line naming it, no stack trace`, async () => {
    const service = runService({ [name]: value });
    const { code } = await service.exited;
    assert.equal(code, 1);
    const lines = service.stderr().trim().split('\n');
    assert.equal(lines.length, 1, service.stderr());
    assert.ok(lines[0]!.includes(name) && lines[0]!.includes(value) && lines[0]!.includes('expected'), lines[0]);
    assert.doesNotMatch(service.stderr(), /\n\s+at /);
  });
}

test('.env is read, and real environment variables win over it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'socketship-env-'));
  await writeFile(join(dir, '.env'), 'LOG_LEVEL=shouting\nPING_COUNT=oops\n');
  const bad = runService({}, dir);
  assert.equal((await bad.exited).code, 1);
  assert.match(bad.stderr(), /LOG_LEVEL|PING_COUNT/);

  const port = await freePort();
  const good = runService({ LOG_LEVEL: 'info', PING_COUNT: '0', PORT: String(port), HOST: '127.0.0.1' }, dir);
  try {
    await waitHealthy(port);
  } finally {
    good.child.kill('SIGTERM');
  }
  assert.equal((await good.exited).code, 0);
});

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
    req.end();
  });
}

test('SIGTERM: every socket gets 1001, /readyz is 503 while draining, exit 0 within the timeout', async () => {
  const port = await freePort();
  const service = runService({ PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '4000' });
  await waitHealthy(port);
  const url = `ws://127.0.0.1:${port}/ws`;
  const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(url)));
  const stalled = await TestClient.connect(url);
  tcpSocketOf(stalled.ws)!.pause(); // never answers the close: the drain waits for it

  const start = Date.now();
  service.child.kill('SIGTERM');
  for (const c of clients) assert.deepEqual(await c.closed, { code: 1001, reason: 'Server shutting down' });
  assert.equal(await readyz(port), 503);
  const { code } = await service.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - start < 4000, 'within SHUTDOWN_TIMEOUT_MS');
  const lines = service.stdout().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; code?: number });
  assert.equal(lines.filter((l) => l.msg === 'socket closed').length, 4);
  assert.equal(lines.at(-1)?.msg, 'stopped', 'logs flushed to the last line');
});

for (const [signal, exitCode] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`a second ${signal} exits at once with ${exitCode}`, async () => {
    const port = await freePort();
    const service = runService({ PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '20000' });
    await waitHealthy(port);
    const stalled = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    tcpSocketOf(stalled.ws)!.pause();
    service.child.kill(signal); // the stalled socket keeps the drain busy
    await eventually(() => service.stdout().includes('"signal received"'), 5000, 'the first signal to be handled');
    const start = Date.now();
    service.child.kill(signal);
    const { code } = await service.exited;
    assert.equal(code, exitCode);
    assert.ok(Date.now() - start < 5000, 'at once, not after the drain');
    assert.match(service.stdout(), /second signal: exiting at once/);
  });
}
