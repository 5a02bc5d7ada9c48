// The scale-out chart: Socketship and Socket.IO, each as N instances sharing one Redis, one group
// of bars per instance count in every panel (so that growth with the instances reads left to
// right), and the connect storm by auth mode (Socketship only). Where the instances ran (one
// shared core when pinned) is in the subtitle the harness passes.
import { renderChart, type Panel } from './chart.ts';
import type { ScaleSummary } from './report-scale.ts';
import type { StormSummary } from './report-storm.ts';
import { scaled } from './stats.ts';

export function scaleChart(scale: readonly ScaleSummary[], storm: readonly StormSummary[], subtitle: string): string {
  const counts = [...new Set(scale.map((f) => f.instances))].sort((a, b) => a - b);
  const byCount = (scenario: string, metric: string, k = 1): Panel['groups'] =>
    counts.map((n) => {
      const f = scale.find((x) => x.scenario === scenario && x.metric === metric && x.instances === n);
      return {
        name: `${n} inst.`,
        bars: [
          { label: `Socketship x${n}`, value: scaled(f?.servers.service, k) },
          { label: `Socket.IO x${n}`, value: scaled(f?.servers.sio, k) },
        ],
      };
    });
  const panels: Panel[] = [];
  if (counts.length) {
    panels.push(
      { title: 'Cross-instance broadcast p99', unit: 'ms at 10/s, lower is better', groups: byCount('redis-broadcast-1k', 'p99Ms') },
      { title: 'Throughput ceiling (p99 < 100 ms)', unit: 'messages/s, higher is better', groups: byCount('redis-ceiling', 'ceilingPerSec') },
      { title: 'Redis commands sent per message', unit: 'at 10/s, a script call once, lower is better', groups: byCount('redis-broadcast-1k', 'sentPerMessage') },
      { title: 'Redis operations per message', unit: 'at 10/s (commandstats), lower is better', groups: byCount('redis-broadcast-1k', 'opsPerMessage') },
      { title: 'Redis CPU per message', unit: 'µs at 10/s, lower is better', groups: byCount('redis-broadcast-1k', 'redisCpuUsPerMessage') },
      { title: 'Replay after reconnect', unit: 's until all caught up, lower is better', groups: byCount('redis-replay', 'catchUpMs', 1 / 1000) },
    );
  }
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
  const title = counts.length ? `Scale-out: ${counts.join(', ')} instances sharing one Redis` : 'The authenticated connect storm';
  return renderChart(rate && counts.length ? `${title}, and the connect storm` : title, subtitle, ['Socketship', 'Socket.IO + redis-streams-adapter'], panels);
}
