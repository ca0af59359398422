// The admin dashboard's 24-hour chart, drawn on the server as an inline SVG: no charting
// library, no script, and nothing to fetch. Colours come from CSS classes (public/app.css),
// so the page's strict Content-Security-Policy needs no inline style.

export interface ChartSeries {
  /** CSS class suffix: the line gets `series series-<key>`. */
  key: string;
  label: string;
  values: number[];
}

export interface ChartOptions {
  title: string;
  width?: number;
  height?: number;
}

const DEFAULT_WIDTH = 720;
const DEFAULT_HEIGHT = 240;
const PAD = { top: 12, right: 12, bottom: 28, left: 44 };
const GRID_LINES = 4;
/** An hour label every this many hours keeps 24 labels from overlapping at 360 px. */
const X_LABEL_EVERY = 6;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The smallest 1, 2 or 5 × 10^n step with which GRID_LINES steps reach `max`. */
export function niceStep(max: number): number {
  if (!(max > 0)) return 1;
  const rough = max / GRID_LINES;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  return Math.max(1, step);
}

const round = (n: number) => Math.round(n * 10) / 10;
const finite = (n: number) => (Number.isFinite(n) && n > 0 ? n : 0);

/** `hours` are ISO hour starts, oldest first; each series has one count per hour. */
export function lineChartSvg(hours: string[], series: ChartSeries[], options: ChartOptions): string {
  const width = options.width ?? DEFAULT_WIDTH;
  const height = options.height ?? DEFAULT_HEIGHT;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const step = niceStep(Math.max(0, ...series.flatMap((s) => s.values.map(finite))));
  const top = step * GRID_LINES;
  const x = (i: number) => round(PAD.left + (hours.length > 1 ? (i * plotW) / (hours.length - 1) : plotW / 2));
  const y = (v: number) => round(PAD.top + plotH - (finite(v) / top) * plotH);

  const grid = Array.from({ length: GRID_LINES + 1 }, (_, i) => {
    const value = step * i;
    return `<line class="grid" x1="${PAD.left}" x2="${width - PAD.right}" y1="${y(value)}" y2="${y(value)}"/>` +
      `<text class="axis" x="${PAD.left - 6}" y="${y(value) + 4}" text-anchor="end">${value}</text>`;
  });
  const last = hours.length - 1;
  const xLabels = hours.flatMap((hour, i) =>
    i % X_LABEL_EVERY === 0 || i === last
      ? [`<text class="axis" x="${x(i)}" y="${height - 8}" text-anchor="${i === last && last > 0 ? 'end' : 'middle'}">${escapeXml(hour.slice(11, 16))}</text>`]
      : [],
  );
  const lines = series.map((s) => {
    const points = hours.map((_, i) => `${x(i)},${y(s.values[i] ?? 0)}`).join(' ');
    return `<polyline class="series series-${escapeXml(s.key)}" fill="none" points="${points}"><title>${escapeXml(s.label)}</title></polyline>`;
  });
  const totals = series.map((s) => `${s.label}: ${s.values.reduce((sum, v) => sum + finite(v), 0)}`).join(', ');

  return [
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc">`,
    `<title id="chart-title">${escapeXml(options.title)}</title>`,
    `<desc id="chart-desc">${escapeXml(`Hourly counts, UTC. Totals: ${totals}.`)}</desc>`,
    ...grid,
    ...xLabels,
    ...lines,
    '</svg>',
  ].join('');
}
