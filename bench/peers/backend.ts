// The application's backend as the events group (bench/scenarios/events.ts) needs it: a webhook
// receiver that answers 200 at once (POST /events) and a publish hook that accepts every say
// after HOOK_DELAY_MS (POST /publish). Its own process, pinned by the harness beside the load
// generator, so its work is not charged to the server under test. It does the least a real
// backend would: it reads each body to its end and counts, and verifies no signature (the events
// suites do that; here it would only be CPU on the load generator's core). Counts are answered
// on the IPC channel ({ peer: 'counts' }); the port it listens on is told once it does.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the harness asks, and what this process tells it. */
export type BackendAsk = { peer: 'counts' };
export type BackendTell = { peer: 'listening'; port: number } | { peer: 'counts'; counts: BackendCounts };

export interface BackendCounts {
  /** POSTs to /events answered. */
  webhookPosts: number;
  /** Events in them (each batch is `{"events":[...]}`). */
  webhookEvents: number;
  /** Publish hook calls answered `accept`. */
  hookCalls: number;
  /** Requests to any other path or method (404): must stay 0. */
  other: number;
}

const delayMs = Number(process.env.HOOK_DELAY_MS ?? 1);
const counts: BackendCounts = { webhookPosts: 0, webhookEvents: 0, hookCalls: 0, other: 0 };
const ACCEPT = '{"action":"accept"}';

/** Events in a batch, counted without JSON.parse: every event carries one `"type":"` key (a text is never in an event unless EVENTS_INCLUDE_TEXT). */
function eventsIn(body: Buffer): number {
  let n = 0;
  for (let at = body.indexOf('"type":"'); at >= 0; at = body.indexOf('"type":"', at + 8)) n++;
  return n;
}

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  if (req.method === 'POST' && req.url === '/events') {
    counts.webhookPosts++;
    counts.webhookEvents += eventsIn(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}');
    return;
  }
  if (req.method === 'POST' && req.url === '/publish') {
    // The hook's answer time is the scenario's premise ("a backend answering in 1 ms"): a timer, not work.
    setTimeout(() => {
      counts.hookCalls++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': ACCEPT.length }).end(ACCEPT);
    }, delayMs);
    return;
  }
  counts.other++;
  res.writeHead(404, { 'content-length': 0 }).end();
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => answer(req, res, Buffer.concat(chunks)));
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.send?.({ peer: 'listening', port: (server.address() as AddressInfo).port } satisfies BackendTell);
});

process.on('message', (m: BackendAsk) => {
  if (m?.peer === 'counts') process.send?.({ peer: 'counts', counts: { ...counts } } satisfies BackendTell);
});
// A harness that dies must not leave this process behind; SIGTERM ends it at once.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
