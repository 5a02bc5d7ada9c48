// The publish hook (PUBLISH_HOOK_URL): the real service, real `ws` clients, and a real backend on
// 127.0.0.1 that checks every call's signature (WEBHOOK_SECRET) before it answers accept, reject
// or replace, fails, or never answers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/error.ts';
import { parsePublishHookConfig } from '../../src/config/publish-hook.ts';
import { createPublishHook, type HookSay, type HookVerdict } from '../../src/events/publish-hook.ts';
import { SIGNATURE_HEADER, verify } from '../../src/events/webhook/signature.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { PublishHookOutcome } from '../../src/metrics/events.ts';
import { within } from '../helpers/bounded.ts';
import { TestClient, type Json } from '../helpers/client.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';

const SECRET = randomBytes(32).toString('hex');
type Answer = { status?: number; json?: unknown; raw?: string } | 'hang';

/** A backend: `answer` decides each call; every call's signature is checked first (401 without a good one). */
async function backend(answer: (say: HookSay) => Answer | Promise<Answer>): Promise<{ url: string; calls: HookSay[]; unsigned: () => number; maxInFlight: () => number }> {
  const calls: HookSay[] = [];
  const hanging: ServerResponse[] = [];
  let unsigned = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      if (!verify(SECRET, raw, req.headers[SIGNATURE_HEADER] as string | undefined, Date.now() / 1000)) {
        unsigned++;
        return void res.writeHead(401).end();
      }
      const say = JSON.parse(raw) as HookSay;
      calls.push(say);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      res.on('close', () => inFlight--);
      void Promise.resolve(answer(say)).then((a) => {
        if (a === 'hang') return void hanging.push(res);
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(a.raw ?? JSON.stringify(a.json));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, calls, unsigned: () => unsigned, maxInFlight: () => maxInFlight };
}

const ACCEPT: Answer = { json: { action: 'accept' } };
const server = serverPool({ rateLimitPerSec: 1000, webhookSecret: SECRET, publishHookTimeoutMs: 500 });
const hooked = async (url: string, more: Parameters<typeof server>[0] = {}): Promise<TestServer> => server({ publishHookUrl: url, ...more });

async function member(s: TestServer, room = 'lobby'): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  await c.nextOf('welcome');
  if (room !== 'lobby') {
    c.send({ type: 'subscribe', room });
    await c.nextOf('subscribed', 3000, (m) => m.room === room);
  }
  return c;
}

/** The room's stored messages, oldest first, as a new subscriber replays them. */
async function stored(s: TestServer, room = 'lobby'): Promise<string[]> {
  const c = await member(s, 'replayer');
  c.send({ type: 'subscribe', room, since: '0' });
  const { count } = await c.nextOf('history', 3000, (h) => h.room === room);
  const texts: string[] = [];
  for (let i = 0; i < Number(count); i++) texts.push(String((await c.nextOf('message', 3000, (m) => m.room === room)).text));
  c.close();
  return texts;
}

/** What became of each of `keys`' says: `stored` (its copy came back) or the error's reason. */
async function outcomesOf(c: TestClient, keys: string[]): Promise<string[]> {
  const got = new Map<string, string>();
  while (got.size < keys.length) {
    const text = await c.next();
    const frame = text.startsWith('{') ? (JSON.parse(text) as Json) : {};
    if (typeof frame.key === 'string' && keys.includes(frame.key)) got.set(frame.key, frame.type === 'message' ? 'stored' : String(frame.reason));
  }
  return keys.map((k) => got.get(k) ?? '');
}

const hookCount = async (s: TestServer, outcome: PublishHookOutcome): Promise<number> => metricValue(await fetchMetrics(s), 'ws_publish_hook_seconds_count', { outcome });

test('accept: the backend gets the say, signed, and it is stored and delivered', async () => {
  const hook = await backend(() => ACCEPT);
  const s = await hooked(hook.url);
  const [sender, witness] = [await member(s), await member(s)];
  sender.send({ type: 'say', text: 'hello', key: 'k-1' });
  const seen = await witness.nextOf('message');
  assert.equal(seen.text, 'hello');
  assert.equal((await sender.nextOf('message')).key, 'k-1', 'the sender gets its copy, as without a hook');
  assert.equal(hook.unsigned(), 0);
  const [call] = hook.calls;
  assert.deepEqual({ ...call, connId: typeof call?.connId }, { room: 'lobby', connId: 'string', from: seen.from, text: 'hello', key: 'k-1' });
  assert.deepEqual(await stored(s), ['hello']);
  assert.equal(await hookCount(s, 'accepted'), 1, 'its latency is in the histogram');
  sender.close();
  witness.close();
});

test('reject: the sender gets the reason (cut, cleaned), nothing is stored or delivered', async () => {
  const hook = await backend((say) => (say.text === 'spam' ? { json: { action: 'reject', reason: `no\u0007 ads\n\u202Ehere ${'x'.repeat(200)}` } } : ACCEPT));
  const s = await hooked(hook.url);
  const [sender, witness] = [await member(s), await member(s)];
  sender.send({ type: 'say', text: 'spam', key: 'k-2' });
  const refusal = await sender.nextOf('error');
  assert.deepEqual(refusal, { type: 'error', reason: 'rejected', room: 'lobby', key: 'k-2', detail: `no adshere ${'x'.repeat(89)}` });
  sender.send({ type: 'say', text: 'marker' });
  assert.equal((await witness.nextOf('message')).text, 'marker', 'the witness never saw the rejected say');
  assert.deepEqual(await stored(s), ['marker']);
  assert.equal(await hookCount(s, 'rejected'), 1);
  sender.close();
  witness.close();
});

test('replace: everyone sees the backend\'s text; a replacement a client could not send is a hook error', async () => {
  const hook = await backend((say) => ({ json: { action: 'replace', text: say.text === 'bad' ? 'evil\u202Etext' : say.text.replace('darn', '****') } }));
  const s = await hooked(hook.url);
  const [sender, witness] = [await member(s), await member(s)];
  sender.send({ type: 'say', text: 'oh darn it' });
  assert.equal((await witness.nextOf('message')).text, 'oh **** it');
  assert.equal((await sender.nextOf('message')).text, 'oh **** it');
  sender.send({ type: 'say', text: 'bad' });
  assert.equal((await sender.nextOf('error')).reason, 'hook_unavailable', 'an invalid replacement falls to PUBLISH_HOOK_ON_ERROR (reject)');
  assert.deepEqual(await stored(s), ['oh **** it']);
  sender.close();
  witness.close();
});

test('a backend that fails (status, JSON, action) is an error: ON_ERROR=reject refuses, one log line per burst, never a text or the secret', async () => {
  const answers: Answer[] = [{ status: 500, json: {} }, { raw: 'not json' }, { json: { action: 'maybe' } }, { json: [] }, ACCEPT];
  const hook = await backend(() => answers.shift() ?? ACCEPT);
  const s = await hooked(hook.url);
  const c = await member(s);
  for (let i = 0; i < 4; i++) {
    c.send({ type: 'say', text: `secret text ${i}` });
    assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'hook_unavailable', room: 'lobby' });
  }
  c.send({ type: 'say', text: 'secret text 4' });
  await c.nextOf('message');
  const hookLines = s.logs.filter((l) => l.component === 'publish-hook' && l.level === 'warn');
  assert.deepEqual(hookLines.map((l) => [l.msg, l.cause, l.failures]), [['publish hook failing', 'status 500', 1], ['publish hook answering again', undefined, 4]]);
  const all = JSON.stringify(s.logs);
  assert.ok(!all.includes('secret text') && !all.includes(SECRET), 'no log line carries a text or the secret');
  assert.equal(await hookCount(s, 'error'), 4);
  c.close();
});

test('a backend that never answers: each say gets ON_ERROR within the timeout, and the socket stays usable', async () => {
  let hang = true;
  const hook = await backend(() => (hang ? 'hang' : ACCEPT));
  const refusing = await hooked(hook.url, { publishHookTimeoutMs: 300, pingIntervalMs: 50 });
  const c = await member(refusing);
  const pings = c.pings;
  const sent = Date.now();
  c.send({ type: 'say', text: 'into the void' });
  assert.equal((await c.nextOf('error', 2000)).reason, 'hook_unavailable');
  const waited = Date.now() - sent;
  assert.ok(waited >= 290 && waited < 1500, `answered after ${waited} ms, the timeout being 300`);
  assert.ok(c.pings > pings, 'pings and pongs went on meanwhile');
  assert.equal(await hookCount(refusing, 'timeout'), 1);
  const accepting = await hooked(hook.url, { publishHookTimeoutMs: 300, publishHookOnError: 'accept' });
  const d = await member(accepting);
  d.send({ type: 'say', text: 'stored anyway' });
  assert.equal((await d.nextOf('message', 2000)).text, 'stored anyway', 'ON_ERROR=accept stores it unchanged');
  hang = false;
  c.send({ type: 'say', text: 'after the storm' });
  assert.equal((await c.nextOf('message')).text, 'after the storm');
  assert.deepEqual(await stored(refusing), ['after the storm']);
  c.close();
  d.close();
});

test('a flood while the backend is stuck: past concurrency + queue says are busy at once; pings, presence and other rooms go on', async () => {
  const gate = Promise.withResolvers<undefined>();
  const hook = await backend(async () => (await gate.promise, ACCEPT));
  const s = await hooked(hook.url, { publishHookConcurrency: 2, publishHookQueue: 3, publishHookTimeoutMs: 10_000, pingIntervalMs: 100 });
  const senders = await Promise.all(Array.from({ length: 10 }, () => member(s)));
  const witness = await member(s, 'elsewhere');
  senders.forEach((c, i) => [1, 2].forEach((n) => c.send({ type: 'say', text: `flood ${i}.${n}`, key: `f-${i}-${n}` })));
  await eventually(async () => (await hookCount(s, 'busy')) === 15, 3000, 'the 15 says past the bound answered busy at once');
  assert.ok(hook.maxInFlight() <= 2, `at most PUBLISH_HOOK_CONCURRENCY calls in flight (saw ${hook.maxInFlight()})`);
  const pings = witness.pings;
  await eventually(() => witness.pings > pings + 2, 2000, 'pings while the backend is stuck');
  const late = await member(s);
  await senders[0]!.nextOf('presence', 2000, (p) => p.members === 12);
  gate.resolve(undefined);
  const outcomes = (await Promise.all(senders.map((c, i) => outcomesOf(c, [`f-${i}-1`, `f-${i}-2`])))).flat();
  assert.deepEqual([outcomes.filter((o) => o === 'stored').length, outcomes.filter((o) => o === 'busy').length], [5, 15]);
  const started = Date.now();
  witness.send({ type: 'say', room: 'elsewhere', text: 'echo' });
  assert.equal((await witness.nextOf('message', 1000, (m) => m.room === 'elsewhere')).text, 'echo');
  assert.ok(Date.now() - started < 1000);
  assert.equal((await stored(s)).length, 5, 'only the admitted says were stored');
  for (const c of [...senders, witness, late]) c.close();
});

test('the hook\'s own bound: pending() never passes concurrency + queue, the rest busy at once, each verdict due by the timeout', async () => {
  const gate = Promise.withResolvers<undefined>();
  const hook = await backend(async () => (await gate.promise, ACCEPT));
  const seen: PublishHookOutcome[] = [];
  const client = createPublishHook({ url: hook.url, secret: SECRET, timeoutMs: 400, onError: 'reject', concurrency: 2, queue: 3, metrics: { publishHook: (o) => seen.push(o) }, logger: createLogger({ level: 'silent' }) });
  after(() => client.close());
  const verdicts: Promise<HookVerdict>[] = [];
  let most = 0;
  for (let i = 0; i < 12; i++) {
    verdicts.push(client.check({ room: 'r', connId: `c${i}`, from: 'n', text: `t${i}` }));
    most = Math.max(most, client.pending());
  }
  assert.equal(most, 5);
  const started = Date.now();
  const all = await within(Promise.all(verdicts), 2000, 'every verdict');
  assert.ok(Date.now() - started < 1000, 'the stuck calls and the queued ones timed out together');
  assert.equal(all.filter((v) => !v.publish && v.reason === 'busy').length, 7);
  assert.equal(all.filter((v) => !v.publish && v.reason === 'hook_unavailable').length, 5);
  assert.deepEqual([...new Set(seen)].sort(), ['busy', 'timeout']);
  assert.equal(client.pending(), 0);
  gate.resolve(undefined);
});

test('one socket\'s says through a backend of random latency: stored, acknowledged and asked about in the order sent', async () => {
  const hook = await backend(async () => (await sleep(Math.random() * 20), ACCEPT));
  const s = await hooked(hook.url);
  const c = await member(s);
  const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
  for (const text of texts) c.send({ type: 'say', text });
  const acks: string[] = [];
  while (acks.length < texts.length) acks.push(String((await c.nextOf('message')).text));
  assert.deepEqual(acks, texts);
  assert.deepEqual(await stored(s), texts);
  assert.deepEqual(hook.calls.map((say) => say.text), texts, 'the backend is asked in order');
  assert.equal(hook.maxInFlight(), 1, 'one call at a time per socket');
  c.close();
});

test('a sender that closes while its say waits: the say is still stored, and nothing is sent to the closed socket', async () => {
  const gate = Promise.withResolvers<undefined>();
  const hook = await backend(async () => (await gate.promise, ACCEPT));
  const s = await hooked(hook.url);
  const [sender, witness] = [await member(s), await member(s)];
  sender.send({ type: 'say', text: 'parting words' });
  await eventually(() => hook.calls.length === 1, 2000, 'the call');
  sender.close();
  await sender.closed;
  gate.resolve(undefined);
  assert.equal((await witness.nextOf('message')).text, 'parting words');
  assert.deepEqual(s.logs.filter((l) => l.level === 'error'), [], 'no write to the closed socket failed');
  witness.close();
});

test('config: each bad setting is named, a secret shown only by its length', () => {
  const url = 'https://backend.example/hook';
  const named = (env: Record<string, string>, variable: string, hidden?: string): void => {
    assert.throws(() => parsePublishHookConfig(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, variable);
      if (hidden) assert.ok(!err.message.includes(hidden), err.message);
      return true;
    });
  };
  named({ PUBLISH_HOOK_URL: 'not a url', WEBHOOK_SECRET: SECRET }, 'PUBLISH_HOOK_URL');
  named({ PUBLISH_HOOK_URL: 'ftp://user:hunter2@backend.example/hook', WEBHOOK_SECRET: SECRET }, 'PUBLISH_HOOK_URL', 'hunter2');
  named({ PUBLISH_HOOK_URL: url, WEBHOOK_SECRET: SECRET, PUBLISH_HOOK_ON_ERROR: 'maybe' }, 'PUBLISH_HOOK_ON_ERROR');
  named({ PUBLISH_HOOK_URL: url }, 'WEBHOOK_SECRET');
  named({ PUBLISH_HOOK_URL: url, WEBHOOK_SECRET: 'short-secret-1234' }, 'WEBHOOK_SECRET', 'short-secret-1234');
  named({ PUBLISH_HOOK_URL: url, WEBHOOK_SECRET: SECRET, PUBLISH_HOOK_TIMEOUT_MS: '0' }, 'PUBLISH_HOOK_TIMEOUT_MS');
  named({ PUBLISH_HOOK_URL: url, WEBHOOK_SECRET: SECRET, PUBLISH_HOOK_CONCURRENCY: '0' }, 'PUBLISH_HOOK_CONCURRENCY');
  const config = parseConfig({ PUBLISH_HOOK_URL: url, WEBHOOK_SECRET: SECRET });
  assert.deepEqual([config.publishHookUrl, config.publishHookTimeoutMs, config.publishHookOnError, config.publishHookConcurrency, config.publishHookQueue], [url, 2000, 'reject', 64, 1024]);
  assert.equal(parseConfig({}).publishHookUrl, undefined, 'unset: no hook');
});
