// Webhook delivery without Redis (src/events/webhook/memory-outlet.ts over poster.ts) against a
// real HTTP receiver on 127.0.0.1 that checks every signature: batches arrive signed and in
// order; a receiver refusing with 503 for a while loses nothing; an always-500 receiver sees
// exactly WEBHOOK_MAX_ATTEMPTS tries per batch while the queue stays bounded; a receiver that never
// answers costs a bounded `timeout`.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { BackendEvent } from '../../src/protocol/backend-events.ts';
import { createMemoryOutlet, type MemoryOutlet } from '../../src/events/webhook/memory-outlet.ts';
import { createWebhookPoster, type WebhookPoster } from '../../src/events/webhook/poster.ts';
import { SIGNATURE_HEADER, verify } from '../../src/events/webhook/signature.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { WebhookOutcome } from '../../src/metrics/events.ts';
import { within } from '../helpers/bounded.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually, type LogLine } from '../helpers/server.ts';

const SECRET = 'whsec_test_secret_that_is_32_bytes!!';

type Mode = 'ok' | 'refuse' | 'fail' | 'hang';

/** A webhook receiver: answers by `mode`, refuses (401) and counts any POST whose signature does not verify. */
async function receiver() {
  const batches: BackendEvent[][] = [];
  const statuses: number[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const hanging: ServerResponse[] = [];
  const sockets = new Set<Socket>();
  let badSignatures = 0;
  let mode: Mode = 'ok';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      headers.push(req.headers);
      const answer = (status: number): void => {
        statuses.push(status);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : 'no');
      };
      if (!verify(SECRET, body, req.headers[SIGNATURE_HEADER] as string | undefined, Date.now() / 1000)) {
        badSignatures++;
        return answer(401);
      }
      if (mode === 'hang') return void hanging.push(res);
      if (mode === 'refuse') return answer(503);
      if (mode === 'fail') return answer(500);
      batches.push((JSON.parse(body) as { events: BackendEvent[] }).events);
      answer(200);
    });
  });
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const r = {
    url: `http://127.0.0.1:${port}/hooks`,
    batches,
    statuses,
    headers,
    sockets,
    get badSignatures() {
      return badSignatures;
    },
    set mode(m: Mode) {
      mode = m;
    },
    ids: () => batches.flat().map((e) => e.id),
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
  after(() => r.close());
  return r;
}

function recorder() {
  const attempts: { outcome: WebhookOutcome; seconds: number }[] = [];
  const m = { delivered: 0, dead: 0, dropped: 0, backlog: (): number => 0 };
  return {
    attempts,
    m,
    metrics: {
      webhookAttempt: (outcome: WebhookOutcome, seconds: number) => void attempts.push({ outcome, seconds }),
      webhookDelivered: (n: number) => void (m.delivered += n),
      webhookDeadLettered: (n: number) => void (m.dead += n),
      eventsDropped: (n: number) => void (m.dropped += n),
      reportWebhookBacklog: (f: () => number) => void (m.backlog = f),
    },
  };
}

function capture() {
  const logs: LogLine[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  return { logs, logger };
}

let seq = 0;
function event(text = 'secret words'): BackendEvent {
  seq++;
  return { id: `e-${seq}`, type: 'message.published', time: new Date().toISOString(), instance: 'i-1', room: 'lobby', seq, messageId: `m-${seq}`, from: 'ann', text };
}

function outlet(url: string, o: { maxQueue?: number; batchSize?: number; maxAttempts?: number; timeoutMs?: number; baseDelayMs?: number; capDelayMs?: number } = {}) {
  const rec = recorder();
  const { logs, logger } = capture();
  const poster: WebhookPoster = createWebhookPoster({ url, secret: SECRET, timeoutMs: o.timeoutMs ?? 2000, maxSockets: 1 });
  const out: MemoryOutlet = createMemoryOutlet({
    poster,
    maxQueue: o.maxQueue ?? 1000,
    batchSize: o.batchSize ?? 10,
    maxAttempts: o.maxAttempts ?? 10,
    baseDelayMs: o.baseDelayMs ?? 20,
    capDelayMs: o.capDelayMs ?? 200,
    metrics: rec.metrics,
    logger,
  });
  // Called inside a test: closed after it.
  after(() => {
    out.close();
    poster.close();
  });
  return { out, poster, logs, ...rec };
}

describe('webhook delivery from memory', () => {
  it('batches arrive signed, at most batchSize each, in order, over one kept-alive connection', async () => {
    const r = await receiver();
    const o = outlet(r.url, { batchSize: 10 });
    const sent: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 9; i++) {
        const e = event();
        sent.push(e.id);
        o.out.push(e);
      }
      await eventually(() => r.ids().length === sent.length, 5000, `round ${round} delivered`);
    }
    for (let i = 0; i < 30; i++) {
      const e = event();
      sent.push(e.id);
      o.out.push(e);
    }
    await within(o.out.drain(5000), 6000, 'drain');
    assert.deepEqual(r.ids(), sent, 'every event once, in the order pushed');
    assert.equal(r.badSignatures, 0);
    assert.ok(r.batches.every((b) => b.length >= 1 && b.length <= 10), 'batches of at most 10');
    assert.ok(r.batches.some((b) => b.length === 10), 'a burst goes out in full batches');
    assert.equal(r.batches[0]![0]!.text, 'secret words', 'the event whole');
    const h = r.headers[0]!;
    assert.equal(h['content-type'], 'application/json');
    assert.equal(h['user-agent'], 'socketship-webhooks');
    assert.match(String(h[SIGNATURE_HEADER]), /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(r.sockets.size, 1, 'one keep-alive connection for every batch');
    assert.equal(o.m.delivered, sent.length);
    assert.equal(o.m.backlog(), 0);
    assert.ok(o.attempts.every((a) => a.outcome === 'ok'));
  });

  it('a receiver refusing with 503 for a while, then up: every event arrives with its original id, in order', async () => {
    const r = await receiver();
    r.mode = 'refuse';
    const o = outlet(r.url, { batchSize: 7 });
    const sent: string[] = [];
    for (let i = 0; i < 40; i++) {
      const e = event();
      sent.push(e.id);
      o.out.push(e);
    }
    await eventually(() => r.statuses.filter((s) => s === 503).length >= 4, 5000, 'four refusals');
    assert.equal(o.out.depth(), 40, 'nothing lost while refused');
    assert.equal(o.m.backlog(), 40, 'the backlog gauge reads the depth');
    r.mode = 'ok';
    await within(o.out.drain(10_000), 11_000, 'drain after the receiver came back');
    assert.deepEqual(r.ids(), sent);
    assert.equal(o.m.dead, 0);
    assert.ok(o.attempts.filter((a) => a.outcome === 'http_error').length >= 4);
  });

  it('an always-500 receiver: maxAttempts tries per batch, then dead letters counted; the queue stays within maxQueue', async () => {
    const r = await receiver();
    r.mode = 'fail';
    const maxQueue = 20;
    const o = outlet(r.url, { maxQueue, batchSize: 5, maxAttempts: 3, baseDelayMs: 5, capDelayMs: 20 });
    let deepest = 0;
    let newest = '';
    for (let i = 0; i < maxQueue * 10; i++) {
      const e = event(i % 2 ? 'do not log me' : 'nor me');
      newest = e.id;
      o.out.push(e);
      deepest = Math.max(deepest, o.out.depth());
      // Some pushes land while a batch is in flight or waiting for its retry.
      if (i % 50 === 49) await eventually(() => r.statuses.length > 0, 5000, 'a first try');
    }
    assert.ok(deepest <= maxQueue, `depth ${deepest} never above ${maxQueue}`);
    await within(o.out.drain(20_000), 21_000, 'every batch given up');
    assert.equal(o.out.depth(), 0);
    const batches = o.logs.filter((l) => l.msg.includes('given up'));
    assert.ok(batches.length >= 4, `${batches.length} batches given up`);
    assert.equal(r.statuses.length, batches.length * 3, 'exactly 3 tries per batch');
    assert.ok(r.statuses.every((s) => s === 500));
    assert.equal(o.m.dead + o.m.dropped, maxQueue * 10, 'every event is delivered, dead-lettered or dropped: here never delivered');
    assert.equal(o.m.delivered, 0);
    assert.equal(o.m.dead, batches.reduce((n, l) => n + Number(l.events), 0));
    assert.equal(o.logs.filter((l) => l.msg.includes('queue full')).length >= 1, true, 'the drops are logged');
    assert.ok(o.logs.length < 40, `a line per batch, not per event (${o.logs.length})`);
    const text = JSON.stringify(o.logs);
    assert.ok(!text.includes('do not log me') && !text.includes('nor me'), 'no event contents in the logs');
    assert.equal(batches[0]!.status, 500);
    assert.equal(batches.at(-1)!.lastId, newest, 'the oldest are dropped, the newest kept');
  });

  it('a receiver that never answers: each try ends as `timeout` after timeoutMs, and the batch is given up in bounded time', async () => {
    const r = await receiver();
    r.mode = 'hang';
    const o = outlet(r.url, { maxAttempts: 2, timeoutMs: 300, baseDelayMs: 10, capDelayMs: 10 });
    const started = Date.now();
    o.out.push(event());
    await eventually(() => o.m.dead === 1, 5000, 'the batch given up');
    const took = Date.now() - started;
    assert.ok(took >= 600 && took < 3000, `${took} ms for two 300 ms timeouts`);
    assert.deepEqual(o.attempts.map((a) => a.outcome), ['timeout', 'timeout']);
    assert.ok(o.attempts.every((a) => a.seconds >= 0.29 && a.seconds < 1), 'each try took about the timeout');
  });

  it('drain is bounded while the receiver hangs, and close ends the retries', async () => {
    const r = await receiver();
    r.mode = 'fail';
    const o = outlet(r.url, { maxAttempts: 1000, baseDelayMs: 60_000, capDelayMs: 60_000 });
    o.out.push(event());
    await eventually(() => r.statuses.length >= 1, 5000, 'a first try');
    const started = Date.now();
    await o.out.drain(200);
    assert.ok(Date.now() - started < 1000, 'drain gave up after its timeout');
    const tries = r.statuses.length;
    o.out.close();
    o.out.push(event());
    assert.equal(o.out.depth(), 0, 'closed: nothing queued');
    await within(o.out.drain(60_000), 1000, 'drain after close returns at once');
    assert.equal(r.statuses.length, tries, 'no try after close');
  });
});

describe('webhook poster', () => {
  it('sends the URL userinfo as Basic auth, reads large answers, and reports statuses and refused connections', async () => {
    const r = await receiver();
    const big = createServer((_req, res) => res.writeHead(202).end('x'.repeat(1_000_000)));
    await new Promise<void>((done) => big.listen(0, '127.0.0.1', done));
    after(() => new Promise<void>((done) => big.close(() => done())));
    const posters: WebhookPoster[] = [];
    const poster = (url: string): WebhookPoster => {
      const p = createWebhookPoster({ url, secret: SECRET, timeoutMs: 2000, maxSockets: 2, now: () => Date.now() });
      posters.push(p);
      return p;
    };
    after(() => posters.forEach((p) => p.close()));
    const withAuth = poster(r.url.replace('http://', 'http://hook%20user:p%40ss@'));
    const ok = await withAuth.post('{"events":[]}');
    assert.equal(ok.outcome, 'ok');
    assert.equal(ok.status, 200);
    assert.equal(r.headers.at(-1)!.authorization, `Basic ${Buffer.from('hook user:p@ss').toString('base64')}`);
    assert.ok(!JSON.stringify(ok).includes('p@ss'));
    r.mode = 'fail';
    assert.deepEqual({ ...(await withAuth.post('{"events":[]}')), seconds: 0 }, { outcome: 'http_error', status: 500, seconds: 0 });
    const large = await poster(`http://127.0.0.1:${(big.address() as AddressInfo).port}/`).post('{}');
    assert.deepEqual([large.outcome, large.status], ['ok', 202], 'a 2xx with a 1 MB body is still ok');
    const refused = await poster(`http://127.0.0.1:${await freePort()}/`).post('{}');
    assert.equal(refused.outcome, 'network');
    assert.equal(refused.status, undefined);
    withAuth.close();
    assert.equal((await withAuth.post('{}')).outcome, 'network', 'closed');
  });
});
