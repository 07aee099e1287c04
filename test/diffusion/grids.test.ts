import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeGrid, parseGridSpec, rectifiedFlowTime, validateGrid } from '../../src/diffusion/grids.js';
import { processByName, processNames } from '../../src/diffusion/process.js';

const specs = ['uniform', 'quadratic', 'power:kappa=3', 'logsnr', 'karras', 'karras:exponent=5:tmin=0', 'rf', 'rf:shift=3', 'uniform:tmin=0'];

describe('grids', () => {
  for (const name of processNames) {
    const process = processByName(name);
    for (const text of specs) {
      it(`${name} / ${text}: N steps give N + 1 decreasing times from tMax ending exactly at 0`, () => {
        const spec = parseGridSpec(text);
        for (const steps of [1, 2, 3, 10, 57]) {
          const grid = makeGrid(process, spec, steps);
          assert.equal(grid.length, steps + 1);
          assert.equal(grid[0], process.tMax);
          assert.equal(grid[steps], 0);
          validateGrid(grid);
          // With tMin > 0 the spaced part ends at tMin, then one step to the data end.
          const tMin = spec.tMin ?? (spec.kind === 'rf' ? 0 : process.tMin);
          if (tMin > 0 && steps > 1) assert.equal(grid[steps - 1], tMin);
        }
      });
    }
  }

  it('spaces by its rule: uniform in t, t^(1/2), lambda, rho^(1/7), RF time', () => {
    const vp = processByName('vp');
    const steps = 9;
    const differences = (values: number[]) => values.slice(1).map((v, i) => v - values[i]!);
    const constant = (values: number[], what: string) => {
      const d = differences(values);
      d.forEach((x) => assert.ok(Math.abs(x - d[0]!) < 1e-9 * Math.abs(d[0]!) + 1e-12, `${what}: ${d}`));
    };
    const spaced = (text: string) => Array.from(makeGrid(vp, parseGridSpec(text), steps).subarray(0, steps));
    constant(spaced('uniform'), 'uniform');
    constant(spaced('quadratic').map(Math.sqrt), 'quadratic');
    constant(spaced('logsnr').map((t) => vp.lambda(t)), 'logsnr');
    constant(spaced('karras').map((t) => vp.rho(t) ** (1 / 7)), 'karras');
    constant(Array.from(makeGrid(vp, parseGridSpec('rf'), steps)).map((t) => rectifiedFlowTime(vp, t)), 'rf');
  });

  it('rf shift warps towards the noisy end, as for SD3-style shifted schedules', () => {
    const rf = processByName('rf');
    const plain = makeGrid(rf, parseGridSpec('rf'), 4);
    const shifted = makeGrid(rf, parseGridSpec('rf:shift=3'), 4);
    for (let i = 1; i < 4; i++) assert.ok(shifted[i]! > plain[i]!);
    assert.ok(Math.abs(plain[2]! - 0.5 * rf.tMax) < 1e-12);
  });

  it('rejects bad specs and grids with clear messages', () => {
    assert.throws(() => parseGridSpec('cosine'), /unknown grid 'cosine'/);
    assert.throws(() => parseGridSpec('karras:rho=7'), /grid 'karras' has no setting 'rho'/);
    assert.throws(() => parseGridSpec('power:kappa=two'), /'kappa=two' is not key=number/);
    assert.throws(() => makeGrid(processByName('vp'), parseGridSpec('logsnr:tmin=0'), 5), /logsnr grid needs tMin > 0/);
    assert.throws(() => makeGrid(processByName('vp'), parseGridSpec('uniform'), 0), /steps must be a positive integer/);
    assert.throws(() => validateGrid(Float64Array.of(1, 0.5, 1e-3)), /must end exactly at the data end/);
    assert.throws(() => validateGrid(Float64Array.of(1, 1, 0)), /not strictly decreasing at index 1/);
  });
});

it('the Karras exponent is called exponent; the old spelling order is refused with the new name', () => {
  assert.deepEqual(parseGridSpec('karras:exponent=3'), { kind: 'karras', exponent: 3 });
  assert.throws(() => parseGridSpec('karras:order=3'), /the Karras exponent is called 'exponent'/);
});
