// Raw TCP clients that hold a connection the way a hostile one does (silent, half a request, a body
// a byte at a time), and what the server's side says about its connections without opening another.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { within } from './bounded.ts';
import { eventually, metricValue, type TestServer } from './server.ts';

export interface Held {
  socket: Socket;
  /** Everything the server has sent on it so far. */
  received(): string;
  /** Resolves once the server has closed it (or it was destroyed), with the time it happened (performance.now()). */
  closed: Promise<number>;
}

/**
 * Opens a connection and writes `first` (nothing, when empty), then holds it open. `allowHalfOpen`:
 * it stays open after the server's FIN, as a client that never hangs up.
 */
export async function hold(port: number, first = '', allowHalfOpen = false): Promise<Held> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen });
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  await within(once(socket, 'connect'), 2000, 'a TCP connection');
  if (first) socket.write(first);
  return { socket, received: () => got, closed };
}

/** TCP connections the server holds now, WebSockets included (net.Server's own count). */
export function serverConnections(s: TestServer): Promise<number> {
  return new Promise((resolve, reject) => s.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** Waits (bounded) until the server holds exactly `n` TCP connections. */
export async function untilServerHolds(s: TestServer, n: number, what: string): Promise<void> {
  let last = -1;
  await eventually(async () => (last = await serverConnections(s)) === n, 5000, `${what} (server holds ${n} connections; last seen ${last})`);
}

/** A sample of /metrics read from the registry itself: over the cap, an HTTP scrape would be refused. */
export async function metric(s: TestServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await s.app.metrics.registry.metrics(), name, labels);
}

/** A header of an HTTP response text, or undefined. */
export function headerOf(response: string, name: string): string | undefined {
  const head = response.split('\r\n\r\n')[0] ?? '';
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
