// The service's own Prometheus metrics (the prom-client registry behind /metrics) as OpenTelemetry
// metrics, so Application Insights charts the same numbers Prometheus scrapes: one source of
// truth, nothing counted twice on the hot path. The registry is read only when the SDK's reader
// collects (every OTEL_METRIC_EXPORT_INTERVAL, 60 s by default), never per message.
import type { Attributes, BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** prom-client's default process metrics: the distro already sends CPU and memory as performance counters. */
const SKIP_PREFIXES = ['process_', 'nodejs_'];

/** getMetricsAsJSON's entries: histogram values name their series (`_bucket`, `_sum`, `_count`). */
type PromMetric = MetricObjectWithValues<MetricValue<string> & { metricName?: string }>;

interface Series {
  /** The OpenTelemetry instrument; its name is the Prometheus series name. */
  readonly instrument: Observable;
  readonly metricName: string;
}

function attributes(labels: Partial<Record<string, string | number>>): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(labels)) if (v !== undefined && k !== 'le') out[k] = v;
  return out;
}

export function shouldBridge(name: string): boolean {
  return !SKIP_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * Register one observable instrument per bridged series: counters as observable counters, gauges
 * as observable gauges, histograms as `<name>_sum` and `<name>_count` counters (the mean over any
 * window is their ratio; the buckets stay on /metrics). Returns how many instruments it made.
 */
export async function bridgeRegistry(registry: Registry, meter: Meter): Promise<number> {
  const series: Series[] = [];
  for (const metric of (await registry.getMetricsAsJSON()) as PromMetric[]) {
    if (!shouldBridge(metric.name)) continue;
    const description = metric.help;
    switch (String(metric.type)) {
      case 'counter':
        series.push({ metricName: metric.name, instrument: meter.createObservableCounter(metric.name, { description }) });
        break;
      case 'gauge':
        series.push({ metricName: metric.name, instrument: meter.createObservableGauge(metric.name, { description }) });
        break;
      case 'histogram':
        for (const suffix of ['_sum', '_count']) {
          const name = `${metric.name}${suffix}`;
          series.push({ metricName: name, instrument: meter.createObservableCounter(name, { description: `${description} (${suffix.slice(1)})` }) });
        }
        break;
      default:
        break; // summaries: none in this service
    }
  }
  const byName = new Map(series.map((s) => [s.metricName, s.instrument]));
  meter.addBatchObservableCallback(async (result: BatchObservableResult) => {
    for (const metric of (await registry.getMetricsAsJSON()) as PromMetric[]) {
      if (!shouldBridge(metric.name)) continue;
      for (const value of metric.values) {
        const instrument = byName.get(value.metricName ?? metric.name);
        if (instrument) result.observe(instrument, value.value, attributes(value.labels));
      }
    }
  }, series.map((s) => s.instrument));
  return series.length;
}
