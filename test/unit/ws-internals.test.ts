// The canary for src/realtime/ws-internals.ts: each private field of `ws` the server reads is
// checked against the installed `ws`, so an upgrade that changes them fails here, by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { directSocket, kernelAccepted, partialFragments, partialMessageBytes, queuedWrites, tcpSocketOf, wsErrorCloseCode } from '../../src/realtime/ws-internals.ts';

async function pair(): Promise<{ server: WebSocket; client: WebSocket; port: number; wss: WebSocketServer; done(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1024 });
  await once(wss, 'listening');
  const port = (wss.address() as { port: number }).port;
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  client.on('error', () => {});
  const [server] = await accepted;
  await once(client, 'open');
  return {
    server,
    client,
    port,
    wss,
    async done() {
      for (const ws of wss.clients) ws.terminate();
      client.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

test('directSocket: an idle server socket exposes its TCP socket for direct writes, and those bytes arrive as frames', async () => {
  const p = await pair();
  try {
    const direct = directSocket(p.server);
    assert.ok(direct, 'ws internals changed (_sender._bufferedBytes, _socket): update directSocket() in src/realtime/ws-internals.ts');
    assert.equal(direct, tcpSocketOf(p.server));
    const got = once(p.client, 'message') as Promise<[Buffer, boolean]>;
    direct.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // FIN + text, "hi"
    const [data, binary] = await got;
    assert.equal(data.toString(), 'hi');
    assert.equal(binary, false);
  } finally {
    await p.done();
  }
});

test('wsErrorCloseCode: the code ws sends for its own protocol errors is read from the error', async () => {
  const cases: { bytes: number[]; code: number; what: string }[] = [
    { bytes: [0x8f, 0x80, 1, 2, 3, 4], code: 1002, what: 'reserved opcode' },
    { bytes: [0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4], code: 1009, what: 'absurd length' },
    { bytes: [0x81, 0x81, 0, 0, 0, 0, 0xff], code: 1007, what: 'invalid UTF-8' },
    { bytes: [0x81, 0xfe, 0x08, 0x00, 1, 2, 3, 4], code: 1009, what: 'over maxPayload' },
  ];
  for (const c of cases) {
    const p = await pair();
    try {
      const error = once(p.server, 'error') as Promise<[Error]>;
      const closed = once(p.client, 'close') as Promise<[number]>;
      tcpSocketOf(p.client)!.write(Buffer.from(c.bytes));
      const [err] = await error;
      const [wire] = await closed;
      assert.equal(wire, c.code, `${c.what}: ws closed with ${wire}`);
      assert.equal(wsErrorCloseCode(err), c.code, `${c.what}: ws internals changed (the status-code symbol): update wsErrorCloseCode()`);
    } finally {
      await p.done();
    }
  }
  assert.equal(wsErrorCloseCode(new Error('plain')), undefined);
});

test('tcpSocketOf: the TCP socket under a ws client (tests pause it to play a peer that stops reading)', async () => {
  const p = await pair();
  try {
    const tcp = tcpSocketOf(p.client);
    assert.ok(tcp instanceof Socket, 'ws internals changed (_socket): update tcpSocketOf()');
    assert.equal(tcp.remotePort, p.port);
  } finally {
    await p.done();
  }
});

test('partialMessageBytes, partialFragments: an unfinished fragmented message is read from ws\'s receiver', async () => {
  const p = await pair();
  try {
    assert.equal(partialMessageBytes(p.server), 0);
    // Two text fragments of 100 bytes (masked with a zero key), no FIN, then a frame cut short.
    const fragment = (opcode: number, n: number): Buffer => Buffer.concat([Buffer.from([opcode, 0x80 | n, 0, 0, 0, 0]), Buffer.alloc(n, 0x61)]);
    const cut = fragment(0x00, 100).subarray(0, 56);
    tcpSocketOf(p.client)!.write(Buffer.concat([fragment(0x01, 100), fragment(0x00, 100), cut]));
    const deadline = Date.now() + 2000;
    while (partialMessageBytes(p.server) < 250 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(partialMessageBytes(p.server), 200 + 50, 'ws internals changed (_receiver._messageLength, _bufferedBytes): update partialMessageBytes()');
    assert.equal(partialFragments(p.server), 2, 'ws internals changed (_receiver._fragments): update partialFragments()');
  } finally {
    await p.done();
  }
});

test('queuedWrites, kernelAccepted: writes queued behind a peer that reads nothing, and what the kernel took', async () => {
  const p = await pair();
  try {
    tcpSocketOf(p.client)!.pause();
    const tcp = tcpSocketOf(p.server)!;
    const accepted0 = kernelAccepted(p.server);
    assert.equal(typeof accepted0, 'number', 'Node internals changed (_handle.bytesWritten, writeQueueSize): update kernelAccepted()');
    const chunk = Buffer.alloc(64 * 1024);
    // Far past what loopback buffers hold (a few MB), so writes queue in user space.
    for (let i = 0; i < 400; i++) tcp.write(chunk);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(queuedWrites(p.server) > 10, `Node internals changed (_writableState.buffered, bufferedIndex): update queuedWrites() (${queuedWrites(p.server)})`);
    const accepted = kernelAccepted(p.server)!;
    assert.ok(accepted > accepted0! && accepted < 400 * chunk.length, `kernel took ${accepted} bytes`);
    // Written but not taken: what the Writable queues plus what libuv still holds of the write in flight.
    const waiting = tcp.bytesWritten - accepted;
    assert.ok(waiting > 0 && waiting <= tcp.writableLength, `${waiting} bytes waiting, writableLength ${tcp.writableLength}`);
  } finally {
    await p.done();
  }
});
