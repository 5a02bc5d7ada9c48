// Redis commands reach Application Insights as dependencies: the real service with a real
// redis-server (started here on a free loopback port) and telemetry to the local ingestion
// stand-in. Also: no dependency names a key (room), and chat text goes nowhere. Needs redis-server
// (apt-get install redis-server); a missing one fails the suite.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, startService } from '../infra/lib/service.ts';
import type { RunningService } from '../infra/lib/service.ts';
import { TestClient } from '../helpers/client.ts';
import { startIngestion, telemetryEnv, type Ingestion } from '../integration/telemetry-ingestion.ts';
import { answersPing } from '../helpers/redis.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

describe('Redis dependencies in Application Insights (real redis-server)', () => {
  let redis: ChildProcess | undefined;
  let ingestion: Ingestion;
  let service: RunningService;
  const room = `telemetry-room-${process.pid}`;
  const text = `secret chat text ${process.pid}`;

  before(async () => {
    if (!existsSync(REDIS_SERVER)) throw new Error(`redis-server not found at ${REDIS_SERVER}: install redis-server (Debian: apt-get install redis-server) or set REDIS_SERVER`);
    const port = await freePort();
    redis = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(port))) {
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    ingestion = await startIngestion();
    service = await startService({ ...telemetryEnv(ingestion.port), REDIS_URL: `redis://127.0.0.1:${port}` });
  });

  after(async () => {
    await service?.stop();
    await ingestion?.close();
    if (redis && redis.exitCode === null) {
      const exited = new Promise((r) => redis?.once('exit', r));
      redis.kill('SIGKILL');
      await exited;
    }
  });

  it('sends the stream write of a chat message as a redis dependency named by its command only', async () => {
    const client = await TestClient.connect(`${service.url.replace('http', 'ws')}/ws`);
    client.send({ type: 'join', room, name: 'probe' });
    await client.nextOf('presence', 5000);
    client.send({ type: 'say', text });
    await client.nextOf('message', 5000);
    client.close();
    const dependency = await ingestion.waitFor(
      (e) => e.data.baseType === 'RemoteDependencyData' && e.data.baseData.type === 'redis' && /XADD|EVALSHA|EVAL/.test(String(e.data.baseData.name)),
      'a redis dependency for the message write',
    );
    assert.equal(dependency.data.baseData.target, '127.0.0.1');
    assert.match(String(dependency.data.baseData.data), /^[A-Z]+$/, 'the statement is the command name alone');
    // Logs may name the room (they do on stdout too); dependencies must not, nor anything the text.
    const dependencies = JSON.stringify(ingestion.envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData'));
    assert.ok(!dependencies.includes(room), 'a room name (Redis key) reached Application Insights in a dependency');
    assert.ok(!JSON.stringify(ingestion.envelopes).includes(text), 'chat text reached Application Insights');
  });
});
