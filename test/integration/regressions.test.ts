// Behaviours that single-line breaks of src/ once slipped past: each test here fails when its
// behaviour breaks (ping spacing, chat text kept out of info logs, presence coalescing, the
// history counter, the round-trip histogram, pings answered within the rate, line breaks kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { TestClient } from '../helpers/client.ts';
import { within } from '../helpers/bounded.ts';
import { eventually, fetchMetrics, metricValue, serverPool } from '../helpers/server.ts';

const server = serverPool();

test('pings are spaced by PING_INTERVAL_MS, not merely counted', async () => {
  const intervalMs = 100;
  const s = await server({ pingIntervalMs: intervalMs });
  const c = await TestClient.connect(s.wsUrl);
  const at: number[] = [];
  for (let i = 0; i < 7; i++) {
    await c.nextPing(1000);
    at.push(performance.now());
  }
  const gaps = at.slice(1).map((t, i) => t - (at[i] ?? t));
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  assert.ok(mean > intervalMs * 0.7 && mean < intervalMs * 1.8, `mean gap ${mean.toFixed(0)} ms for a ${intervalMs} ms interval (${gaps.map((g) => g.toFixed(0)).join(', ')})`);
  assert.ok(Math.min(...gaps) > intervalMs * 0.5, `a gap of ${Math.min(...gaps).toFixed(0)} ms: pings bunched`);
  c.close();
});

test('chat text never reaches the logs at info or above, accepted or refused', async () => {
  const s = await server({ logLevel: 'info' });
  const c = await TestClient.connect(s.wsUrl);
  const secret = 'correct horse battery staple';
  c.send({ type: 'say', text: secret });
  await c.nextOf('message', 3000, (m) => m.text === secret);
  c.send({ type: 'say', text: `${secret}\u0000` }); // refused: the warning must not quote it either
  assert.equal((await c.closed).code, 1008);
  await eventually(() => s.logs.some((l) => l.msg === 'socket closed'), 2000, 'the close log');
  const leaked = s.logs.filter((l) => JSON.stringify(l).includes(secret));
  assert.deepEqual(leaked, []);
});

test('presence is coalesced: 20 joins at once cost an existing member one or two presence frames', async () => {
  const s = await server();
  const member = await TestClient.connect(s.wsUrl);
  member.send({ type: 'join', room: 'crowd', name: 'first' });
  await member.nextOf('presence', 3000, (m) => m.room === 'crowd' && m.members === 1);
  const arrivals = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(s.wsUrl)));
  await Promise.all(arrivals.map((a) => a.nextOf('welcome')));
  const frames: number[] = [];
  member.ws.on('message', (d) => {
    const text = d.toString();
    if (text.startsWith('{"type":"presence"') && text.includes('"crowd"')) frames.push((JSON.parse(text) as { members: number }).members);
  });
  for (const a of arrivals) a.send({ type: 'join', room: 'crowd', name: 'n' });
  await eventually(() => frames.includes(21), 3000, 'presence of 21');
  assert.ok(frames.length <= 2, `${frames.length} presence frames for 20 joins: ${frames.join(', ')}`);
  for (const a of [member, ...arrivals]) a.close();
});

test('ws_messages_out_total{type="history"} counts the history frame of a join with since', async () => {
  const s = await server();
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: 'join', room: 'h', name: 'n' });
  await c.nextOf('welcome', 3000, (m) => m.room === 'h');
  c.send({ type: 'say', text: 'one' });
  const first = await c.nextOf('message');
  const before = metricValue(await fetchMetrics(s), 'ws_messages_out_total', { type: 'history' });
  c.send({ type: 'join', room: 'h', name: 'n', since: String(first.id) });
  assert.equal((await c.nextOf('history')).count, 0);
  assert.equal(metricValue(await fetchMetrics(s), 'ws_messages_out_total', { type: 'history' }) - before, 1);
  c.close();
});

test('the ping round trip lands in its histogram range: a pong held 300 ms counts between 0.25 and 0.5 s', async () => {
  const s = await server({ pingIntervalMs: 2000, pongTimeoutMs: 5000 });
  const c = await TestClient.connect(s.wsUrl, { autoPong: false });
  await c.nextPing(4000);
  await new Promise((r) => setTimeout(r, 300)); // the delay under test, not a wait for a condition
  c.send('pong');
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_ping_rtt_seconds_count') === 1, 2000, 'the round trip');
  const text = await fetchMetrics(s);
  assert.equal(metricValue(text, 'ws_ping_rtt_seconds_bucket', { le: '0.25' }), 0, 'not under 0.25 s');
  assert.equal(metricValue(text, 'ws_ping_rtt_seconds_bucket', { le: '0.5' }), 1, 'under 0.5 s');
  c.close();
});

test('a control ping within the rate gets its pong; a pong control frame is accepted', async () => {
  const s = await server({ rateLimitPerSec: 5 });
  const c = await TestClient.connect(s.wsUrl);
  const pong = once(c.ws, 'pong') as Promise<[Buffer]>;
  c.ws.ping('are you there');
  const [data] = await within(pong, 3000, 'the pong');
  assert.equal(data.toString(), 'are you there');
  c.ws.pong('unasked');
  c.send({ type: 'say', text: 'after' });
  assert.equal((await c.nextOf('message')).text, 'after');
  assert.equal(metricValue(await fetchMetrics(s), 'ws_messages_in_total', { type: 'control' }), 2);
  c.close();
});

test('multi-line chat text is kept, CRLF and CR normalised to LF; the socket stays open', async () => {
  const s = await server();
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: 'say', text: 'line one\r\nline two\rline three\n\tindented' });
  assert.equal((await c.nextOf('message')).text, 'line one\nline two\nline three\n\tindented');
  assert.equal(c.ws.readyState, c.ws.OPEN);
  c.close();
});

test('the logged client address has no port, whatever the trusted proxy sends', async () => {
  const s = await server({ trustProxy: true });
  for (const [header, ip] of [
    ['203.0.113.7:51234', '203.0.113.7'],
    ['198.51.100.1, [2001:db8::5]:443', '2001:db8::5'],
    ['2001:db8::9', '2001:db8::9'],
  ] as const) {
    const c = await TestClient.connect(s.wsUrl, { headers: { 'X-Forwarded-For': header } });
    const { id } = await c.nextOf('welcome');
    assert.equal(s.logs.find((l) => l.msg === 'socket opened' && l.connId === id)?.ip, ip, header);
    c.close();
  }
});
