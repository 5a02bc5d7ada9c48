// A TCP forwarder on loopback between a client and the real server, for network faults the
// server cannot cause itself: a connection dropped without a close frame, bytes from the server
// held back and lost (an acknowledgement that never arrives), new connections refused (an outage).
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Server-to-client bytes are held from now on (what is held is lost when the connection drops). */
  hold(): void;
  /** Destroys every open connection, both sides, without a close frame. */
  drop(): void;
  /** While on, new connections are destroyed at once. */
  refuse(on: boolean): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let holding = false;
  let refusing = false;
  let accepted = 0;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    accepted++;
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!holding) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  function drop(): void {
    holding = false;
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  }
  return {
    port: (server.address() as AddressInfo).port,
    hold: () => void (holding = true),
    drop,
    refuse: (on) => void (refusing = on),
    get accepted() {
      return accepted;
    },
    close() {
      drop();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
