// A local stand-in for the Application Insights ingestion endpoint: HTTPS on 127.0.0.1 with the
// committed test certificate (the exporter upgrades http:// endpoints to https://), answering
// `POST /v2.1/track` the way Breeze does and keeping every envelope it decoded (gzip + JSON array).
// It also answers Live Metrics pings, and, as an HTTPS proxy, refuses every CONNECT, recording the
// host: the exporter's control-plane poll (OneSettings) is thereby kept off the network.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export const FIXTURES = new URL('./fixtures/', import.meta.url);
export const CA_FILE = new URL('ingestion-cert.pem', FIXTURES).pathname;

export const IKEY = '0f3c2a9e-7d41-4b5e-9a61-2c8d7e5f4b10';

export function connectionString(port: number): string {
  return `InstrumentationKey=${IKEY};IngestionEndpoint=https://127.0.0.1:${port}/;LiveEndpoint=https://127.0.0.1:${port}/`;
}

/** The service's environment for telemetry to the stand-in: nothing the exporter could reach leaves loopback. */
export function telemetryEnv(port: number): Record<string, string> {
  return {
    APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString(port),
    NODE_EXTRA_CA_CERTS: CA_FILE,
    // The exporter's own usage statistics go to a fixed Microsoft endpoint: off.
    APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
    // Its control-plane poll (OneSettings) is https-only to a fixed host: through this "proxy",
    // which refuses it. Ingestion and Live Metrics (127.0.0.1) go direct.
    HTTPS_PROXY: `http://127.0.0.1:${port}`,
    NO_PROXY: '127.0.0.1,localhost',
    // As on App Service: the resource detector then skips its Azure VM metadata (IMDS) probe.
    WEBSITE_SITE_NAME: 'socketship-test',
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
    LOG_LEVEL: 'debug',
    PING_INTERVAL_MS: '100',
  };
}

export interface Envelope {
  name: string;
  iKey: string;
  tags: Record<string, string>;
  data: { baseType: string; baseData: Record<string, unknown> };
}

export interface Ingestion {
  readonly port: number;
  readonly envelopes: Envelope[];
  /** Host:port of every CONNECT (proxy) request refused. */
  readonly tunnels: string[];
  readonly paths: string[];
  /** Resolves with the first match once `predicate` holds for some envelope; rejects after timeoutMs. */
  waitFor(predicate: (e: Envelope) => boolean, what: string, timeoutMs?: number): Promise<Envelope>;
  close(): Promise<void>;
}

export async function startIngestion(): Promise<Ingestion> {
  const envelopes: Envelope[] = [];
  const tunnels: string[] = [];
  const paths: string[] = [];
  let wake: (() => void)[] = [];
  const server: Server = createServer({ cert: readFileSync(new URL('ingestion-cert.pem', FIXTURES)), key: readFileSync(new URL('ingestion-key.pem', FIXTURES)) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method ?? ''} ${req.url ?? ''}`);
      if (req.method === 'POST' && /\/v2(\.1)?\/track$/.test(req.url ?? '')) {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const items = JSON.parse(body.toString('utf8')) as Envelope[];
        envelopes.push(...items);
        for (const w of wake.splice(0)) w();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
        return;
      }
      // Live Metrics (QuickPulse) ping/post: "nobody is watching".
      res.writeHead(200, { 'content-type': 'application/json', 'x-ms-qps-subscribed': 'false' }).end('{}');
    });
  });
  server.on('connect', (req, socket) => {
    tunnels.push(req.url ?? '');
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    envelopes,
    tunnels,
    paths,
    async waitFor(predicate, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = envelopes.find(predicate);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) {
          const kinds = [...new Set(envelopes.map((e) => e.data.baseType))].join(', ');
          throw new Error(`no ${what} within ${timeoutMs} ms (got ${envelopes.length} envelopes: ${kinds}; requests: ${paths.slice(-5).join(' | ')})`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 500));
          wake.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close() {
      wake = [];
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
