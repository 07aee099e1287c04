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
});
