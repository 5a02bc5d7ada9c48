import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type InboundType = 'pong' | 'join' | 'say' | 'invalid';
export type OutboundType = 'ping' | 'welcome' | 'message' | 'presence' | 'history';
export type RejectReason = 'not_found' | 'origin' | 'capacity' | 'shutting_down' | 'bad_request';

const INBOUND: readonly InboundType[] = ['pong', 'join', 'say', 'invalid'];
const OUTBOUND: readonly OutboundType[] = ['ping', 'welcome', 'message', 'presence', 'history'];

/** Counters the hot paths touch, with label children bound once so an increment costs no label lookup. */
export interface Metrics {
  readonly registry: Registry;
  connectionOpened(): void;
  closed(code: number): void;
  messageIn(type: InboundType, bytes: number): void;
  /** `count` sockets received the same `bytes`-long frame. */
  messageOut(type: OutboundType, bytes: number, count: number): void;
  pingRtt(ms: number): void;
  upgradeRejected(reason: RejectReason): void;
}

export interface MetricsOptions {
  /** Read at scrape time, so an open socket costs nothing to count. */
  openConnections: () => number;
  /** Prefix for every metric name. Default `ws_`. */
  prefix?: string;
  /** Node process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const p = options.prefix ?? 'ws_';
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  new Gauge({
    name: `${p}connections_open`,
    help: 'WebSocket connections open now',
    registers: [registry],
    collect() {
      this.set(options.openConnections());
    },
  });
  const opened = new Counter({ name: `${p}connections_opened_total`, help: 'WebSocket connections accepted', registers: [registry] });
  const closes = new Counter({ name: `${p}closes_total`, help: 'WebSocket closes by close code', labelNames: ['code'], registers: [registry] });
  const inMsgs = new Counter({ name: `${p}messages_in_total`, help: 'Messages received by type', labelNames: ['type'], registers: [registry] });
  const outMsgs = new Counter({ name: `${p}messages_out_total`, help: 'Messages sent by type (one per recipient)', labelNames: ['type'], registers: [registry] });
  const bytesIn = new Counter({ name: `${p}bytes_in_total`, help: 'Payload bytes received', registers: [registry] });
  const bytesOut = new Counter({ name: `${p}bytes_out_total`, help: 'Payload bytes sent (summed over recipients)', registers: [registry] });
  const rtt = new Histogram({
    name: `${p}ping_rtt_seconds`,
    help: 'Time from the server sending ping to receiving the pong',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const rejected = new Counter({ name: `${p}upgrades_rejected_total`, help: 'Refused WebSocket upgrades by reason', labelNames: ['reason'], registers: [registry] });

  const inChildren = new Map(INBOUND.map((t) => [t, inMsgs.labels(t)] as const));
  const outChildren = new Map(OUTBOUND.map((t) => [t, outMsgs.labels(t)] as const));

  return {
    registry,
    connectionOpened: () => opened.inc(),
    closed: (code) => closes.labels(String(code)).inc(),
    messageIn(type, bytes) {
      inChildren.get(type)?.inc();
      bytesIn.inc(bytes);
    },
    messageOut(type, bytes, count) {
      if (count === 0) return;
      outChildren.get(type)?.inc(count);
      bytesOut.inc(bytes * count);
    },
    pingRtt: (ms) => rtt.observe(ms / 1000),
    upgradeRejected: (reason) => rejected.labels(reason).inc(),
  };
}
