// The run's SVG chart: broadcast latency, memory per connection and throughput, one bar per server.
import { SERVERS, type ServerName } from './args.ts';
import { renderChart, type Panel } from './chart.ts';
import type { Summary } from './report.ts';
import { scaled } from './stats.ts';

export function chart(summary: readonly Summary[], servers: readonly ServerName[], subtitle: string): string {
  const pick = (scenario: string, metric: string): Summary | undefined => summary.find((f) => f.scenario === scenario && f.metric === metric);
  const bars = (f: Summary | undefined, scale = 1): Panel['groups'][number]['bars'] =>
    servers.map((s) => ({ label: SERVERS[s].label, value: scaled(f?.servers[s], scale) }));
  const panels: Panel[] = [
    {
      title: 'Broadcast latency p99',
      unit: 'ms, lower is better',
      groups: [
        { name: '1k x 10/s', bars: bars(pick('broadcast-1k', 'p99Ms')) },
        { name: '10k x 2/s', bars: bars(pick('broadcast-10k', 'p99Ms')) },
      ],
    },
    {
      title: 'Broadcast latency p50',
      unit: 'ms, lower is better',
      groups: [
        { name: '1k x 10/s', bars: bars(pick('broadcast-1k', 'p50Ms')) },
        { name: '10k x 2/s', bars: bars(pick('broadcast-10k', 'p50Ms')) },
      ],
    },
    {
      title: 'Memory per idle connection',
      unit: 'KB (RSS and heap), lower is better',
      groups: [
        { name: 'RSS', bars: bars(pick('idle-memory', 'bytesPerConn'), 1 / 1024) },
        { name: 'heap', bars: bars(pick('idle-memory', 'heapBytesPerConn'), 1 / 1024) },
      ],
    },
    {
      title: 'Throughput',
      unit: 'thousands per second, higher is better',
      groups: [
        { name: 'echo', bars: bars(pick('echo', 'roundTripsPerSec'), 1 / 1000) },
        { name: 'fan-out 10k', bars: bars(pick('fanout-10k', 'deliveriesPerSec'), 1 / 1000) },
      ],
    },
  ];
  return renderChart('Socketship vs bare ws vs Socket.IO', subtitle, servers.map((s) => SERVERS[s].label), panels);
}
