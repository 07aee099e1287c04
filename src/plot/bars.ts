// A small, dependency-free SVG horizontal bar chart: one labelled bar per row, in the given order,
// with an optional note after each bar. Rankings (which module costs least to remove) read best so.

export interface Bar {
  label: string;
  value: number;
  /** Text after the bar, e.g. what the row saves. */
  note?: string;
  color?: string;
}

export interface BarChartOptions {
  title?: string;
  xLabel?: string;
  width?: number;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The chart as a standalone SVG document; non-finite or negative values draw no bar. */
export function barChart(bars: readonly Bar[], options: BarChartOptions = {}): string {
  const { title = '', xLabel = '', width = 900 } = options;
  const rowHeight = 18;
  const labelWidth = 16 + 7 * Math.max(1, ...bars.map((b) => b.label.length));
  const noteWidth = 16 + 6.5 * Math.max(0, ...bars.map((b) => (b.note ?? '').length));
  const top = title ? 40 : 16;
  const plotWidth = Math.max(120, width - labelWidth - noteWidth - 20);
  const height = top + bars.length * rowHeight + 44;
  const max = Math.max(0, ...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
  const scale = max > 0 ? plotWidth / max : 0;
  const f = (v: number): string => v.toFixed(1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (title) parts.push(`<text x="${f(width / 2)}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  bars.forEach((bar, i) => {
    const y = top + i * rowHeight;
    const length = Number.isFinite(bar.value) && bar.value > 0 ? bar.value * scale : 0;
    parts.push(`<text x="${labelWidth - 8}" y="${f(y + rowHeight / 2)}" text-anchor="end" dominant-baseline="middle">${escapeXml(bar.label)}</text>`);
    parts.push(`<rect x="${labelWidth}" y="${f(y + 3)}" width="${f(length)}" height="${rowHeight - 6}" fill="${bar.color ?? '#4e79a7'}"/>`);
    if (bar.note) parts.push(`<text x="${f(labelWidth + length + 6)}" y="${f(y + rowHeight / 2)}" dominant-baseline="middle" fill="#333">${escapeXml(bar.note)}</text>`);
  });
  const axisY = top + bars.length * rowHeight + 4;
  parts.push(`<line x1="${labelWidth}" y1="${axisY}" x2="${f(labelWidth + plotWidth)}" y2="${axisY}" stroke="#444"/>`);
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelWidth + fraction * plotWidth;
    parts.push(`<text x="${f(x)}" y="${axisY + 14}" text-anchor="middle">${Number((fraction * max).toPrecision(3))}</text>`);
  }
  if (xLabel) parts.push(`<text x="${f(labelWidth + plotWidth / 2)}" y="${axisY + 32}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
