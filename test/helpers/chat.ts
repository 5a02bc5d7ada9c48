// A chat client that behaves like the browser page: it answers pings, reconnects after an
// unexpected close (to the next of its URLs, as a load balancer would send it elsewhere), and
// rejoins its room with `since` = the last id it received. It records everything it receives,
// so a test can check for gaps, repeats and order.
import type { LookupAddress, LookupOptions } from 'node:dns';
import WebSocket from 'ws';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Received {
  id: string;
  from: string;
  text: string;
}

export interface ChatPeerOptions {
  urls: string[];
  room: string;
  name: string;
  /** Wait before reconnecting (default 100 ms, doubled per failed attempt, capped at 1 s). */
  retryMs?: number;
  /** Resolve every host name to 127.0.0.1 (the stack tests). */
  loopback?: boolean;
  /** CA certificates (PEM) to trust for wss:// (the TLS stack test's ACME root). */
  ca?: string;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
function loopbackLookup(_hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}

function compare(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

export class ChatPeer {
  readonly received: Received[] = [];
  readonly sent: string[] = [];
  /** Texts of this peer's own messages that came back (acknowledged). */
  readonly acked = new Set<string>();
  /** Ids received more than once, or out of order. */
  readonly duplicates: string[] = [];
  readonly outOfOrder: string[] = [];
  readonly histories: Record<string, unknown>[] = [];
  readonly closes: { code: number; at: number }[] = [];
  /** Every (re)join: when the socket closed and when the history for the new one arrived. */
  readonly reconnects: { closedAt: number; rejoinedAt: number; url: string }[] = [];
  members = 0;
  private ws: WebSocket | undefined;
  private joined = false;
  private stopped = false;
  private urlIndex = 0;
  private attempt = 0;
  private closedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: ChatPeerOptions;
  private lastId: string | undefined;
  private readonly seen = new Set<string>();

  constructor(opts: ChatPeerOptions) {
    this.opts = opts;
  }

  /** Connects to the first URL and waits for the room's welcome. */
  async start(timeoutMs = 10_000): Promise<void> {
    this.open();
    const deadline = Date.now() + timeoutMs;
    while (!this.joined) {
      if (Date.now() > deadline) throw new Error(`${this.opts.name}: not joined within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get open_(): boolean {
    return this.joined && this.ws?.readyState === WebSocket.OPEN;
  }

  get url(): string {
    return this.opts.urls[this.urlIndex % this.opts.urls.length] ?? '';
  }

  /** Sends a message if connected and joined; returns whether it was sent. */
  say(text: string): boolean {
    if (!this.open_ || !this.ws) return false;
    this.ws.send(JSON.stringify({ type: 'say', text }));
    this.sent.push(text);
    return true;
  }

  /** Received texts in order (ids checked already). */
  texts(): string[] {
    return this.received.map((m) => m.text);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000, 'bye');
  }

  /** Drops the connection without a close handshake, as a crash of this client would. */
  kill(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.terminate();
  }

  private open(): void {
    const url = this.url;
    const ws = new WebSocket(url, { handshakeTimeout: 5000, ...(this.opts.loopback ? { lookup: loopbackLookup } : {}), ...(this.opts.ca ? { ca: this.opts.ca } : {}) });
    this.ws = ws;
    ws.on('open', () => {
      this.attempt = 0;
      ws.send(JSON.stringify({ type: 'join', room: this.opts.room, name: this.opts.name, ...(this.lastId ? { since: this.lastId } : {}) }));
    });
    ws.on('message', (data, binary) => {
      if (binary) return;
      const text = data.toString();
      if (text === 'ping') {
        ws.send('pong');
        return;
      }
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg.type === 'welcome' && msg.room === this.opts.room && !this.lastId) this.markJoined(url);
      if (msg.type === 'history') {
        this.histories.push(msg);
        this.markJoined(url);
      }
      if (msg.type === 'presence' && msg.room === this.opts.room) this.members = Number(msg.members);
      if (msg.type === 'message' && msg.room === this.opts.room) this.record({ id: String(msg.id), from: String(msg.from), text: String(msg.text) });
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      this.joined = false;
      this.closes.push({ code, at: Date.now() });
      if (this.closedAt === 0) this.closedAt = Date.now();
      if (this.stopped) return;
      // Next URL: a load balancer would not send us back to a dead instance either.
      if (code !== 1000) this.urlIndex++;
      const base = this.opts.retryMs ?? 100;
      const delay = Math.min(1000, base * 2 ** this.attempt++);
      this.timer = setTimeout(() => this.open(), delay);
    });
  }

  private markJoined(url: string): void {
    if (this.joined) return;
    this.joined = true;
    if (this.closedAt !== 0) {
      this.reconnects.push({ closedAt: this.closedAt, rejoinedAt: Date.now(), url });
      this.closedAt = 0;
    }
  }

  private record(m: Received): void {
    if (this.seen.has(m.id)) {
      this.duplicates.push(m.id);
      return;
    }
    if (this.lastId !== undefined && compare(m.id, this.lastId) <= 0) this.outOfOrder.push(m.id);
    this.seen.add(m.id);
    this.received.push(m);
    this.lastId = m.id;
    if (m.from === this.opts.name) this.acked.add(m.text);
  }
}

/** Polls `check` every 50 ms until it holds, at most `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ChatLoad {
  /** Rounds started so far. */
  readonly rounds: number;
  /** `say` calls made so far, over every peer. */
  readonly says: number;
  /** Ends the load after the current round and waits for it. */
  stop(): Promise<void>;
  /** Resolves when the load has run all its rounds (or was stopped). */
  readonly done: Promise<void>;
}

/**
 * A bounded background load: every `everyMs`, each of `peers` (read at every round, so it may
 * grow) says `text(index, round)`, for at most `maxRounds` rounds or until `stop()`.
 */
export function chatLoad(peers: readonly ChatPeer[], everyMs: number, maxRounds: number, text = (i: number, round: number): string => `c${i}-${round}`): ChatLoad {
  let sending = true;
  let rounds = 0;
  let says = 0;
  const done = (async () => {
    for (; sending && rounds < maxRounds; rounds++) {
      peers.forEach((p, i) => {
        says++;
        p.say(text(i, rounds));
      });
      await sleep(everyMs);
    }
  })();
  return {
    get rounds() {
      return rounds;
    },
    get says() {
      return says;
    },
    done,
    stop() {
      sending = false;
      return done;
    },
  };
}
