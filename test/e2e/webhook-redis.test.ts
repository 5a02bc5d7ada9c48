// Webhook delivery with Redis (src/events/webhook/redis-outlet.ts), the events stream read through
// a consumer group, against a real redis-server and a real HTTP receiver that checks signatures:
// two instances share the stream and every entry arrives; an instance stopped mid-batch leaves it
// pending and the other takes it over after claimIdleMs; a holder still retrying keeps its claim;
// a receiver down 30 s loses nothing; an always-500 receiver fills the dead-letter stream and
// leaves nothing pending; Redis itself restarting costs a log line, not the process.
// Needs redis-server (apt-get install redis-server); a missing one fails the suite.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createClient } from 'redis';
import type { BackendEvent } from '../../src/protocol/backend-events.ts';
import type { EventsRedis } from '../../src/events/redis-port.ts';
import { createRedisOutlet, type RedisOutlet, type RedisOutletOptions } from '../../src/events/webhook/redis-outlet.ts';
import { createWebhookPoster } from '../../src/events/webhook/poster.ts';
import { SIGNATURE_HEADER, verify } from '../../src/events/webhook/signature.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { WebhookOutcome } from '../../src/metrics/events.ts';
import { within } from '../helpers/bounded.ts';
import { freePort } from '../helpers/ports.ts';
import { suiteRedis } from '../helpers/redis.ts';
import { eventually, type LogLine } from '../helpers/server.ts';

const redis = suiteRedis();
const SECRET = 'whsec_test_secret_that_is_32_bytes!!';
const GROUP = 'webhooks';

type Mode = 'ok' | 'fail' | 'hang';

/** A receiver on a fixed port, so it can go down and come back where the outlets POST. */
async function receiver() {
  const port = await freePort();
  const events: BackendEvent[] = [];
  const statuses: number[] = [];
  const hanging: ServerResponse[] = [];
  let badSignatures = 0;
  let mode: Mode = 'ok';
  let server: Server | undefined;
  const up = (): Promise<void> => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (!verify(SECRET, body, req.headers[SIGNATURE_HEADER] as string | undefined, Date.now() / 1000)) {
          badSignatures++;
          return void res.writeHead(401).end();
        }
        if (mode === 'hang') return void hanging.push(res);
        statuses.push(mode === 'ok' ? 200 : 500);
        if (mode === 'fail') return void res.writeHead(500).end();
        events.push(...(JSON.parse(body) as { events: BackendEvent[] }).events);
        res.writeHead(204).end();
      });
    });
    const s = server;
    return new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
  };
  const down = (): Promise<void> => {
    for (const res of hanging.splice(0)) res.destroy();
    const s = server;
    if (!s) return Promise.resolve();
    server = undefined;
    s.closeAllConnections();
    return new Promise<void>((r) => s.close(() => r()));
  };
  await up();
  after(down);
  return {
    url: `http://127.0.0.1:${port}/events`,
    events,
    statuses,
    hanging,
    up,
    down,
    get badSignatures() {
      return badSignatures;
    },
    set mode(m: Mode) {
      mode = m;
    },
    ids: () => new Set(events.map((e) => e.id)),
  };
}

/** RESP3 is node-redis's default (and the app's events link's); RESP2 is what a link configured for it gets. */
async function client(resp: 2 | 3 = 3) {
  // As the app's links: a command fails at once while Redis is away instead of queueing.
  const c = createClient({ url: redis.url, RESP: resp, disableOfflineQueue: true });
  c.on('error', () => {});
  await c.connect();
  after(() => c.destroy());
  return c;
}

/** An EventsRedis the way the composition root makes one: commands on one connection, BLOCK on another. */
async function eventsRedis(resp: 2 | 3 = 3): Promise<EventsRedis> {
  const c = await client(resp);
  const c2 = await client(resp);
  return { call: (a) => c.sendCommand([...a]), block: (a) => c2.sendCommand([...a]) };
}

type Raw = Awaited<ReturnType<typeof client>>;

/** Appends `n` events as the events log does: `type`, and `data` the event's JSON without `id`. */
async function append(c: Raw, stream: string, n: number, tag = 'e'): Promise<Map<string, Omit<BackendEvent, 'id'>>> {
  const added = new Map<string, Omit<BackendEvent, 'id'>>();
  for (let i = 0; i < n; i++) {
    const data: Omit<BackendEvent, 'id'> = { type: 'room.member_joined', time: new Date().toISOString(), instance: 'i-1', room: 'lobby', seq: i + 1, sub: `${tag}${i}` };
    added.set(await c.xAdd(stream, '*', { type: data.type, data: JSON.stringify(data) }), data);
  }
  return added;
}

async function pending(c: Raw, stream: string): Promise<number> {
  const summary = (await c.sendCommand(['XPENDING', stream, GROUP])) as unknown[];
  return Number(summary[0]);
}

function outlet(stream: string, consumer: string, url: string, r: EventsRedis, o: Partial<RedisOutletOptions> & { timeoutMs?: number } = {}) {
  const m = { attempts: [] as WebhookOutcome[], delivered: 0, dead: 0, backlog: (): number => -1 };
  const logs: LogLine[] = [];
  const poster = createWebhookPoster({ url, secret: SECRET, timeoutMs: o.timeoutMs ?? 2000, maxSockets: 1 });
  const out: RedisOutlet = createRedisOutlet({
    redis: r,
    stream,
    group: GROUP,
    consumer,
    deadLetters: `${stream}:dead`,
    deadLetterMaxLen: 1000,
    poster,
    batchSize: 10,
    maxAttempts: 50,
    baseDelayMs: 50,
    capDelayMs: 500,
    claimIdleMs: 1000,
    blockMs: 200,
    backlogEveryMs: 100,
    stopTimeoutMs: 500,
    metrics: {
      webhookAttempt: (outcome) => void m.attempts.push(outcome),
      webhookDelivered: (n) => void (m.delivered += n),
      webhookDeadLettered: (n) => void (m.dead += n),
      reportWebhookBacklog: (f) => void (m.backlog = f),
    },
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } }),
    ...o,
  });
  after(async () => {
    await out.stop();
    poster.close();
  });
  out.start();
  return { out, m, logs };
}

/** Every appended entry arrived with its original id and its data. */
function assertAllDelivered(events: BackendEvent[], added: Map<string, Omit<BackendEvent, 'id'>>): void {
  const byId = new Map(events.map((e) => [e.id, e]));
  const missing = [...added.keys()].filter((id) => !byId.has(id));
  assert.deepEqual(missing, [], 'no entry missing');
  for (const [id, data] of added) assert.deepEqual(byId.get(id), { id, ...data });
}

describe('webhook delivery from the Redis events stream', () => {
  it('two instances (one on RESP2, one on RESP3) deliver every entry, at least once, and leave nothing pending', async () => {
    const r = await receiver();
    const c = await client();
    const a = outlet('ev:two', 'a', r.url, await eventsRedis(2));
    const b = outlet('ev:two', 'b', r.url, await eventsRedis(3));
    await eventually(async () => (await c.exists('ev:two')) === 1, 5000, 'the group made');
    const added = await append(c, 'ev:two', 300);
    await eventually(() => r.ids().size === 300, 20_000, '300 entries delivered');
    assertAllDelivered(r.events, added);
    await eventually(async () => (await pending(c, 'ev:two')) === 0, 5000, 'all acked');
    assert.ok(a.m.delivered > 0 && b.m.delivered > 0, `both took part (${a.m.delivered}, ${b.m.delivered})`);
    assert.ok(a.m.delivered + b.m.delivered >= 300);
    assert.equal(r.badSignatures, 0);
    await eventually(() => a.out.backlog() === 0 && a.m.backlog() === 0, 5000, 'the backlog read back to 0');
  });

  it('an instance stopped mid-batch leaves it pending; the other takes it over after claimIdleMs, trimmed entries skipped', async () => {
    const r = await receiver();
    const c = await client();
    r.mode = 'hang';
    // Appended first, so the first read takes a full batch of 10 and 5 wait behind it.
    const added = await append(c, 'ev:crash', 15);
    const ids = [...added.keys()];
    const a = outlet('ev:crash', 'a', r.url, await eventsRedis(), { timeoutMs: 60_000 });
    await eventually(() => r.hanging.length === 1, 5000, 'a batch in flight');
    const readAt = Date.now();
    await eventually(() => a.out.backlog() === 15, 5000, 'the backlog: 10 pending plus a lag of 5');
    assert.equal(a.m.backlog(), 15, 'the gauge reads the same');
    await within(a.out.stop(), 2000, 'stop with a batch in flight');
    assert.ok(Date.now() - readAt < 1500, 'stop is bounded by stopTimeoutMs');
    assert.equal(await pending(c, 'ev:crash'), 10, 'the batch stays pending, unacked');
    // One entry of the batch is trimmed away before anyone takes it over.
    const trimmed = ids[3]!;
    await c.xDel('ev:crash', trimmed);
    added.delete(trimmed);
    r.mode = 'ok';
    const arrived = new Map<string, number>();
    const b = outlet('ev:crash', 'b', r.url, await eventsRedis());
    await eventually(() => {
      for (const id of r.ids()) if (!arrived.has(id)) arrived.set(id, Date.now());
      return arrived.size === 14;
    }, 10_000, 'the other instance delivers everything');
    assertAllDelivered(r.events, added);
    assert.ok(!r.ids().has(trimmed));
    const claimedAfter = Math.min(...ids.slice(0, 10).filter((id) => id !== trimmed).map((id) => arrived.get(id)! - readAt));
    assert.ok(claimedAfter >= 900, `the stopped batch taken over after claimIdleMs, not before (${claimedAfter} ms)`);
    await eventually(async () => (await pending(c, 'ev:crash')) === 0, 5000, 'all acked, the trimmed entry too');
    assert.equal(b.m.delivered, 14);
    assert.equal(a.m.delivered, 0);
  });

  it('a holder still retrying keeps its claim: the other instance never takes over its batch', async () => {
    const r = await receiver();
    const c = await client();
    r.mode = 'fail';
    const added = await append(c, 'ev:hold', 5);
    const a = outlet('ev:hold', 'a', r.url, await eventsRedis(), { baseDelayMs: 400, capDelayMs: 800, claimIdleMs: 600 });
    await eventually(() => a.m.attempts.length >= 1, 5000, 'a first try');
    const b = outlet('ev:hold', 'b', r.url, await eventsRedis(), { claimIdleMs: 600 });
    const started = Date.now();
    // Waiting for time itself: five claim periods of retries, in which b could have taken the batch.
    await eventually(() => Date.now() - started > 3000 && a.m.attempts.length >= 4, 10_000, 'retries over five claim periods');
    assert.equal(a.out.backlog(), 5, 'pending while retried');
    r.mode = 'ok';
    await eventually(() => r.ids().size === 5, 10_000, 'delivered once the receiver answers');
    assertAllDelivered(r.events, added);
    assert.equal(b.m.attempts.length, 0, 'b never tried the batch a holds');
    assert.equal(r.events.length, 5, 'delivered once');
  });

  it('a holder whose batch was taken over lets it go: no taking it back, delivered once', async () => {
    const r = await receiver();
    const c = await client();
    r.mode = 'fail';
    const added = await append(c, 'ev:steal', 5);
    const a = outlet('ev:steal', 'a', r.url, await eventsRedis(), { baseDelayMs: 300, capDelayMs: 300, claimIdleMs: 600 });
    await eventually(() => a.m.attempts.length >= 1, 5000, 'a first try by a');
    // b's claimIdleMs is shorter than a's refresh period: as if a had stalled, b takes the batch over.
    const b = outlet('ev:steal', 'b', r.url, await eventsRedis(), { baseDelayMs: 300, capDelayMs: 300, claimIdleMs: 50 });
    await eventually(() => b.m.attempts.length >= 1, 5000, 'b took the batch over');
    const aThen = a.m.attempts.length;
    await eventually(() => b.m.attempts.length >= 4, 10_000, 'b retrying');
    assert.ok(a.m.attempts.length <= aThen + 1, `a stopped trying (${aThen} then ${a.m.attempts.length})`);
    r.mode = 'ok';
    await eventually(() => r.ids().size === 5, 10_000, 'delivered');
    assertAllDelivered(r.events, added);
    await eventually(async () => (await pending(c, 'ev:steal')) === 0, 5000, 'all acked');
    assert.equal(r.events.length, 5, 'delivered once: a did not claim it back');
  });

  it('a receiver down for 30 s, then up: every entry arrives with its original id, none missing', async () => {
    const r = await receiver();
    const c = await client();
    // 100 tries with waits up to 1 s: far more than a 30 s outage takes.
    const a = outlet('ev:outage', 'a', r.url, await eventsRedis(), { maxAttempts: 100, capDelayMs: 1000 });
    const b = outlet('ev:outage', 'b', r.url, await eventsRedis(), { maxAttempts: 100, capDelayMs: 1000 });
    await eventually(async () => (await c.exists('ev:outage')) === 1, 5000, 'the group made');
    const added = await append(c, 'ev:outage', 50, 'before');
    await eventually(() => r.ids().size === 50, 10_000, 'delivery before the outage');
    await r.down();
    const downAt = Date.now();
    // Events keep coming during the outage, a few a second.
    for (let i = 0; Date.now() - downAt < 30_000; i++) {
      for (const [id, data] of await append(c, 'ev:outage', 10, `during${i}-`)) added.set(id, data);
      await new Promise((done) => setTimeout(done, 1000));
    }
    assert.ok(a.m.attempts.includes('network') || b.m.attempts.includes('network'), 'the outage was met');
    await r.up();
    await eventually(() => [...added.keys()].every((id) => r.ids().has(id)), 30_000, 'every entry after the outage');
    assertAllDelivered(r.events, added);
    await eventually(async () => (await pending(c, 'ev:outage')) === 0, 5000, 'all acked');
    assert.equal(a.m.dead + b.m.dead, 0);
    assert.equal(await c.xLen('ev:outage:dead'), 0);
  });

  it('an always-500 receiver: the dead-letter stream holds every entry with its original id; nothing pending; counters match', async () => {
    const r = await receiver();
    const c = await client();
    r.mode = 'fail';
    // Appended first, so the batches are exactly 10, 10, and 5 with the broken entry.
    const added = await append(c, 'ev:dead', 25);
    const broken = await c.xAdd('ev:dead', '*', { type: 'room.occupied', data: 'not json' });
    const a = outlet('ev:dead', 'a', r.url, await eventsRedis(), { maxAttempts: 3, baseDelayMs: 10, capDelayMs: 20 });
    await eventually(async () => (await c.xLen('ev:dead:dead')) === 26, 10_000, 'all dead-lettered');
    await eventually(async () => (await pending(c, 'ev:dead')) === 0, 5000, 'nothing pending');
    const dead = await c.xRange('ev:dead:dead', '-', '+');
    const byId = new Map((dead ?? []).map((d) => [d!.message.id!, { ...d!.message }]));
    for (const [id, data] of added) {
      assert.deepEqual(byId.get(id), { id, type: data.type, data: JSON.stringify(data), attempts: '3', status: '500' });
    }
    assert.deepEqual(byId.get(broken), { id: broken, type: 'room.occupied', data: 'not json', attempts: '0', status: 'malformed' });
    assert.equal(a.m.dead, 26);
    assert.equal(a.m.delivered, 0);
    assert.equal(a.m.attempts.length, 3 * Math.ceil(25 / 10), 'three tries per batch of ten');
    assert.equal(r.statuses.length, a.m.attempts.length);
    const lines = a.logs.filter((l) => l.msg === 'webhook batch dead-lettered');
    assert.equal(lines.length, 4, 'a line per batch, the malformed entry its own');
    assert.ok(!JSON.stringify(a.logs).includes('lobby'), 'no event contents in the logs');
  });

  it('the stream deleted under a running outlet: the group is made again and later entries delivered', async () => {
    const r = await receiver();
    const c = await client();
    const a = outlet('ev:gone', 'a', r.url, await eventsRedis());
    await eventually(async () => (await c.exists('ev:gone')) === 1, 5000, 'the group made');
    await c.del('ev:gone');
    await eventually(async () => (await c.exists('ev:gone')) === 1, 5000, 'the stream and group made again');
    const added = await append(c, 'ev:gone', 5);
    await eventually(() => r.ids().size === 5, 10_000, 'delivered after the group came back');
    assertAllDelivered(r.events, added);
    assert.ok(a.logs.some((l) => String(l.err).startsWith('NOGROUP')), 'the missing group was met and logged');
  });

  it('Redis restarting: a burst of failures is one warning, delivery resumes, nothing is lost', async () => {
    const r = await receiver();
    const c = await client();
    const a = outlet('ev:restart', 'a', r.url, await eventsRedis());
    await eventually(async () => (await c.exists('ev:restart')) === 1, 5000, 'the group made');
    const added = await append(c, 'ev:restart', 20, 'before');
    await eventually(() => r.ids().size === 20, 10_000, 'delivered before the restart');
    await redis.kill();
    await eventually(() => a.logs.some((l) => l.msg.includes('redis command failed')), 10_000, 'the failure logged');
    await redis.start();
    // A fresh client: the old one may still be waiting out its reconnect delay.
    const c2 = await client();
    for (const [id, data] of await append(c2, 'ev:restart', 20, 'after')) added.set(id, data);
    await eventually(() => [...added.keys()].every((id) => r.ids().has(id)), 20_000, 'delivered after the restart');
    assertAllDelivered(r.events, added);
    const warnings = a.logs.filter((l) => l.msg.includes('redis command failed'));
    assert.ok(warnings.length <= 3, `${warnings.length} warnings for one outage, not one per retry`);
    assert.ok(a.logs.some((l) => l.msg.includes('redis answers again')));
  });
});
