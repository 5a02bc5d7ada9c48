import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CloseCode, ReportedCloseCode } from '../protocol/close.ts';
import type { InboundType, OutboundType } from '../protocol/messages.ts';
import type { HttpRefusal, RejectReason } from '../protocol/refusals.ts';
import { createEventMetrics, type EventMetrics } from './events.ts';

export type { HttpRefusal, InboundType, OutboundType, RejectReason };

/**
 * `emit`: ephemeral publications; `control`: control events; `event`: an events-stream entry of an
 * unknown kind (counted, ignored); `repair`: a room's missed pushes read from its stream.
 */
export type BrokerOp = 'publish' | 'history' | 'presence' | 'read' | 'emit' | 'control' | 'event' | 'repair';

/** The broker's share of /metrics: latency, errors and the state of its connection. */
export interface BrokerMetrics {
  brokerLatency(op: BrokerOp, ms: number): void;
  brokerError(op: BrokerOp): void;
  brokerReconnect(): void;
  brokerConnected(up: boolean): void;
}

/** How a fetch of AUTH_JWKS_URL ended: `invalid` is an answer that is not a usable key set. */
export type JwksFetchOutcome = 'ok' | 'http_error' | 'timeout' | 'network' | 'invalid';

/** The JWKS source's share of /metrics (src/auth/jwks.ts): fetches, and keys kept while the provider is down. */
export interface JwksMetrics {
  jwksFetch(outcome: JwksFetchOutcome): void;
  /** Seconds the keys in use have been kept past their refresh, read when /metrics is scraped; 0 while current. */
  reportJwksStaleness(seconds: () => number): void;
}

/** What the memory budget counts (src/realtime/memory-budget.ts): `other` is what callers of `hold` report. */
export type MemoryKind = 'partial' | 'output' | 'kernel' | 'other';

/** The memory budget's share of /metrics: bytes held by kind against the budget, and the sweeps that found it exceeded. */
export interface MemoryMetrics {
  /** The budget, and the bytes held as of the last sweep, read when /metrics is scraped. */
  reportMemory(budgetBytes: number, held: () => Readonly<Record<MemoryKind, number>>): void;
  memoryBudgetExceeded(): void;
}

/**
 * A counter fed from plain numbers the hot paths add to, drained into prom-client at scrape time.
 * With `label`, each key of `counts` is one label value; without, the keys are summed.
 */
function drainedCounter<K extends string>(registry: Registry, name: string, help: string, counts: Record<K, number>, label?: string): void {
  new Counter({
    name,
    help,
    labelNames: label ? [label] : [],
    registers: [registry],
    collect() {
      for (const key of Object.keys(counts) as K[]) {
        if (label) this.labels(key).inc(counts[key]);
        else this.inc(counts[key]);
        counts[key] = 0;
      }
    },
  });
}

/**
 * Who ended a socket, the `by` of `ws_closes_total` and of the `socket closed` line. `server`: this
 * server chose the code (it started the close handshake, or `ws` closed on a protocol error it
 * found), whatever the peer echoes or if it never answers. `client`: the peer's close frame came
 * first, with a code the peer chose. `network`: the TCP connection ended without a close frame
 * either way (1006): a dropped link, a proxy, and a client that just hangs up look the same.
 * Alerts read `server` only: the other two are a stranger's choice.
 */
export type ClosedBy = 'server' | 'client' | 'network';

/**
 * The close codes a peer's close is counted under by name: the server's own table and the two `ws`
 * reports. A peer may send any of some two thousand valid codes (3000-4999, 1012, 1014...); the
 * rest are counted as `other`, so a client cannot mint series.
 */
const NAMED_PEER_CODES: ReadonlySet<number> = new Set([...Object.values(CloseCode), ...Object.values(ReportedCloseCode)]);

/** The `code` label of a close: the server's codes as they are (its own code chose them), a peer's bounded. */
export function closeCodeLabel(code: number, by: ClosedBy): string {
  return by === 'server' || NAMED_PEER_CODES.has(code) ? String(code) : 'other';
}

/** Counters the hot paths touch: plain additions, read into prom-client only when /metrics is scraped. */
export interface Metrics extends BrokerMetrics, JwksMetrics, MemoryMetrics, EventMetrics {
  readonly registry: Registry;
  connectionOpened(): void;
  /** A socket that was opened has closed with `code` (the code on the wire), ended by `by`. */
  closed(code: number, by: ClosedBy): void;
  messageIn(type: InboundType, bytes: number): void;
  /** `count` sockets received the same `bytes`-long frame. */
  messageOut(type: OutboundType, bytes: number, count: number): void;
  pingRtt(ms: number): void;
  upgradeRejected(reason: RejectReason): void;
  /** A plain HTTP request refused (405, 408, 421, 431, 400...). */
  httpRefused(reason: HttpRefusal): void;
  /** A server API request answered, by its route and status. */
  apiRequest(route: string, status: number): void;
  /** What /readyz answers, read when /metrics is scraped: alerting sees an instance that is up but refuses traffic. */
  reportReadiness(isReady: () => boolean): void;
}

export interface MetricsOptions {
  /** Prefix for every metric name. Default `ws_`. */
  prefix?: string;
  /** Node process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const p = options.prefix ?? 'ws_';
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  // Opened minus closed: every opened socket closes exactly once, so no callback into realtime is needed.
  const open = { now: 0 };
  new Gauge({
    name: `${p}connections_open`,
    help: 'WebSocket connections open now',
    registers: [registry],
    collect() {
      this.set(open.now);
    },
  });
  const opened = new Counter({ name: `${p}connections_opened_total`, help: 'WebSocket connections accepted', registers: [registry] });
  const closes = new Counter({ name: `${p}closes_total`, help: 'WebSocket closes by close code and by who chose it (server, client, network)', labelNames: ['code', 'by'], registers: [registry] });
  // The per-message counts are plain numbers on the hot paths, handed to prom-client when the
  // registry is read (collect), so a message costs an addition rather than a label lookup.
  // Label values: the feature registry's types (and invalid/control/ping), so the series are bounded.
  const messagesIn: Record<InboundType, number> = { pong: 0, invalid: 0, control: 0 };
  const messagesOut: Record<OutboundType, number> = { ping: 0, welcome: 0, message: 0, presence: 0, history: 0, error: 0 };
  const bytesIn = { total: 0 };
  const bytesOut = { total: 0 };
  drainedCounter(registry, `${p}messages_in_total`, 'Messages received by type', messagesIn, 'type');
  drainedCounter(registry, `${p}messages_out_total`, 'Messages sent by type (one per recipient)', messagesOut, 'type');
  drainedCounter(registry, `${p}bytes_in_total`, 'Payload bytes received', bytesIn);
  drainedCounter(registry, `${p}bytes_out_total`, 'Payload bytes sent (summed over recipients)', bytesOut);
  const rtt = new Histogram({
    name: `${p}ping_rtt_seconds`,
    help: 'Time from the server sending ping to receiving the pong',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const rejected = new Counter({ name: `${p}upgrades_rejected_total`, help: 'Refused WebSocket upgrades by reason', labelNames: ['reason'], registers: [registry] });
  const httpRefused = new Counter({ name: `${p}http_refused_total`, help: 'Refused HTTP requests by reason', labelNames: ['reason'], registers: [registry] });
  const apiRequests = new Counter({ name: `${p}api_requests_total`, help: 'Server API requests by route and status', labelNames: ['route', 'status'], registers: [registry] });
  let isReady = (): boolean => true;
  new Gauge({
    name: `${p}ready`,
    help: '1 while /readyz answers 200, 0 while it answers 503',
    registers: [registry],
    collect() {
      this.set(isReady() ? 1 : 0);
    },
  });

  // The broker (Redis when REDIS_URL is set; the in-process broker records nothing here).
  const brokerSeconds = new Histogram({
    name: `${p}broker_op_seconds`,
    help: 'Broker operation latency by op (publish: queued until stored in Redis)',
    labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const brokerErrors = new Counter({ name: `${p}broker_errors_total`, help: 'Failed broker operations by op', labelNames: ['op'], registers: [registry] });
  const brokerReconnects = new Counter({ name: `${p}broker_reconnects_total`, help: 'Reconnection attempts to the broker (Redis)', registers: [registry] });
  const brokerUp = new Gauge({ name: `${p}broker_connected`, help: '1 while the broker is connected (always 1 without Redis)', registers: [registry] });
  brokerUp.set(1);

  // The JWKS (AUTH_JWKS_URL); without one, nothing is fetched and the keys are never stale.
  const jwksFetches = new Counter({ name: `${p}jwks_fetches_total`, help: 'Fetches of the JWKS (AUTH_JWKS_URL) by outcome', labelNames: ['outcome'], registers: [registry] });
  let jwksStaleness = (): number => 0;
  new Gauge({
    name: `${p}jwks_stale_seconds`,
    help: 'Seconds the JWKS keys in use have been kept past their refresh because the JWKS cannot be fetched (503 past JWKS_MAX_STALE_MS); 0 while current',
    registers: [registry],
    collect() {
      this.set(jwksStaleness());
    },
  });

  // The memory budget (MEMORY_BUDGET_MB): what clients make the server hold, by kind.
  let memoryHeld = (): Readonly<Record<MemoryKind, number>> => ({ partial: 0, output: 0, kernel: 0, other: 0 });
  new Gauge({
    name: `${p}memory_held_bytes`,
    help: 'Bytes clients make the server hold, by kind (partial: messages being reassembled; output: unsent, with per-write overhead; kernel: TCP send queues; other: replays and the like), as of the last budget sweep',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const [kind, bytes] of Object.entries(memoryHeld())) this.labels(kind).set(bytes);
    },
  });
  const memoryBudget = new Gauge({ name: `${p}memory_budget_bytes`, help: 'The memory budget (MEMORY_BUDGET_MB): past it upgrades get 503, /readyz 503, and the heaviest holders are closed', registers: [registry] });
  const memoryExceeded = new Counter({ name: `${p}memory_budget_exceeded_total`, help: 'Budget sweeps (one a second) that found more held than MEMORY_BUDGET_MB', registers: [registry] });

  return {
    registry,
    ...createEventMetrics(registry, p),
    connectionOpened() {
      open.now++;
      opened.inc();
    },
    closed(code, by) {
      open.now--;
      closes.labels(closeCodeLabel(code, by), by).inc();
    },
    messageIn(type, bytes) {
      messagesIn[type] = (messagesIn[type] ?? 0) + 1;
      bytesIn.total += bytes;
    },
    messageOut(type, bytes, count) {
      if (count === 0) return;
      messagesOut[type] = (messagesOut[type] ?? 0) + count;
      bytesOut.total += bytes * count;
    },
    pingRtt: (ms) => rtt.observe(ms / 1000),
    upgradeRejected: (reason) => rejected.labels(reason).inc(),
    httpRefused: (reason) => httpRefused.labels(reason).inc(),
    apiRequest: (route, status) => apiRequests.labels(route, String(status)).inc(),
    reportReadiness(probe) {
      isReady = probe;
    },
    brokerLatency: (op, ms) => brokerSeconds.labels(op).observe(ms / 1000),
    brokerError: (op) => brokerErrors.labels(op).inc(),
    brokerReconnect: () => brokerReconnects.inc(),
    brokerConnected: (up) => brokerUp.set(up ? 1 : 0),
    jwksFetch: (outcome) => jwksFetches.labels(outcome).inc(),
    reportJwksStaleness(seconds) {
      jwksStaleness = seconds;
    },
    reportMemory(budgetBytes, held) {
      memoryBudget.set(budgetBytes);
      memoryHeld = held;
    },
    memoryBudgetExceeded: () => memoryExceeded.inc(),
  };
}
