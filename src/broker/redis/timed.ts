import type { BrokerMetrics, BrokerOp } from '../../metrics/metrics.ts';

/** `work`, with its latency or its failure recorded under `op`. */
export function timed<T>(metrics: BrokerMetrics, op: BrokerOp, work: Promise<T>): Promise<T> {
  const started = performance.now();
  return work.then(
    (value) => {
      metrics.brokerLatency(op, performance.now() - started);
      return value;
    },
    (err: unknown) => {
      metrics.brokerError(op);
      throw err;
    },
  );
}
