// The many-rooms summary: Socketship against Socket.IO, both one instance with every socket in
// 10 of 100 rooms (ratios Socketship / Socket.IO, same run), and the cost of following 10 rooms
// rather than 1 on Socketship itself (an absolute bound, bytes per connection).
import { settings } from './args.ts';
import type { Row } from './record.ts';
import { cell } from './report.ts';
import { spread, type Spread } from './stats.ts';

interface RoomsFigure {
  scenario: string;
  metric: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  /** Socketship / Socket.IO. */
  ratio?: number;
  /** A bound on Socketship's own figure. */
  absolute?: number;
}

// The run's own sizes (a --quick run has fewer sockets).
const N = `${settings.roomsN >= 1000 ? `${settings.roomsN / 1000}k` : settings.roomsN}`;
const LOAD = `${N} x ${settings.roomsPerConn} of ${settings.roomsTotal} rooms, ${settings.roomsRate}/s`;

const ROOMS_FIGURES: RoomsFigure[] = [
  { scenario: 'rooms-latency', metric: 'p50Ms', title: `Rooms delivery p50, every receiver reading (${LOAD})`, unit: 'ms', better: 'lower' },
  { scenario: 'rooms-latency', metric: 'p99Ms', title: '... p99', unit: 'ms', better: 'lower', ratio: 0.8 },
  { scenario: 'rooms-latency', metric: 'maxMs', title: '... max', unit: 'ms', better: 'lower' },
  { scenario: 'rooms-latency', metric: 'arrivedPct', title: '... deliveries of the window that arrived', unit: '%', better: 'higher' },
  { scenario: 'rooms-latency', metric: 'deliveriesPerSec', title: '... deliveries received in the window', unit: 'deliveries/s', better: 'higher' },
  { scenario: 'rooms-latency', metric: 'serverCpuPct', title: '... server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'rooms-latency', metric: 'clientCpuPct', title: '... load generator CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'rooms-latency-sampled', metric: 'p50Ms', title: `Rooms delivery p50, 1 receiver in ${settings.roomsReadEvery} reading`, unit: 'ms', better: 'lower' },
  { scenario: 'rooms-latency-sampled', metric: 'p99Ms', title: '... p99', unit: 'ms', better: 'lower', ratio: 0.8 },
  { scenario: 'rooms-latency-sampled', metric: 'maxMs', title: '... max', unit: 'ms', better: 'lower' },
  { scenario: 'rooms-latency-sampled', metric: 'arrivedPct', title: '... deliveries of the window that arrived', unit: '%', better: 'higher' },
  { scenario: 'rooms-latency-sampled', metric: 'serverCpuPct', title: '... server CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'rooms-latency-sampled', metric: 'clientCpuPct', title: '... load generator CPU', unit: '% of a core', better: 'lower' },
  { scenario: 'rooms-memory', metric: 'bytesPerConn', title: `Memory per connection, ${settings.roomsPerConn} rooms (RSS)`, unit: 'bytes', better: 'lower', ratio: 0.5 },
  { scenario: 'rooms-memory', metric: 'heapBytesPerConn', title: `... heap, ${settings.roomsPerConn} rooms`, unit: 'bytes', better: 'lower' },
  { scenario: 'rooms-memory', metric: 'oneRoomBytesPerConn', title: 'Memory per connection, 1 room (RSS)', unit: 'bytes', better: 'lower' },
  { scenario: 'rooms-memory', metric: 'oneRoomHeapBytesPerConn', title: '... heap, 1 room', unit: 'bytes', better: 'lower' },
  { scenario: 'rooms-memory', metric: 'extraRoomsBytesPerConn', title: `${settings.roomsPerConn} rooms vs 1, per connection (RSS)`, unit: 'bytes', better: 'lower', absolute: 1024 },
  { scenario: 'rooms-memory', metric: 'extraRoomsHeapBytesPerConn', title: `${settings.roomsPerConn} rooms vs 1, per connection (heap)`, unit: 'bytes', better: 'lower', absolute: 1024 },
  { scenario: 'rooms-memory', metric: 'subscribesPerSec', title: 'Subscribes (256 in flight, presence on)', unit: 'subscribes/s', better: 'higher' },
];

export interface RoomsSummary extends RoomsFigure {
  servers: { service: Spread; sio: Spread };
  /** Socketship / Socket.IO, medians of the same run. */
  versus?: number;
  met?: boolean;
}

function values(rows: readonly Row[], server: 'service' | 'sio', f: RoomsFigure): number[] {
  return rows.filter((r) => r.server === server && r.scenario === f.scenario).map((r) => r.figures[f.metric] ?? Number.NaN);
}

const meets = (better: 'lower' | 'higher', value: number, bound: number): boolean => (better === 'lower' ? value <= bound : value >= bound);

export function summariseRooms(rows: readonly Row[]): RoomsSummary[] {
  const out: RoomsSummary[] = [];
  for (const f of ROOMS_FIGURES) {
    const service = spread(values(rows, 'service', f));
    const sio = spread(values(rows, 'sio', f));
    if (service.n === 0 && sio.n === 0) continue;
    const item: RoomsSummary = { ...f, servers: { service, sio } };
    if (service.n && sio.n && sio.median > 0) item.versus = service.median / sio.median;
    if (f.ratio !== undefined && item.versus !== undefined) item.met = meets(f.better, item.versus, f.ratio);
    if (f.absolute !== undefined && service.n) item.met = meets(f.better, service.median, f.absolute);
    out.push(item);
  }
  return out;
}

export function roomsTable(summary: readonly RoomsSummary[]): string {
  const lines = ['| figure (one instance, many rooms) | unit | Socketship | Socket.IO | Socketship / Socket.IO | target | met |', '|---|---|---:|---:|---:|---|---|'];
  for (const f of summary) {
    const op = f.better === 'lower' ? '<=' : '>=';
    const target = f.ratio !== undefined ? `${op} ${f.ratio.toFixed(2)}x` : f.absolute !== undefined ? `${op} ${f.absolute} (Socketship)` : '';
    const met = f.met === undefined ? '' : f.met ? 'yes' : 'NO';
    lines.push(`| ${f.title} | ${f.unit} | ${cell(f.servers.service)} | ${cell(f.servers.sio)} | ${f.versus !== undefined ? `${f.versus.toFixed(2)}x` : '-'} | ${target} | ${met} |`);
  }
  return lines.join('\n');
}
