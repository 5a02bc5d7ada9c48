// The kernel's TCP send queues as the memory budget reads them (src/realtime/kernel-queues.ts):
// the table's format, addresses as the kernel prints them, and a live queue behind a peer that
// reads nothing (Linux).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { endianness } from 'node:os';
import { createServer, connect, type Socket } from 'node:net';
import { createKernelQueues, lastWordHex, parseTable } from '../../src/realtime/kernel-queues.ts';
import type { ClientSocket } from '../../src/realtime/session.ts';

const LE = endianness() === 'LE';

test('lastWordHex: the last 32 bits of an address, in the kernel\'s byte order', () => {
  assert.equal(lastWordHex('127.0.0.1'), LE ? '0100007F' : '7F000001');
  assert.equal(lastWordHex('::ffff:10.1.2.3'), LE ? '0302010A' : '0A010203');
  assert.equal(lastWordHex('2001:db8::1'), LE ? '01000000' : '00000001');
  assert.equal(lastWordHex('fe80::1:2%eth0'), LE ? '02000100' : '00010002');
  assert.equal(lastWordHex('nonsense'), undefined);
});

test('parseTable: sockets with bytes queued (sent unacknowledged plus received unread), keyed by peer address, peer port and local port', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    '   1: 0100007F:1F90 0100007F:C350 01 0000A000:00000000 00:00000000 00000000     0        0 2 1',
    '   2: 0100007F:1F90 0100007F:C351 01 00000000:00000010 00:00000000 00000000     0        0 3 1',
    '   3: 00000000000000000000000000000000:1F90 0000000000000000FFFF00000302010A:D431 01 00000100:00000000 00:0 0 0 0 4 1',
    '',
  ].join('\n');
  const table = new Map<string, readonly [number, number]>();
  parseTable(text, table);
  assert.deepEqual([...table], [['0100007F:C350:1F90', [0xa000, 0]], ['0100007F:C351:1F90', [0, 0x10]], ['0302010A:D431:1F90', [0x100, 0]]]);
});

test('createKernelQueues: the send queue of a connection whose peer reads nothing', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [socket] = await accepted;
  t.after(() => {
    client.destroy();
    socket.destroy();
    server.close();
  });
  client.pause();
  for (let i = 0; i < 32; i++) socket.write(Buffer.alloc(256 * 1024));
  const stand = { _socket: socket, session: { tcpKey: undefined } } as unknown as ClientSocket;
  const queues = createKernelQueues();
  let queued = 0;
  for (const deadline = Date.now() + 3000; queued === 0 && Date.now() < deadline; ) {
    queues.refresh();
    await new Promise((r) => setTimeout(r, 50));
    queued = queues.sendQueue(stand);
  }
  assert.ok(queues.available, '/proc/net/tcp is readable');
  assert.ok(queued > 64 * 1024, `the kernel holds ${queued} bytes for it`);
  assert.equal(createKernelQueues(['/nonexistent']).available, true);
  const missing = createKernelQueues(['/nonexistent']);
  missing.refresh();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(missing.available, false, 'no table: said so, counted as 0');
  assert.equal(missing.sendQueue(stand), 0);
});
