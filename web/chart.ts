// A small SVG chart: lines and points on linear or log axes, with ticks and a legend.

export interface Series {
  name: string;
  points: [number, number][];
  line?: boolean; // join the points (default true)
}

export interface ChartSpec {
  title: string;
  x: { label: string; log?: boolean };
  y: { label: string; log?: boolean };
  series: Series[];
  width?: number;
  height?: number;
}

const COLOURS = ['#2f6fde', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d', '#364fc7', '#a61e4d', '#087f5b', '#495057', '#f08c00', '#1864ab', '#5f3dc4', '#c92a2a', '#2f9e44', '#868e96'];
const SVG = 'http://www.w3.org/2000/svg';

function element(name: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function ticks(low: number, high: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(low)); e <= Math.ceil(Math.log10(high)); e++) for (const m of [1, 2, 5]) out.push(Number((m * 10 ** e).toPrecision(3)));
    return out.filter((v) => v >= low * 0.999 && v <= high * 1.001);
  }
  const step = 10 ** Math.floor(Math.log10((high - low) / 4 || 1));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (high - low) / s <= 6) ?? 10 * step;
  const out: number[] = [];
  for (let v = Math.ceil(low / nice) * nice; v <= high + 1e-12; v += nice) out.push(Number(v.toPrecision(6)));
  return out;
}

export function chart(spec: ChartSpec): SVGElement {
  const width = spec.width ?? 640;
  const height = spec.height ?? 360;
  const margin = { left: 60, right: 170, top: 28, bottom: 42 };
  const all = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.x.log || x > 0) && (!spec.y.log || y > 0));
  const range = (values: number[]): [number, number] => {
    const low = Math.min(...values);
    const high = Math.max(...values);
    return low === high ? [low - 1, high + 1] : [low, high];
  };
  const [x0, x1] = range(all.map((p) => p[0]));
  const [y0, y1] = range(all.map((p) => p[1]));
  const scale = (v: number, low: number, high: number, log: boolean | undefined, from: number, to: number): number => {
    const u = log ? (Math.log(v) - Math.log(low)) / (Math.log(high) - Math.log(low)) : (v - low) / (high - low);
    return from + u * (to - from);
  };
  const px = (x: number) => scale(x, x0, x1, spec.x.log, margin.left, width - margin.right);
  const py = (y: number) => scale(y, y0, y1, spec.y.log, height - margin.bottom, margin.top);
  const svg = element('svg', { width, height, viewBox: `0 0 ${width} ${height}`, 'font-size': 11, 'font-family': 'system-ui, sans-serif' });
  svg.append(element('text', { x: margin.left, y: 16, 'font-weight': 600, 'font-size': 13 }, spec.title));
  for (const t of ticks(x0, x1, spec.x.log ?? false)) {
    svg.append(element('line', { x1: px(t), x2: px(t), y1: margin.top, y2: height - margin.bottom, stroke: '#eceff4' }));
    svg.append(element('text', { x: px(t), y: height - margin.bottom + 14, 'text-anchor': 'middle' }, String(t)));
  }
  for (const t of ticks(y0, y1, spec.y.log ?? false)) {
    svg.append(element('line', { x1: margin.left, x2: width - margin.right, y1: py(t), y2: py(t), stroke: '#eceff4' }));
    svg.append(element('text', { x: margin.left - 6, y: py(t) + 4, 'text-anchor': 'end' }, String(t)));
  }
  svg.append(element('rect', { x: margin.left, y: margin.top, width: width - margin.left - margin.right, height: height - margin.top - margin.bottom, fill: 'none', stroke: '#adb5bd' }));
  svg.append(element('text', { x: (margin.left + width - margin.right) / 2, y: height - 8, 'text-anchor': 'middle' }, spec.x.label));
  svg.append(element('text', { x: 14, y: (margin.top + height - margin.bottom) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(margin.top + height - margin.bottom) / 2})` }, spec.y.label));
  spec.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length]!;
    const points = series.points.filter(([x, y]) => all.some((p) => p[0] === x && p[1] === y));
    if (series.line !== false && points.length > 1) {
      svg.append(element('polyline', { points: points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 1.5 }));
    }
    for (const [x, y] of points) svg.append(element('circle', { cx: px(x), cy: py(y), r: series.line === false ? 3.5 : 2, fill: colour }));
    const legendY = margin.top + 4 + index * 14;
    svg.append(element('rect', { x: width - margin.right + 10, y: legendY - 7, width: 10, height: 3, fill: colour }));
    svg.append(element('text', { x: width - margin.right + 24, y: legendY }, series.name));
  });
  return svg;
}
