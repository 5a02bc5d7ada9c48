// A backend's webhook endpoint, for the events suites: a real HTTP server on 127.0.0.1 that
// verifies each POST's signature the way docs/events.md tells users to, and keeps the events.
// `mode` decides its answer: `ok` (200), `down` (503), `error` (500), `hang` (never answers).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { SIGNATURE_HEADER, verify } from '../../src/events/webhook/signature.ts';
import type { BackendEvent } from '../../src/protocol/backend-events.ts';

export const TEST_WEBHOOK_SECRET = 'whsec_events_suite_secret_of_32_bytes_or_more';

export type ReceiverMode = 'ok' | 'down' | 'error' | 'hang';

export interface Receiver {
  url: string;
  mode: ReceiverMode;
  /** Every event of every accepted (200) batch, repeats included, in arrival order. */
  readonly events: BackendEvent[];
  /** POSTs seen, answered or not. */
  posts: number;
  /** POSTs whose signature did not verify (must stay 0). */
  badSignatures: number;
  /** Distinct events by id. */
  distinct(): Map<string, BackendEvent>;
  ofType(type: BackendEvent['type']): BackendEvent[];
  close(): Promise<void>;
}

export async function startReceiver(secret = TEST_WEBHOOK_SECRET): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const receiver: Omit<Receiver, 'url' | 'close'> = {
    mode: 'ok',
    events: [],
    posts: 0,
    badSignatures: 0,
    distinct() {
      return new Map(this.events.map((e) => [e.id, e]));
    },
    ofType(type) {
      return [...this.distinct().values()].filter((e) => e.type === type);
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.posts++;
      const body = Buffer.concat(chunks).toString();
      const header = req.headers[SIGNATURE_HEADER];
      if (!verify(secret, body, typeof header === 'string' ? header : undefined, Date.now() / 1000)) {
        receiver.badSignatures++;
        res.writeHead(400).end();
        return;
      }
      if (receiver.mode === 'hang') return void hanging.push(res);
      if (receiver.mode !== 'ok') return void res.writeHead(receiver.mode === 'down' ? 503 : 500).end();
      const batch = JSON.parse(body) as { events: BackendEvent[] };
      assert.ok(Array.isArray(batch.events), 'a batch has events');
      receiver.events.push(...batch.events);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    for (const res of hanging.splice(0)) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  after(close);
  return Object.assign(receiver, { url: `http://127.0.0.1:${port}/hooks/socketship`, close }) as Receiver;
}
