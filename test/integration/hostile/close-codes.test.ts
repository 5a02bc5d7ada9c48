// Hostile-input catalogue, part 5: close codes counted by who chose them. A client may close with
// any code, including those the server's alerts watch (1013 slow consumer, 4000 pong timeout,
// 4003 disconnected): `ws_closes_total{by}` and the `socket closed` line say `client` for those,
// `server` for the server's own closes with the same codes (even when the peer answers with another
// code, or never answers), `network` for a TCP cut without a close frame; a peer's codes outside
// the server's table are counted as `other`. Real server, real `ws` clients, /metrics read as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as pace } from 'node:timers/promises';
import { parseIdentityConfig } from '../../../src/config/identity.ts';
import { tcpSocketOf } from '../../../src/realtime/ws-internals.ts';
import { API_KEY, checked } from '../../helpers/api.ts';
import { TestClient } from '../../helpers/client.ts';
import { closePayload, frame, OP, Witness } from '../../helpers/hostile.ts';
import { eventually, fetchMetrics, serverPool, type LogLine, type TestServer } from '../../helpers/server.ts';
import { hs256, SECRET } from '../../helpers/tokens.ts';

// No heartbeat in the way unless a test asks for one: a paused slow consumer must meet its
// buffer limit, not a pong timeout.
const server = serverPool({ rateLimitPerSec: 100_000, maxBufferedBytes: 64 * 1024 });

/** Every `ws_closes_total` series, as `code/by` → value. */
async function closes(s: TestServer): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await fetchMetrics(s)).matchAll(/^ws_closes_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    assert.deepEqual(Object.keys(labels).sort(), ['by', 'code'], `labels of ${m[0]}`);
    out.set(`${labels.code}/${labels.by}`, Number(m[2]));
  }
  return out;
}

/** What `act` added to `ws_closes_total`, series by series, waited for (bounded) until it is `want`. */
async function countedAs(s: TestServer, act: () => Promise<void>, want: Record<string, number>): Promise<void> {
  const before = await closes(s);
  await act();
  let got: Record<string, number> = {};
  await eventually(
    async () => {
      got = {};
      for (const [key, value] of await closes(s)) if (value !== (before.get(key) ?? 0)) got[key] = value - (before.get(key) ?? 0);
      return JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(want).sort());
    },
    5000,
    `closes counted as ${JSON.stringify(want)}`,
  ).catch(() => assert.deepEqual(got, want, 'ws_closes_total grew by'));
}

/** The `socket closed` line of one connection, waited for (bounded). */
async function closedLine(s: TestServer, connId: unknown): Promise<LogLine> {
  const find = (): LogLine | undefined => s.logs.find((l) => l.msg === 'socket closed' && l.connId === connId);
  await eventually(() => find() !== undefined, 5000, `the close of ${String(connId)} logged`);
  return find() as LogLine;
}

async function connect(url: string, autoPong = true): Promise<{ client: TestClient; id: unknown }> {
  const client = await TestClient.connect(url, { autoPong });
  const { id } = await client.nextOf('welcome');
  return { client, id };
}

/** True when `chunk` (frames from the server, unmasked) holds a close frame. */
function holdsCloseFrame(chunk: Buffer): boolean {
  for (let i = 0; i + 1 < chunk.length; ) {
    if (((chunk[i] ?? 0) & 0x0f) === OP.close) return true;
    const length = (chunk[i + 1] ?? 0) & 0x7f;
    if (length === 127) return false; // the server sends nothing that long here
    i += length === 126 ? 4 + chunk.readUInt16BE(i + 2) : 2 + length;
  }
  return false;
}

/** Answers the server's close frame with one of `code`, written ahead of the echo `ws` would send. */
function answerCloseWith(client: TestClient, code: number): void {
  const tcp = tcpSocketOf(client.ws);
  assert.ok(tcp, 'no TCP socket under the ws client');
  let answered = false;
  tcp.prependListener('data', (chunk: Buffer) => {
    if (answered || !holdsCloseFrame(chunk)) return;
    answered = true;
    tcp.write(frame(OP.close, closePayload(code, Buffer.from('mine'))));
  });
}

test("a client closing with the codes the alerts watch (1013, 4000, 4003) is counted and logged as the client's", async () => {
  const s = await server();
  for (const code of [1013, 4000, 4003]) {
    const { client, id } = await connect(s.wsUrl);
    await countedAs(
      s,
      async () => {
        client.ws.close(code, 'client says');
        assert.equal((await client.closed).code, code);
      },
      { [`${code}/client`]: 1 },
    );
    const line = await closedLine(s, id);
    assert.deepEqual({ code: line.code, by: line.by, reason: line.reason }, { code, by: 'client', reason: 'client says' });
  }
  assert.equal(s.logs.filter((l) => l.msg === 'protocol violation' || l.msg === 'slow consumer closed').length, 0, 'a client close is no violation');
});

test("a client's codes outside the server's table are counted as `other` (no series per code), logged exactly", async () => {
  const s = await server();
  const odd = [4999, 3000, 1012, 1014];
  const ids: unknown[] = [];
  await countedAs(
    s,
    async () => {
      for (const code of odd) {
        const { client, id } = await connect(s.wsUrl);
        ids.push(id);
        client.ws.close(code);
        await client.closed;
      }
      const { client } = await connect(s.wsUrl);
      client.ws.close(); // a close frame without a code: 1005, which `ws` reports
      await client.closed;
    },
    { 'other/client': odd.length, '1005/client': 1 },
  );
  for (const [i, id] of ids.entries()) assert.equal((await closedLine(s, id)).code, odd[i]);
  assert.doesNotMatch(await fetchMetrics(s), /code="(4999|3000|1012|1014)"/);
});

test("the server's pong timeout (4000) is counted and logged as the server's, whatever the peer answers", async () => {
  const s = await server({ pingIntervalMs: 100, pongTimeoutMs: 400 });
  // A peer that echoes the close, as `ws` does...
  const echo = await connect(s.wsUrl, false);
  await countedAs(s, async () => assert.equal((await echo.client.closed).code, 4000), { '4000/server': 1 });
  assert.equal((await closedLine(s, echo.id)).by, 'server');
  // ...and one that answers the server's close with a close of its own, 4003: still the server's 4000.
  const other = await connect(s.wsUrl, false);
  await other.client.nextPing(); // past the welcome: from here the server sends pings and its close
  answerCloseWith(other.client, 4003);
  await countedAs(s, async () => assert.equal((await other.client.closed).code, 4000), { '4000/server': 1 });
  const line = await closedLine(s, other.id);
  assert.deepEqual({ code: line.code, by: line.by, reason: line.reason }, { code: 4000, by: 'server', reason: 'Pong timeout' });
});

test("the server's slow-consumer close (1013) is the server's though the peer never answers it; the talker's own 1000 is the client's", async () => {
  const s = await server();
  const slow = await connect(s.wsUrl);
  tcpSocketOf(slow.client.ws)?.pause(); // reads nothing more: the server's buffer for it grows
  const blaster = await connect(s.wsUrl);
  const closed = () => s.logs.some((l) => l.msg === 'socket closed' && l.connId === slow.id);
  await countedAs(
    s,
    async () => {
      const text = 'x'.repeat(2000);
      // ~8 MB at most, more than loopback socket buffers hold, stopped once the close is logged.
      for (let i = 0; i < 4000 && !closed(); i++) {
        blaster.client.send({ type: 'say', text });
        if (i % 200 === 199) await pace(5); // lets the server write between bursts
      }
      await eventually(closed, 10_000, 'the slow consumer to be closed');
      blaster.client.ws.close(1000);
      await blaster.client.closed;
    },
    { '1013/server': 1, '1000/client': 1 },
  );
  slow.client.ws.terminate();
  const line = await closedLine(s, slow.id);
  assert.deepEqual({ code: line.code, by: line.by, reason: line.reason }, { code: 1013, by: 'server', reason: 'Slow consumer' });
});

test("the server's disconnect (4003, server API) is the server's; a user closing with 4003 is the client's", async () => {
  const s = await server({ identity: parseIdentityConfig({ API_KEY, AUTH_JWT_SECRET: SECRET }) });
  const url = async (sub: string): Promise<string> => `${s.wsUrl}?access_token=${await hs256({ sub, name: sub })}`;
  const kicked = await connect(await url('kicked'));
  const leaving = await connect(await url('leaving'));
  await countedAs(
    s,
    async () => {
      assert.equal((await checked(s, 'DELETE', '/api/users/kicked/connections')).status, 202);
      assert.equal((await kicked.client.closed).code, 4003);
      leaving.client.ws.close(4003);
      await leaving.client.closed;
    },
    { '4003/server': 1, '4003/client': 1 },
  );
  assert.equal((await closedLine(s, kicked.id)).by, 'server');
  assert.equal((await closedLine(s, leaving.id)).by, 'client');
});

test('a TCP connection cut without a close frame is counted and logged as the network\'s 1006', async () => {
  const s = await server();
  const { client, id } = await connect(s.wsUrl);
  await countedAs(s, async () => void client.ws.terminate(), { '1006/network': 1 });
  const line = await closedLine(s, id);
  assert.deepEqual({ code: line.code, by: line.by }, { code: 1006, by: 'network' });
});

test('a flood of clients closing with the alerts\' codes pages no one: the server\'s series stay 0, the witness hears everything', async () => {
  const s = await server();
  const witness = await Witness.start(s);
  const alerting = async (): Promise<number> => {
    let sum = 0;
    for (const [key, value] of await closes(s)) if (/^(1013|4000|4003)\/server$/.test(key)) sum += value;
    return sum;
  };
  const before = await alerting();
  // 300 clients, 100 for each code the alert rules watch, closing in waves of 50.
  const codes = Array.from({ length: 300 }, (_, i) => [1013, 4000, 4003][i % 3]!);
  for (let i = 0; i < codes.length; i += 50) {
    const wave = await Promise.all(codes.slice(i, i + 50).map(async (code) => ({ code, ...(await connect(s.wsUrl)) })));
    for (const { client, code } of wave) client.ws.close(code, 'page someone');
    for (const { client, code } of wave) assert.equal((await client.closed).code, code);
  }
  await eventually(
    async () => {
      const all = await closes(s);
      return (all.get('1013/client') ?? 0) + (all.get('4000/client') ?? 0) + (all.get('4003/client') ?? 0) >= 300;
    },
    5000,
    'the 300 closes counted as the clients\'',
  );
  // What SocketshipSlowConsumers and SocketshipCloseCodeSpike count: nothing, for 300 such closes.
  assert.equal((await alerting()) - before, 0, 'ws_closes_total{by="server"} for 1013, 4000, 4003 grew');
  await witness.stop();
});
