// Measured convergence orders on the shipped smooth problem, against the reference solution.
// Grid: Karras's rho^(1/7) spacing down to rho = 0 itself (tmin=0), so the final step into
// the data end shrinks like N^-7 and does not cap any method's order.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { gmmDenoiser, loadGaussianMixture, shippedProblemPath } from '../../../src/diffusion/gmm.js';
import { makeGrid, parseGridSpec } from '../../../src/diffusion/grids.js';
import { initialState, processByName } from '../../../src/diffusion/process.js';
import { referenceSolution } from '../../../src/diffusion/reference-ode.js';
import { convergenceOrder, sampleErrors } from '../../../src/bench/samplers.js';
import { getSampler, stepsForNfe } from '../../../src/diffusion/samplers/index.js';
import { RngStream } from '../../../src/engine/rng.js';

const mixture = loadGaussianMixture(shippedProblemPath('smooth-gmm'));
const process = processByName('vp');
const grid = parseGridSpec('karras:tmin=0');
const noise = RngStream.fromSeed(11).normal({ start: 0, count: 8 }, mixture.dim, new Float64Array(8 * mixture.dim));
let reference: Float64Array;

async function measuredOrder(name: string): Promise<number> {
  const definition = getSampler(name);
  const points: Array<[number, number]> = [];
  for (const nfe of [80, 160, 320]) {
    const { x, nfe: used } = await definition.sample(gmmDenoiser(mixture, process), process, noise, makeGrid(process, grid, stepsForNfe(definition, nfe)));
    points.push([used, sampleErrors(x, reference, mixture.dim).rmse]);
  }
  return convergenceOrder(points);
}

// Theory: Euler-type 1, Heun-type 2, Kutta 3, RK4 4. Kutta's method approaches 3 slowly here
// (about 2.7 over this range, 2.97 between 160 and 320 steps on EDM), so it is held to 2.5. Multistep methods warm up with an
// order-1 step, whose O(h²) local error caps their asymptotic global order at 2; on this
// problem that first step (at high noise, where eps barely moves) is so accurate that they
// show close to their nominal order over this NFE range, so only the cap is asserted.
const near = (target: number) => ({ holds: (order: number) => Math.abs(order - target) <= 0.3, expected: `${target} ± 0.3` });
const atLeast = (bound: number) => ({ holds: (order: number) => order >= bound, expected: `>= ${bound}` });
const expectations: Record<string, { holds: (order: number) => boolean; expected: string }> = {
  ddim: near(1), euler: near(1), 'rf-euler': near(1),
  heun: near(2), 'rf-heun': near(2), 'deis-rhork2': near(2),
  'deis-rhork3': atLeast(2.5),
  'deis-rhork4': atLeast(3.5),
  ...Object.fromEntries(['deis-tab1', 'deis-tab2', 'deis-tab3', 'deis-rhoab1', 'deis-rhoab2', 'deis-rhoab3', 'ipndm', 'dpmpp-2m', 'dpmpp-3m', 'unipc-2', 'unipc-3'].map((name) => [name, atLeast(1.7)])),
};

describe('convergence orders on a smooth problem', () => {
  before(() => {
    const tStart = process.tMax;
    reference = referenceSolution(mixture, process, initialState(process, tStart, noise), tStart).y;
  });

  for (const [name, { holds, expected }] of Object.entries(expectations)) {
    it(`${name}: order ${expected}`, async () => {
      const order = await measuredOrder(name);
      assert.ok(holds(order), `${name}: measured order ${order.toFixed(2)}, expected ${expected}`);
    });
  }

  it('the third- and fourth-order multistep methods beat second order here', async () => {
    for (const name of ['deis-tab3', 'deis-rhoab3', 'dpmpp-3m', 'unipc-2', 'unipc-3']) assert.ok((await measuredOrder(name)) > 2.5, name);
  });
});
