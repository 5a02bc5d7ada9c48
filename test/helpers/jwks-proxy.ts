// An HTTP stand-in on loopback between the service and a real provider's JWKS, for the provider's
// failures the provider itself cannot be made to show: it forwards to the provider, or answers
// 500, a body of the test's choosing, nothing at all, or drops the connection. It records every
// request it gets, so tests count the service's fetches where the provider would see them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type JwksMode =
  | { kind: 'forward' }
  | { kind: 'error'; status?: number }
  /** 200 with this body (and this content type, JSON by default). */
  | { kind: 'body'; body: string; contentType?: string }
  /** Headers and body never come. */
  | { kind: 'hang' }
  /** The connection is destroyed without an answer. */
  | { kind: 'drop' };

export interface JwksRequest {
  /** Date.now() when the request arrived. */
  at: number;
  /** What it was answered (0: no answer). */
  status: number;
}

export interface JwksProxy {
  /** The URL to give the service as AUTH_JWKS_URL. */
  url: string;
  mode: JwksMode;
  readonly requests: readonly JwksRequest[];
  close(): Promise<void>;
}

export async function jwksProxy(upstream: string, mode: JwksMode = { kind: 'forward' }): Promise<JwksProxy> {
  const requests: JwksRequest[] = [];
  const hung = new Set<ServerResponse>();
  const proxy: JwksProxy = { url: '', mode, requests, close };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: JwksRequest = { at: Date.now(), status: 0 };
    requests.push(record);
    const m = proxy.mode;
    if (m.kind === 'drop') return void req.socket.destroy();
    if (m.kind === 'hang') return void hung.add(res);
    let status = 200;
    let body: string;
    let type = 'application/json';
    if (m.kind === 'error') {
      status = m.status ?? 500;
      body = '{"error":"server_error"}';
    } else if (m.kind === 'body') {
      body = m.body;
      type = m.contentType ?? type;
    } else {
      const r = await fetch(upstream, { signal: AbortSignal.timeout(5000) });
      status = r.status;
      body = await r.text();
    }
    record.status = status;
    res.writeHead(status, { 'content-type': type }).end(body);
  }

  const server = createServer((req, res) => {
    answer(req, res).catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;

  function close(): Promise<void> {
    for (const res of hung) res.destroy();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  return proxy;
}
