// A real `ws` client with a message queue, so tests can `await` the next message of a kind.
import { WebSocket, type ClientOptions } from 'ws';

export type Json = Record<string, unknown>;

export interface Closed {
  code: number;
  reason: string;
}

export interface ClientOpts extends ClientOptions {
  /** Answer every `ping` text with `pong` (default true). */
  autoPong?: boolean;
}

/** How long `closed` waits for a close before it fails: a regression fails in seconds, never hangs. */
export const CLOSE_WAIT_MS = 5000;

export class TestClient {
  readonly ws: WebSocket;
  private readonly closedPromise: Promise<Closed>;
  pings = 0;
  autoPong: boolean;
  private queue: { text: string; binary: boolean }[] = [];
  private waiters: (() => void)[] = [];

  private constructor(ws: WebSocket, autoPong: boolean) {
    this.ws = ws;
    this.autoPong = autoPong;
    this.closedPromise = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, binary) => {
      const text = (data as Buffer).toString();
      if (text === 'ping' && !binary) {
        this.pings++;
        if (this.autoPong) ws.send('pong');
      }
      this.queue.push({ text, binary });
      for (const wake of this.waiters.splice(0)) wake();
    });
    ws.on('error', () => {});
  }

  static connect(url: string, opts: ClientOpts = {}): Promise<TestClient> {
    const { autoPong = true, ...options } = opts;
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws, autoPong);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  /** The close, or a rejection after CLOSE_WAIT_MS (or `timeoutMs`). */
  closedWithin(timeoutMs = CLOSE_WAIT_MS): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closedPromise, timeout]).finally(() => clearTimeout(timer));
  }

  /** The close, bounded by CLOSE_WAIT_MS. */
  get closed(): Promise<Closed> {
    return this.closedWithin();
  }

  send(data: string | Buffer | Json, options: { binary?: boolean; fin?: boolean } = {}): void {
    const payload = typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data);
    this.ws.send(payload, options);
  }

  /** Next message of any kind (pings included). */
  async next(timeoutMs = 3000): Promise<string> {
    return (await this.take(() => true, timeoutMs, 'a message')).text;
  }

  /** Next `ping` from the server (answered already when autoPong is on). */
  async nextPing(timeoutMs = 3000): Promise<void> {
    await this.take((m) => m.text === 'ping' && !m.binary, timeoutMs, 'a ping');
  }

  /** Next JSON message whose `type` is `type`; skips pings and other messages. */
  async nextOf(type: string, timeoutMs = 3000, where: (m: Json) => boolean = () => true): Promise<Json> {
    const found = await this.take(
      (m) => {
        if (!m.text.startsWith('{')) return false;
        const value = JSON.parse(m.text) as Json;
        return value.type === type && where(value);
      },
      timeoutMs,
      `a '${type}' message`,
    );
    return JSON.parse(found.text) as Json;
  }

  private take(match: (m: { text: string; binary: boolean }) => boolean, timeoutMs: number, what: string): Promise<{ text: string; binary: boolean }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        const i = this.queue.findIndex(match);
        if (i === -1) {
          this.waiters.push(check);
          return;
        }
        clearTimeout(timer);
        resolve(this.queue.splice(i, 1)[0]!);
      };
      check();
    });
  }

  close(): void {
    this.ws.close();
  }
}
