// Compact SVG plots for the per-feature sections (paper Figs. 2 and 3), written directly rather than through
// vega (charts.ts): a sweep has hundreds of such targets, and vega's markup (a <path> with a transform and
// ARIA attributes per point, some 150 bytes) and its render time per chart would make that page slow to build
// and to open. Here a series of dots is one <path> of `M x y h0` moves with round caps, a line one <path>.
import { esc } from './links.js';

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  /** Dots, a line through the points in the given order, or both. */
  mark: 'dots' | 'line' | 'both';
  /** Dot diameter in px (default 3). */
  size?: number;
  opacity?: number;
}

export interface Plot {
  xTitle: string;
  yTitle: string;
  series: Series[];
  width?: number;
  height?: number;
}

const MARGIN = { left: 48, right: 10, top: 8, bottom: 34 };

/** About `count` round ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) out.push(Math.round(i * step * 1e12) / 1e12);
  return out;
}

const fmtTick = (x: number) => (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(1) : String(Number(x.toPrecision(4))));
const r1 = (x: number) => String(Math.round(x * 10) / 10);

/** An x-y plot with axes, grid and the series; the legend is the caller's (legendHtml). Empty string when no points. */
export function plotSvg(plot: Plot): string {
  const W = plot.width ?? 340;
  const H = plot.height ?? 230;
  const pts = plot.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (!pts.length) return '';
  const pad = (lo: number, hi: number): [number, number] => (hi > lo ? [lo - (hi - lo) * 0.04, hi + (hi - lo) * 0.04] : [lo - 0.5, hi + 0.5]);
  const [x0, x1] = pad(Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0])));
  const [y0, y1] = pad(Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1])));
  const pw = W - MARGIN.left - MARGIN.right;
  const ph = H - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => MARGIN.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  const xt = niceTicks(x0, x1).filter((t) => t >= x0 && t <= x1);
  const yt = niceTicks(y0, y1).filter((t) => t >= y0 && t <= y1);
  const grid = [...xt.map((t) => `M${r1(sx(t))} ${MARGIN.top}v${ph}`), ...yt.map((t) => `M${MARGIN.left} ${r1(sy(t))}h${pw}`)].join('');
  out.push(`<path d="${grid}" stroke="#eee"/><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);
  out.push(
    `<g font-size="10" fill="#444">${xt.map((t) => `<text x="${r1(sx(t))}" y="${H - MARGIN.bottom + 12}" text-anchor="middle">${fmtTick(t)}</text>`).join('')}${yt
      .map((t) => `<text x="${MARGIN.left - 3}" y="${r1(sy(t) + 3)}" text-anchor="end">${fmtTick(t)}</text>`)
      .join('')}</g>`,
  );
  out.push(
    `<g font-size="11" fill="#222"><text x="${MARGIN.left + pw / 2}" y="${H - 4}" text-anchor="middle">${esc(plot.xTitle)}</text><text transform="translate(11 ${MARGIN.top + ph / 2})rotate(-90)" text-anchor="middle">${esc(plot.yTitle)}</text></g>`,
  );
  for (const s of plot.series) {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (!p.length) continue;
    const op = s.opacity !== undefined && s.opacity < 1 ? ` stroke-opacity="${s.opacity}"` : '';
    if (s.mark !== 'dots')
      out.push(`<path d="${p.map(([x, y], i) => `${i ? 'L' : 'M'}${r1(sx(x))} ${r1(sy(y))}`).join('')}" fill="none" stroke="${s.color}" stroke-width="1.5"${op}/>`);
    if (s.mark !== 'line') {
      // Whole pixels: a dot a few pixels wide needs no finer place, and the path stays short.
      out.push(
        `<path d="${p.map(([x, y]) => `M${Math.round(sx(x))} ${Math.round(sy(y))}h0`).join('')}" stroke="${s.color}" stroke-width="${s.size ?? 3}" stroke-linecap="round"${op}/>`,
      );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans,Helvetica,Arial,sans-serif">${out.join('')}</svg>`;
}

/** The series' names and colours, as one line of HTML under the plot. */
export function legendHtml(series: Series[]): string {
  return `<p class="legend">${series
    .filter((s) => s.points.length)
    .map((s) => `<span style="color:${s.color}">${s.mark === 'line' ? '━' : '●'}</span> ${esc(s.name)}`)
    .join(' &nbsp; ')}</p>`;
}

/**
 * A log-linear histogram (core/stats/histogram.ts) as bars of equal width in value order (negative buckets,
 * the zero bucket, positive buckets), so its x axis is logarithmic in |x|; bar height is the count's square root.
 */
export function histogramSvg(h: { zero: number; zeroBelow: number; buckets: Array<{ lo: number; hi: number; count: number }> }, width = 340, height = 90): string {
  const bars = [...h.buckets.filter((b) => b.hi <= 0), ...(h.zero ? [{ lo: 0, hi: 0, count: h.zero }] : []), ...h.buckets.filter((b) => b.lo > 0)];
  if (!bars.length) return '';
  const top = Math.sqrt(Math.max(...bars.map((b) => b.count)));
  const w = (width - 20) / bars.length;
  const ph = height - 26;
  const d = bars
    .map((b, i) => {
      const bh = (Math.sqrt(b.count) / top) * ph;
      return `M${r1(10 + i * w)} ${r1(6 + ph - bh)}h${r1(Math.max(0.6, w - 0.4))}v${r1(bh)}h${r1(-Math.max(0.6, w - 0.4))}z`;
    })
    .join('');
  const zeroAt = bars.findIndex((b) => b.lo === 0 && b.hi === 0);
  const label = (x: number) => fmtTick(Number(x.toPrecision(3)));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans,Helvetica,Arial,sans-serif"><path d="${d}" fill="#7a6fb0"/><path d="M10 ${6 + ph}h${width - 20}" stroke="#999"/><g font-size="10" fill="#444"><text x="10" y="${height - 6}">${label(bars[0]!.lo)}</text><text x="${width - 10}" y="${height - 6}" text-anchor="end">${label(bars.at(-1)!.hi)}</text>${
    zeroAt >= 0 ? `<text x="${r1(10 + (zeroAt + 0.5) * w)}" y="${height - 6}" text-anchor="middle">0</text>` : ''
  }</g></svg>`;
}
