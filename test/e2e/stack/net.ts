// Network helpers: free loopback ports, HTTP(S) requests and WebSocket peers that reach a
// test domain on 127.0.0.1, as if DNS pointed the name at this machine.
import type { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import WebSocket from 'ws';
export { freePort } from '../../helpers/ports.ts';


type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup replacement that answers 127.0.0.1 for every name: only loopback is contacted. */
export function loopbackLookup(_hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** CA certificates (PEM) to trust for https; nothing else is trusted then. */
  ca?: string;
  timeoutMs?: number;
}

/** GET a URL; its host name is resolved to 127.0.0.1 whatever it is. */
export function get(url: string, opts: RequestOptions = {}): Promise<Reply> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const lib = secure ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      target,
      {
        method: 'GET',
        headers: opts.headers,
        lookup: loopbackLookup,
        agent: false,
        ...(secure ? { ca: opts.ca, servername: net.isIP(target.hostname) ? '' : target.hostname } : {}),
        timeout: opts.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Closed {
  code: number;
  reason: string;
}

export interface Peer {
  readonly ws: WebSocket;
  /** Every text frame received, in order. */
  readonly texts: string[];
  /** Pings answered with pong so far. */
  pongs(): number;
  readonly closed: Promise<Closed>;
  /** The first received text (already queued or still to come) that `match` accepts. */
  next(match: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** The first received JSON message that `match` accepts. */
  nextJson(match: (msg: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(value: string | Record<string, unknown>): void;
  close(): void;
}

export interface PeerOptions {
  headers?: Record<string, string>;
  ca?: string;
  /** Answer each "ping" with "pong", as the protocol asks (default true). */
  autoPong?: boolean;
  timeoutMs?: number;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Open a WebSocket (ws:// or wss://, the host resolved to 127.0.0.1) and wait for it to be open. */
export function openPeer(url: string, opts: PeerOptions = {}): Promise<Peer> {
  const ws = new WebSocket(url, {
    headers: opts.headers,
    lookup: loopbackLookup,
    ca: opts.ca,
    handshakeTimeout: opts.timeoutMs ?? 10_000,
  });
  const texts: string[] = [];
  const waiters = new Set<() => void>();
  let pongs = 0;
  const autoPong = opts.autoPong ?? true;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    texts.push(text);
    if (autoPong && text === 'ping' && ws.readyState === WebSocket.OPEN) {
      ws.send('pong');
      pongs++;
    }
    for (const wake of [...waiters]) wake();
  });
  let closeInfo = '';
  const closed = new Promise<Closed>((resolve) => {
    ws.on('close', (code, reason) => {
      closeInfo = `${code} ${reason.toString()}`;
      resolve({ code, reason: reason.toString() });
      for (const wake of [...waiters]) wake();
    });
  });
  const peer: Peer = {
    ws,
    texts,
    pongs: () => pongs,
    closed,
    next(match, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < texts.length; seen++) {
            const text = texts[seen];
            if (text !== undefined && match(text)) {
              done();
              resolve(text);
              return;
            }
          }
          if (ws.readyState === WebSocket.CLOSED) {
            done();
            reject(new Error(`socket closed (${closeInfo}) while waiting for ${what}; received: ${texts.slice(-5).join(' | ')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${what} within ${timeoutMs} ms; received: ${texts.slice(-5).join(' | ')}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async nextJson(match, what, timeoutMs) {
      const text = await peer.next((t) => {
        const msg = parseJson(t);
        return msg !== undefined && match(msg);
      }, what, timeoutMs);
      const msg = parseJson(text);
      if (!msg) throw new Error('unreachable');
      return msg;
    },
    send(value) {
      ws.send(typeof value === 'string' ? value : JSON.stringify(value));
    },
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, 'bye');
    },
  };
  // A write racing the server's close (an automatic pong, say) fails with EPIPE after the open:
  // the close that follows is what the tests look at, so such errors must not go unhandled.
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(peer));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`WebSocket handshake to ${url} answered ${res.statusCode}`));
      ws.terminate();
    });
  });
}

/** Wait for `rounds` more pings from the server, each answered with pong, on a still open socket. */
export async function pingPongRounds(peer: Peer, rounds: number, timeoutMs: number): Promise<void> {
  const start = peer.pongs();
  await peer.next(() => peer.pongs() - start >= rounds, `${rounds} ping/pong rounds`, timeoutMs);
  if (peer.ws.readyState !== WebSocket.OPEN) throw new Error('socket closed during ping/pong');
}

/**
 * Two members of a fresh room exchange a message through the server: join, presence, say,
 * and both (the sender included) receive it.
 */
export async function chatExchange(a: Peer, b: Peer, room: string): Promise<void> {
  await a.nextJson((m) => m.type === 'welcome', 'welcome for A');
  await b.nextJson((m) => m.type === 'welcome', 'welcome for B');
  a.send({ type: 'join', room, name: 'alice' });
  await a.nextJson((m) => m.type === 'welcome' && m.room === room, `A's welcome to ${room}`);
  b.send({ type: 'join', room, name: 'bob' });
  await b.nextJson((m) => m.type === 'welcome' && m.room === room, `B's welcome to ${room}`);
  await a.nextJson((m) => m.type === 'presence' && m.room === room && m.members === 2, `presence of 2 in ${room}`);
  const text = `hello from alice ${Date.now()}`;
  a.send({ type: 'say', text });
  for (const [peer, who] of [[a, 'A'], [b, 'B']] as const) {
    const msg = await peer.nextJson((m) => m.type === 'message' && m.text === text, `the message at ${who}`);
    if (msg.from !== 'alice' || msg.room !== room) throw new Error(`unexpected message at ${who}: ${JSON.stringify(msg)}`);
  }
}
