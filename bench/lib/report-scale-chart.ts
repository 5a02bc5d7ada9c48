// The scale-out chart: Socketship and Socket.IO, each as two instances sharing one Redis, and the
// connect storm by auth mode (Socketship only).
import { renderChart, type Panel } from './chart.ts';
import type { ScaleSummary, StormSummary } from './report-scale.ts';
import { scaled } from './stats.ts';

export function scaleChart(scale: readonly ScaleSummary[], storm: readonly StormSummary[], subtitle: string): string {
  const pick = (scenario: string, metric: string): ScaleSummary | undefined => scale.find((f) => f.scenario === scenario && f.metric === metric);
  const pair = (f: ScaleSummary | undefined, k = 1): Panel['groups'][number]['bars'] => [
    { label: 'Socketship', value: scaled(f?.servers.service, k) },
    { label: 'Socket.IO', value: scaled(f?.servers.sio, k) },
  ];
  const panels: Panel[] = [
    {
      title: 'Cross-instance broadcast 1k x 10/s',
      unit: 'ms, lower is better',
      groups: [
        { name: 'p50', bars: pair(pick('redis-broadcast-1k', 'p50Ms')) },
        { name: 'p99', bars: pair(pick('redis-broadcast-1k', 'p99Ms')) },
      ],
    },
    {
      title: 'Throughput ceiling (p99 < 100 ms)',
      unit: 'messages/s to 1k members, higher is better',
      groups: [{ name: 'ceiling', bars: pair(pick('redis-ceiling', 'ceilingPerSec')) }],
    },
    {
      title: 'Redis commands per message',
      unit: 'lower is better',
      groups: [
        { name: 'at 10/s', bars: pair(pick('redis-broadcast-1k', 'commandsPerMessage')) },
        { name: 'at ceiling', bars: pair(pick('redis-ceiling', 'commandsPerMessage')) },
      ],
    },
    {
      title: 'Replay after reconnect (1k)',
      unit: 'seconds until all caught up, lower is better',
      groups: [{ name: 'other instance', bars: pair(pick('redis-replay', 'catchUpMs'), 1 / 1000) }],
    },
  ];
  const rate = storm.find((f) => f.metric === 'connectsPerSec');
  if (rate) {
    panels.push({
      title: 'Connect storm, Socketship',
      unit: 'thousand connects/s, higher is better',
      groups: [
        { name: 'anonymous', bars: [{ label: 'anonymous', value: scaled(rate.modes.anonymous, 1 / 1000) }] },
        { name: 'HS256', bars: [{ label: 'HS256', value: scaled(rate.modes.hs256, 1 / 1000) }] },
        { name: 'RS256', bars: [{ label: 'RS256', value: scaled(rate.modes.rs256, 1 / 1000) }] },
      ],
    });
  }
  return renderChart('Scale-out: two instances sharing Redis, and the authenticated connect storm', subtitle, ['Socketship', 'Socket.IO + redis-streams-adapter'], panels);
}
