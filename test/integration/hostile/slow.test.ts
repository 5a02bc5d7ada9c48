// Hostile-input catalogue, part 4: a slow consumer. A client in the room stops reading while the
// room is busy: the server closes it with 1013 once its unsent output passes MAX_BUFFERED_BYTES,
// warns, counts the close, and the witness pair in the same room hears every message throughout.
import { test } from 'node:test';
import { setTimeout as pace } from 'node:timers/promises';
import { tcpSocketOf } from '../../../src/realtime/ws-internals.ts';
import { TestClient } from '../../helpers/client.ts';
import { runKind, Witness, type Kind } from '../../helpers/hostile.ts';
import { eventually, serverPool } from '../../helpers/server.ts';

const server = serverPool({ rateLimitPerSec: 100_000, maxBufferedBytes: 64 * 1024 });

const SLOW_CONSUMER: Kind = {
  name: 'slow consumer: stops reading in a busy room',
  async attack(s) {
    const slow = await TestClient.connect(s.wsUrl);
    const { id } = await slow.nextOf('welcome');
    tcpSocketOf(slow.ws)?.pause(); // reads nothing more: the server's buffer for it grows
    const blaster = await TestClient.connect(s.wsUrl);
    await blaster.nextOf('welcome');
    const text = 'x'.repeat(2000);
    // ~8 MB, more than loopback socket buffers hold; bounded, and stopped once the close is logged.
    const closed = () => s.logs.find((l) => l.msg === 'socket closed' && l.connId === id);
    for (let i = 0; i < 4000 && !closed(); i++) {
      blaster.send({ type: 'say', text });
      if (i % 200 === 199) await pace(5); // lets the server write between bursts
    }
    await eventually(() => closed() !== undefined, 10_000, 'the slow consumer to be closed');
    blaster.ws.close(1000);
    slow.ws.terminate();
    const line = closed();
    return { close: { code: Number(line?.code), reason: String(line?.reason) } };
  },
  expect: { close: { code: 1013, reason: 'Slow consumer' }, log: { msg: 'slow consumer closed' }, metric: { name: 'ws_closes_total', labels: { code: '1013', by: 'server' }, by: 1 } },
};

test('hostile slow consumer: closed with 1013, logged and counted, the witness unharmed', async (t) => {
  const s = await server();
  const witness = await Witness.start(s);
  await t.test(SLOW_CONSUMER.name, () => runKind(s, witness, SLOW_CONSUMER));
  await witness.stop();
});
