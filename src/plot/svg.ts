// A small, dependency-free SVG line chart: several series, linear or log axes, a legend, a
// title and axis labels. Benchmarks write their curves with it.

export interface Series {
  name: string;
  /** [x, y] pairs; points that cannot be drawn (non-finite, or <= 0 on a log axis) are skipped. */
  points: ReadonlyArray<readonly [number, number]>;
  /** CSS colour; default from a palette by position. */
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  xScale?: 'linear' | 'log';
  yScale?: 'linear' | 'log';
  width?: number;
  height?: number;
}

// Colour-blind-friendly categorical palette (Tableau 10); dashes tell series apart once it repeats
// (series with their own colour are solid unless dashed: their caller chose how to tell them apart).
const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const dashPatterns = ['', '6 3', '2 3', '8 3 2 3'];
const FONT_SIZE = 12; // px, of every label but the title

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

// Advance widths in em of DejaVu Sans, the widest of the usual sans-serif fonts (Arial and Liberation
// Sans are narrower), by character class: an upper bound on how much room a label takes.
const EM_WIDTHS: ReadonlyArray<readonly [RegExp, number]> = [
  [/[mwMW@%]/, 1.0],
  [/[A-Z&#+<=>~]/, 0.84],
  [/[ijlI.,:;!|'`]/, 0.34],
  [/[ \-()[\]{}/\\]/, 0.4],
];

/** The room a line of text takes at a font size, in px: generous, so that a label is never cut. */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const c of text) em += EM_WIDTHS.find(([pattern]) => pattern.test(c))?.[1] ?? 0.65;
  return em * fontSize;
}

/** Compact tick label: 0.001 → "1e-3", 20 → "20". */
function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-2 && magnitude < 1e5) return String(Number(value.toPrecision(6)));
  const [mantissa, exponent] = value.toExponential().split('e');
  return `${Number(Number(mantissa).toPrecision(3))}e${Number(exponent)}`;
}

interface Axis {
  toUnit(value: number): number;
  ticks: number[];
  drawable(value: number): boolean;
}

function makeAxis(values: number[], scale: 'linear' | 'log'): Axis {
  if (scale === 'log') {
    const positive = values.filter((v) => v > 0 && Number.isFinite(v));
    const logs = positive.length ? positive.map(Math.log10) : [0, 1];
    let lo = Math.min(...logs);
    let hi = Math.max(...logs);
    if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
    // A little room around the data, so end points do not sit on the frame.
    const pad = 0.03 * (hi - lo);
    [lo, hi] = [lo - pad, hi + pad];
    const inRange = (multipliers: number[]) => {
      const ticks: number[] = [];
      for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
        for (const m of multipliers) {
          // Parsed from decimal text so that ticks are exactly 1e-5 and not 10 ** -5 = 9.999…e-6.
          const tick = Number(`${m}e${e}`);
          if (Math.log10(tick) >= lo && Math.log10(tick) <= hi) ticks.push(tick);
        }
      }
      return ticks;
    };
    // 1-2-5 ticks while they are few, decades when there are many, the data's ends when there are none.
    const detailed = inRange([1, 2, 5]);
    const ticks = detailed.length > 12 ? inRange([1]) : detailed.length >= 2 ? detailed : [10 ** (lo + pad), 10 ** (hi - pad)];
    return { toUnit: (v) => (Math.log10(v) - lo) / (hi - lo), ticks, drawable: (v) => v > 0 && Number.isFinite(v) };
  }
  const finite = values.filter(Number.isFinite);
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
  const rawStep = (hi - lo) / 5;
  const power = 10 ** Math.floor(Math.log10(rawStep));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rawStep)!;
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { toUnit: (v) => (v - lo) / (hi - lo), ticks, drawable: Number.isFinite };
}

/** The chart as a standalone SVG document. */
export function lineChart(series: readonly Series[], options: LineChartOptions = {}): string {
  const { title = '', xLabel = '', yLabel = '', xScale = 'linear', yScale = 'linear', width = 800, height = 500 } = options;
  const xAxis = makeAxis(series.flatMap((s) => s.points.map((p) => p[0])), xScale);
  const yAxis = makeAxis(series.flatMap((s) => s.points.map((p) => p[1])), yScale);
  // The legend sits right of the plot: a swatch, its name, and a gap before the picture's edge.
  const legendWidth = series.length ? 24 + Math.max(...series.map((s) => textWidth(s.name, FONT_SIZE))) + 8 : 0;
  const margin = { left: 72, right: 20 + legendWidth, top: title ? 40 : 16, bottom: 56 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + xAxis.toUnit(x) * plotWidth;
  const py = (y: number) => margin.top + (1 - yAxis.toUnit(y)) * plotHeight;
  const f = (v: number) => v.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT_SIZE}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (title) parts.push(`<text x="${f(margin.left + plotWidth / 2)}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  for (const tick of xAxis.ticks) {
    const x = f(px(tick));
    parts.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${f(margin.top + plotHeight)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x}" y="${f(margin.top + plotHeight + 16)}" text-anchor="middle">${formatTick(tick)}</text>`);
  }
  for (const tick of yAxis.ticks) {
    const y = f(py(tick));
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${f(margin.left + plotWidth)}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(tick)}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${f(plotWidth)}" height="${f(plotHeight)}" fill="none" stroke="#444"/>`);
  if (xLabel) parts.push(`<text x="${f(margin.left + plotWidth / 2)}" y="${height - 14}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  if (yLabel) parts.push(`<text transform="translate(16 ${f(margin.top + plotHeight / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);

  series.forEach((s, index) => {
    const color = s.color ?? palette[index % palette.length]!;
    const dash = s.dashed ? '6 3' : s.color ? '' : dashPatterns[Math.floor(index / palette.length) % dashPatterns.length]!;
    const points = s.points.filter(([x, y]) => xAxis.drawable(x) && yAxis.drawable(y)).map(([x, y]) => `${f(px(x))},${f(py(y))}`);
    const dashAttribute = dash ? ` stroke-dasharray="${dash}"` : '';
    if (points.length > 1) parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"${dashAttribute}/>`);
    for (const point of points) {
      const [x, y] = point.split(',');
      parts.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${color}"/>`);
    }
    const legendY = margin.top + 8 + index * 16;
    const legendX = width - legendWidth;  // the swatch; the name ends at least 8 px before the edge
    parts.push(`<line x1="${f(legendX)}" y1="${legendY}" x2="${f(legendX + 18)}" y2="${legendY}" stroke="${color}" stroke-width="2"${dashAttribute}/>`);
    parts.push(`<text x="${f(legendX + 24)}" y="${legendY}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
