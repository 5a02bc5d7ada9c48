// Hostile-input catalogue: readers that stop reading but stay inside the byte limit (issue #22).
// 1. A peer that reads nothing and answers pings blindly, while the kernel's buffers hold its
//    backlog: closed by time (SLOW_CONSUMER_MS, 1013), its TCP connection reset, the kernel's share
//    counted meanwhile; a paused peer with nothing waiting for it is left alone.
// 2. A stalled reader fed small frames: each queued write costs heap besides its bytes, and the
//    slow-consumer limit counts it, so the close comes while its wire bytes are well under the limit.
// The witness pair in the same room hears every message throughout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick, setTimeout as pace } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { lastWordHex, parseTable } from '../../../src/realtime/kernel-queues.ts';
import { tcpSocketOf } from '../../../src/realtime/ws-internals.ts';
import { QUEUED_WRITE_BYTES } from '../../../src/realtime/slow-consumer.ts';
import { TestClient } from '../../helpers/client.ts';
import { Witness } from '../../helpers/hostile.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type LogLine, type TestServer } from '../../helpers/server.ts';

const server = serverPool({ rateLimitPerSec: 100_000 });

function closedLine(s: TestServer, id: unknown): LogLine | undefined {
  return s.logs.find((l) => l.msg === 'socket closed' && l.connId === id);
}

/** What the kernel's send queue holds for the server's end of a connection from `clientPort` (Linux). */
async function kernelSendQueue(serverPort: number, clientPort: number | undefined): Promise<number> {
  const table = new Map<string, readonly [number, number]>();
  parseTable(await readFile('/proc/net/tcp', 'latin1'), table);
  const key = `${lastWordHex('127.0.0.1') ?? ''}:${(clientPort ?? 0).toString(16).toUpperCase().padStart(4, '0')}:${serverPort.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.get(key)?.[0] ?? 0;
}

/** Says `text` from `blaster` until `done()` or `max` messages; a pause every `burst` lets the server write. */
async function blast(blaster: TestClient, text: string, max: number, burst: number, done: () => boolean | Promise<boolean>): Promise<number> {
  let sent = 0;
  while (sent < max && !(await done())) {
    for (let i = 0; i < burst; i++) blaster.send({ type: 'say', text });
    sent += burst;
    await pace(5);
  }
  return sent;
}

test('a reader that stops reading but answers pings blindly is closed by time (1013), reset, the witness unharmed', async (t) => {
  const slowConsumerMs = 2000;
  // The byte limit out of the way: only the time rule can close it.
  const s = await server({ maxBufferedBytes: 256 * 1024 * 1024, slowConsumerMs });
  const witness = await Witness.start(s);
  t.after(() => witness.stop());
  const before = metricValue(await fetchMetrics(s), 'ws_closes_total', { code: '1013', by: 'server' });

  // A control: paused too, alone in its room, so nothing waits for it but a ping a second.
  const quiet = await TestClient.connect(s.wsUrl, { autoPong: false });
  const { id: quietId } = await quiet.nextOf('welcome');
  quiet.send({ type: 'join', room: 'quiet', name: 'quiet' });
  await quiet.nextOf('welcome', 3000, (m) => m.room === 'quiet');
  tcpSocketOf(quiet.ws)?.pause();

  const stalled = await TestClient.connect(s.wsUrl, { autoPong: false });
  const { id } = await stalled.nextOf('welcome');
  tcpSocketOf(stalled.ws)?.pause();
  // Blind pongs: every ping is "answered" without a byte read, so the pong timeout never fires.
  const blind = setInterval(() => {
    stalled.send('pong');
    quiet.send('pong');
  }, 300);
  try {
    const blaster = await TestClient.connect(s.wsUrl);
    await blaster.nextOf('welcome');
    // Until the kernel's buffers for it are full and the server itself holds output for it
    // (ws_memory_held_bytes{kind="output"}); bounded at 40 MB.
    const outputHeld = async (): Promise<boolean> => metricValue(await fetchMetrics(s), 'ws_memory_held_bytes', { kind: 'output' }) > 0;
    await blast(blaster, 'x'.repeat(2000), 20_000, 100, outputHeld);
    const waitingSeen = Date.now();
    // What the kernel holds for it is counted too (Linux: /proc/net/tcp, read after each sweep and
    // counted by the next), before the rule closes it.
    let kernelHeld = 0;
    await eventually(async () => (kernelHeld = metricValue(await fetchMetrics(s), 'ws_memory_held_bytes', { kind: 'kernel' })) > 0 || closedLine(s, id) !== undefined, 5000, 'the kernel share counted');
    // Two sweeps of slack besides the rule's own time (the sweep runs once a second).
    await eventually(() => closedLine(s, id) !== undefined, slowConsumerMs + 5000, 'the stalled reader to be closed by time');
    const closedAfter = Date.now() - waitingSeen;
    const line = closedLine(s, id);
    assert.equal(line?.code, 1013);
    assert.equal(line?.reason, 'Slow consumer');
    const warn = s.logs.find((l) => l.msg === 'slow consumer closed' && l.connId === id);
    assert.equal(warn?.rule, 'time', 'closed by the time rule, not by bytes');
    assert.ok(Number(warn?.waitedMs) >= slowConsumerMs, `waited ${String(warn?.waitedMs)} ms`);
    assert.ok(closedAfter <= slowConsumerMs + 5000, `closed ${closedAfter} ms after output was seen waiting`);
    assert.ok(kernelHeld > 64 * 1024, `the kernel send queue of the stalled socket was counted (${kernelHeld} bytes)`);
    // Reset, not destroyed after a close handshake it cannot read: destroyed, the kernel would keep
    // the connection's unsent bytes (an orphan, FIN_WAIT1) for minutes, probing a zero window.
    // Past ws's 1 s close timeout, with no more blind pongs to provoke a reset from the peer, the
    // kernel holds nothing for the connection any more.
    clearInterval(blind);
    await pace(1500);
    assert.equal(await kernelSendQueue(s.port, tcpSocketOf(stalled.ws)?.localPort), 0, 'the kernel still holds bytes for the closed connection');
    await eventually(async () => metricValue(await fetchMetrics(s), 'ws_closes_total', { code: '1013', by: 'server' }) >= before + 1, 3000, 'the close counted');
    blaster.ws.close(1000);
    await witness.probe('after the stalled reader');
    // The control waited for nothing: never closed, blind pongs and all.
    assert.equal(closedLine(s, quietId), undefined, 'a paused socket with no output waiting is left open');
  } finally {
    clearInterval(blind);
    stalled.ws.terminate();
    quiet.ws.terminate();
  }
});

test('small frames to a stalled reader are counted with their per-write overhead: closed (1013) while its wire bytes are far under the limit', async (t) => {
  const limit = 256 * 1024;
  // The time rule out of the way: only the byte limit can close it.
  const s = await server({ maxBufferedBytes: limit, slowConsumerMs: 600_000 });
  const witness = await Witness.start(s);
  t.after(() => witness.stop());
  const stalled = await TestClient.connect(s.wsUrl, { autoPong: false });
  const { id } = await stalled.nextOf('welcome');
  tcpSocketOf(stalled.ws)?.pause();
  const blaster = await TestClient.connect(s.wsUrl);
  await blaster.nextOf('welcome');
  try {
    // One short message a turn of the event loop: the server writes each to the stalled socket
    // on its own, first into the kernel's buffers (megabytes on loopback), then queued. Bounded:
    // 120000 messages of ~130 bytes is 15 MB, far more than loopback buffers hold.
    const closed = () => closedLine(s, id) !== undefined;
    for (let i = 0; i < 120_000 && !closed(); i++) {
      blaster.send({ type: 'say', text: 'x' });
      await tick();
    }
    await eventually(closed, 5000, 'the stalled reader to be closed');
    const warn = s.logs.find((l) => l.msg === 'slow consumer closed' && l.connId === id);
    assert.equal(warn?.rule, 'bytes');
    const wire = Number(warn?.bufferedBytes);
    const writes = Number(warn?.queuedWrites);
    assert.ok(wire + writes * QUEUED_WRITE_BYTES > limit, `cost ${wire} + ${writes} x ${QUEUED_WRITE_BYTES} passes ${limit}`);
    // Counted by wire bytes alone it would still be open, holding twice what it counts.
    assert.ok(wire < limit / 2, `closed at ${wire} wire bytes: the per-write overhead was not what closed it`);
    assert.equal(closedLine(s, id)?.code, 1013);
    await witness.probe('after the small-frame flood');
  } finally {
    blaster.ws.close(1000);
    stalled.ws.terminate();
  }
});

test("a reader whose backlog sits in the kernel's send queue alone (its window shut) is closed by time too", async (t) => {
  const slowConsumerMs = 2000;
  const s = await server({ maxBufferedBytes: 256 * 1024 * 1024, slowConsumerMs });
  const witness = await Witness.start(s);
  t.after(() => witness.stop());
  const stalled = await TestClient.connect(s.wsUrl, { autoPong: false });
  const { id } = await stalled.nextOf('welcome');
  tcpSocketOf(stalled.ws)?.pause();
  const blind = setInterval(() => stalled.send('pong'), 300);
  t.after(() => {
    clearInterval(blind);
    stalled.ws.terminate();
  });
  const blaster = await TestClient.connect(s.wsUrl);
  t.after(() => blaster.ws.close(1000));
  await blaster.nextOf('welcome');
  // A little at a time, until the kernel holds some of it for the stalled socket; then nothing more.
  const kernelHeld = async (): Promise<boolean> => metricValue(await fetchMetrics(s), 'ws_memory_held_bytes', { kind: 'kernel' }) > 32 * 1024;
  await blast(blaster, 'x'.repeat(2000), 5000, 10, kernelHeld);
  await eventually(() => closedLine(s, id) !== undefined, slowConsumerMs + 5000, 'the stalled reader to be closed by time');
  const warn = s.logs.find((l) => l.msg === 'slow consumer closed' && l.connId === id);
  assert.equal(warn?.rule, 'time');
  assert.ok(Number(warn?.kernelQueuedBytes) > 0, `the kernel held ${String(warn?.kernelQueuedBytes)} bytes for it`);
  assert.equal(closedLine(s, id)?.code, 1013);
  await witness.probe('after the kernel-stalled reader');
});
