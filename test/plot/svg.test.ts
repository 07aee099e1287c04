import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineChart } from '../../src/plot/svg.js';

describe('SVG line chart', () => {
  it('draws every series with a legend, title and axis labels, escaping text', () => {
    const svg = lineChart(
      [
        { name: 'a<b>', points: [[1, 1], [10, 0.1], [100, 0.01]] },
        { name: 'second & last', points: [[1, 2], [10, 0.5]], dashed: true },
      ],
      { title: 'Error "vs" NFE', xLabel: 'NFE', yLabel: 'err', xScale: 'log', yScale: 'log' },
    );
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.match(svg, /a&lt;b&gt;/);
    assert.match(svg, /second &amp; last/);
    assert.match(svg, /Error &quot;vs&quot; NFE/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
    assert.equal((svg.match(/<circle /g) ?? []).length, 5);
    assert.match(svg, /stroke-dasharray="6 3"/);
    assert.match(svg, />0\.01</);
    assert.match(svg, />100</);
  });

  it('skips points a log axis cannot show, and handles linear axes and empty input', () => {
    const svg = lineChart([{ name: 's', points: [[1, 0], [2, -1], [3, 5], [4, Number.NaN], [5, 6]] }], { yScale: 'log' });
    assert.equal((svg.match(/<circle /g) ?? []).length, 2);
    const linear = lineChart([{ name: 's', points: [[0, 0], [1, 3]] }]);
    assert.match(linear, />0</);
    assert.match(linear, />3</);
    assert.match(lineChart([]), /<svg/);
  });

  it('keeps every legend name inside the picture, even in the widest common sans-serif font', () => {
    // DejaVu Sans advance widths (units of 1/2048 em) of the characters below.
    const dejaVu: Record<string, number> = { N: 1532, F: 1178, E: 1294, W: 2025, ' ': 651, '1': 1303, '3': 1303, '5': 1303, '9': 1303, h: 1298, e: 1260, u: 1298, n: 1298, '(': 799, ')': 799, k: 1186, a: 1255, r: 842, s: 1067, '=': 1716, ',': 651, d: 1300, p: 1300, c: 1126, v: 1212, y: 1212, b: 1300, o: 1253, '2': 1303 };
    const names = ['NFE 19', 'heun (karras) NFE 35', 'WWWW', 'deepcache every=2,branch=1'];
    for (const name of names) {
      const width = 960;
      const svg = lineChart([{ name: 'NFE 5', points: [[0.5, 35], [1, 35]] }, { name, points: [[0.5, 8], [1, 9]] }], { width, height: 600 });
      const label = [...svg.matchAll(/<text x="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].find((m) => m[2] === name);
      assert.ok(label, `legend entry ${name}`);
      const right = Number(label[1]) + ([...name].reduce((sum, c) => sum + dejaVu[c]!, 0) / 2048) * 12;
      assert.ok(right <= width - 4, `'${name}' ends at ${right.toFixed(1)} px of ${width}`);
      const frame = svg.match(/<rect x="(\d+)" y="\d+" width="([\d.]+)"/)!;
      assert.ok(Number(frame[1]) + Number(frame[2]) < Number(label[1]) - 24, 'the legend is right of the plot');
    }
  });
});
