// A dependency-free SVG of the figures people look at first: broadcast latency, memory per
// idle connection and throughput, one bar per server (median, with a min-max whisker).
import type { Spread } from './stats.ts';

export interface Bar {
  label: string;
  value: Spread;
}

export interface Panel {
  title: string;
  unit: string;
  groups: { name: string; bars: Bar[] }[];
}

const COLORS = ['#2563eb', '#9ca3af', '#f59e0b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function label(x: number): string {
  if (x >= 10_000) return `${Math.round(x / 1000)}k`;
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function renderChart(title: string, subtitle: string, servers: string[], panels: Panel[]): string {
  const pw = 300;
  const ph = 230;
  const width = pw * panels.length + 40;
  const height = ph + 110;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="20" y="22" font-size="15" font-weight="600">${esc(title)}</text>`);
  out.push(`<text x="20" y="40" fill="#555">${esc(subtitle)}</text>`);
  servers.forEach((s, i) => {
    const x = 20 + i * 130;
    out.push(`<rect x="${x}" y="${height - 24}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${x + 16}" y="${height - 14}">${esc(s)}</text>`);
  });
  panels.forEach((panel, pi) => {
    const ox = 20 + pi * pw;
    const oy = 60;
    const plotH = ph - 60;
    const plotW = pw - 60;
    const top = niceMax(Math.max(...panel.groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.value.max) ? b.value.max : 0)))));
    out.push(`<text x="${ox + 40}" y="${oy}" font-weight="600">${esc(panel.title)}</text>`);
    out.push(`<text x="${ox + 40}" y="${oy + 14}" fill="#555">${esc(panel.unit)}</text>`);
    const y0 = oy + 24 + plotH;
    for (let t = 0; t <= 4; t++) {
      const y = y0 - (plotH * t) / 4;
      out.push(`<line x1="${ox + 40}" x2="${ox + 40 + plotW}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
      out.push(`<text x="${ox + 36}" y="${y + 4}" text-anchor="end" fill="#555">${label((top * t) / 4)}</text>`);
    }
    const gw = plotW / panel.groups.length;
    panel.groups.forEach((g, gi) => {
      const bw = Math.min(26, (gw - 12) / g.bars.length);
      const gx = ox + 40 + gi * gw + (gw - bw * g.bars.length) / 2;
      g.bars.forEach((b, bi) => {
        const v = Number.isFinite(b.value.median) ? b.value.median : 0;
        const h = (plotH * v) / top;
        const x = gx + bi * bw;
        out.push(`<rect x="${x + 1}" y="${y0 - h}" width="${bw - 2}" height="${h}" fill="${COLORS[bi % COLORS.length]}"><title>${esc(`${b.label}: ${label(v)} ${panel.unit}`)}</title></rect>`);
        if (Number.isFinite(b.value.min) && Number.isFinite(b.value.max) && b.value.max > b.value.min) {
          const cx = x + bw / 2;
          out.push(`<line x1="${cx}" x2="${cx}" y1="${y0 - (plotH * b.value.max) / top}" y2="${y0 - (plotH * b.value.min) / top}" stroke="#111" stroke-width="1"/>`);
        }
        out.push(`<text x="${x + bw / 2}" y="${y0 - h - 3}" text-anchor="middle" font-size="9">${label(v)}</text>`);
      });
      out.push(`<text x="${ox + 40 + gi * gw + gw / 2}" y="${y0 + 14}" text-anchor="middle">${esc(g.name)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
