import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DenoiseCall, Denoiser } from '../../../src/diffusion/denoiser.js';
import { gmmDenoiser, parseGaussianMixture } from '../../../src/diffusion/gmm.js';
import { makeGrid, parseGridSpec } from '../../../src/diffusion/grids.js';
import { processByName, type Process } from '../../../src/diffusion/process.js';
import { freshNoiseFrom } from '../../../src/diffusion/samplers/common.js';
import { RngStream } from '../../../src/engine/rng.js';
import { ddim } from '../../../src/diffusion/samplers/ddim.js';
import { deisRhoab, deisTab, deisWeights, ipndm, lagrangeIntegrals } from '../../../src/diffusion/samplers/deis-multistep.js';
import { dpmSolverPlusPlus } from '../../../src/diffusion/samplers/dpm-solver.js';
import { heun } from '../../../src/diffusion/samplers/edm.js';
import { getSampler, samplerNames, samplers, stepsForNfe } from '../../../src/diffusion/samplers/index.js';
import { rfEuler } from '../../../src/diffusion/samplers/rectified-flow.js';
import { uniPc } from '../../../src/diffusion/samplers/unipc.js';

const mixture = parseGaussianMixture({ dim: 3, weights: [0.6, 0.4], means: [[1, 0, -0.5], [-1, 0.5, 0.3]], stds: [0.3, 0.5] });
const noise = RngStream.fromSeed(3).normal({ start: 0, count: 4 }, 3, new Float64Array(4 * 3));

function maxDifference(a: Float64Array, b: Float64Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

/** A denoiser that records every call it receives. */
function recording(process: Process): { denoiser: Denoiser; calls: Array<DenoiseCall & { t: number }> } {
  const exact = gmmDenoiser(mixture, process);
  const calls: Array<DenoiseCall & { t: number }> = [];
  return { calls, denoiser: { denoise: (x, t, call) => (calls.push({ ...call, t }), exact.denoise(x, t, call)) } };
}

describe('samplers', () => {
  for (const name of ['vp', 'ddpm', 'edm', 'rf']) {
    const process = processByName(name);
    const grid = makeGrid(process, parseGridSpec(name === 'rf' ? 'rf' : 'logsnr'), 7);
    const denoiser = gmmDenoiser(mixture, process);

    it(`${name}: DDIM is DEIS of degree 0 (tAB and rhoAB), iPNDM of order 1, DPM-Solver++ and UniPC of order 1, and rf-euler`, async () => {
      const reference = (await ddim(denoiser, process, noise, grid)).x;
      // Rounding scales with the largest intermediate value, v = x/alpha ≈ rho(tMax)·noise.
      const tolerance = 1e-14 * process.rho(grid[0]!) * Math.max(...noise.map(Math.abs));
      const variants = [
        deisTab(denoiser, process, noise, grid, { degree: 0 }),
        deisRhoab(denoiser, process, noise, grid, { degree: 0 }),
        ipndm(denoiser, process, noise, grid, { order: 1 }),
        dpmSolverPlusPlus(denoiser, process, noise, grid, { order: 1 }),
        uniPc(denoiser, process, noise, grid, { order: 1, corrector: false }),
        rfEuler(denoiser, process, noise, grid),
      ];
      for (const [index, variant] of (await Promise.all(variants)).entries()) {
        assert.ok(maxDifference(variant.x, reference) < tolerance, `variant ${index}: ${maxDifference(variant.x, reference)}`);
      }
    });
  }

  it('every sampler uses exactly the NFE its registry entry promises; EDM Heun costs 2N − 1', async () => {
    const process = processByName('vp');
    for (const steps of [1, 2, 5]) {
      const grid = makeGrid(process, parseGridSpec('quadratic'), steps);
      for (const definition of samplers.values()) {
        const { denoiser, calls } = recording(process);
        const { nfe } = await definition.sample(denoiser, process, noise, grid);
        assert.equal(nfe, definition.nfe(steps), `${definition.name} at ${steps} steps`);
        assert.equal(calls.length, nfe, `${definition.name} counts every call`);
      }
      assert.equal(getSampler('heun').nfe(steps), 2 * steps - 1);
    }
  });

  it('passes honest step and stage indices: steps in order, stage 0 first, never keyed on t', async () => {
    const process = processByName('edm');
    const grid = makeGrid(process, parseGridSpec('karras'), 4);
    for (const definition of samplers.values()) {
      const { denoiser, calls } = recording(process);
      await definition.sample(denoiser, process, noise, grid);
      const steps = [...new Set(calls.map((c) => c.step))];
      assert.deepEqual(steps, [0, 1, 2, 3], definition.name);
      for (const step of steps) {
        const stages = calls.filter((c) => c.step === step).map((c) => c.stage);
        assert.deepEqual(stages, stages.map((_, i) => i), `${definition.name} step ${step}`);
        assert.equal(calls.find((c) => c.step === step)!.t, grid[step], `${definition.name}: stage 0 of step ${step} is at the grid time`);
      }
    }
    const { denoiser, calls } = recording(process);
    await heun(denoiser, process, noise, grid);
    assert.deepEqual(calls.map((c) => [c.step, c.stage]), [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1], [3, 0]]);
  });

  it('the step callback sees each step and can stop the run (false, "stop", or async)', async () => {
    const process = processByName('vp');
    const grid = makeGrid(process, parseGridSpec('logsnr'), 6);
    const denoiser = gmmDenoiser(mixture, process);
    const seen: number[] = [];
    const full = await ddim(denoiser, process, noise, grid, { onStep: ({ step, t, x, denoised }) => void (seen.push(step), assert.equal(t, grid[step]), assert.equal(x.length, denoised.length)) });
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    assert.equal(full.stoppedAtStep, undefined);
    for (const verdict of [false, 'stop'] as const) {
      const stopped = await ddim(denoiser, process, noise, grid, { onStep: ({ step }) => (step === 2 ? verdict : undefined) });
      assert.equal(stopped.nfe, 3);
      assert.equal(stopped.stoppedAtStep, 2);
    }
    const heunStopped = await heun(denoiser, process, noise, grid, { onStep: async ({ step }) => step !== 1 });
    assert.equal(heunStopped.nfe, 3);
    for (const name of samplerNames) {
      const result = await getSampler(name).sample(denoiser, process, noise, grid, { onStep: () => 'stop' });
      assert.equal(result.nfe, 1, name);
      assert.deepEqual(result.x, noise.map((z) => process.sigma(grid[0]!) * z), `${name} returns the state it stopped at`);
    }
  });

  it('stochastic settings need fresh noise, and reproduce with per-sample streams', async () => {
    const process = processByName('vp');
    const grid = makeGrid(process, parseGridSpec('logsnr'), 5);
    const denoiser = gmmDenoiser(mixture, process);
    await assert.rejects(ddim(denoiser, process, noise, grid, { eta: 1 }), /options.freshNoise is required/);
    await assert.rejects(heun(denoiser, process, noise, grid, { churn: 10 }), /options.freshNoise is required/);
    const run = (seed: number) => ddim(denoiser, process, noise, grid, { eta: 1, freshNoise: freshNoiseFrom(RngStream.fromSeed(seed), 0, 3) });
    assert.deepEqual((await run(1)).x, (await run(1)).x);
    assert.ok(maxDifference((await run(1)).x, (await run(2)).x) > 1e-3);
    const churned = await heun(denoiser, process, noise, grid, { churn: 20, freshNoise: freshNoiseFrom(RngStream.fromSeed(1), 0, 3) });
    assert.equal(churned.nfe, 9);
    assert.ok(churned.x.every(Number.isFinite));
  });

  it('DEIS weights: degree 0 is the step in rho; tAB quadrature matches closed forms', () => {
    const vp = processByName('vp');
    const grid = makeGrid(vp, parseGridSpec('quadratic'), 8);
    deisWeights(vp, grid, 0, 't').forEach((row, i) => assert.ok(Math.abs(row[0]! - (vp.rho(grid[i + 1]!) - vp.rho(grid[i]!))) < 1e-13 * vp.rho(grid[i]!)));

    // EDM: t = rho, so the polynomial in t is the polynomial in rho and tAB = rhoAB (closed form).
    const e = processByName('edm');
    const edmGrid = makeGrid(e, parseGridSpec('karras'), 8);
    const quadrature = deisWeights(e, edmGrid, 3, 't');
    const closed = deisWeights(e, edmGrid, 3, 'rho');
    quadrature.forEach((row, i) => row.forEach((w, j) => assert.ok(Math.abs(w - closed[i]![j]!) < 1e-11 * Math.abs(closed[i]![0]!), `step ${i}, weight ${j}`)));

    // VE: t = rho², so degree 1 in t integrates in closed form: ∫ (rho² − t_{i−1})/(t_i − t_{i−1}) drho, and l_1 = 1 − l_0.
    const ve = processByName('ve');
    const veGrid = makeGrid(ve, parseGridSpec('uniform'), 6);
    deisWeights(ve, veGrid, 1, 't').forEach((row, i) => {
      if (i === 0) return;
      const [a, b] = [Math.sqrt(veGrid[i]!), Math.sqrt(veGrid[i + 1]!)];
      const [ti, tPrevious] = [veGrid[i]!, veGrid[i - 1]!];
      const w0 = ((b ** 3 - a ** 3) / 3 - tPrevious * (b - a)) / (ti - tPrevious);
      assert.ok(Math.abs(row[0]! - w0) < 1e-12 * Math.abs(w0), `step ${i}: ${row[0]} vs ${w0}`);
      assert.ok(Math.abs(row[1]! - (b - a - w0)) < 1e-12 * Math.abs(w0));
    });

    // Two-point Lagrange weights in closed form: ∫_a^b (x − x1)/(x0 − x1) dx with x0 = a.
    const [w0, w1] = lagrangeIntegrals([2, 3], 2, 1.5);
    const h = -0.5;
    assert.ok(Math.abs(w0! - (h * (h / 2 + (2 - 3))) / (2 - 3)) < 1e-15);
    assert.ok(Math.abs(w0! + w1! - h) < 1e-15);
  });

  it('matches a requested NFE as closely as possible, preferring the cheaper on ties', () => {
    assert.equal(stepsForNfe(getSampler('heun'), 10), 5);
    assert.equal(stepsForNfe(getSampler('deis-rhork4'), 20), 6);
    assert.equal(stepsForNfe(getSampler('deis-rhork3'), 3), 2);
    assert.equal(stepsForNfe(getSampler('deis-rhork4'), 3), 1);
    assert.equal(stepsForNfe(getSampler('ddim'), 17), 17);
    assert.throws(() => getSampler('dpm++'), /unknown sampler 'dpm\+\+' \(known: ddim, euler/);
  });

  it('rejects bad grids and noise', async () => {
    const process = processByName('vp');
    const denoiser = gmmDenoiser(mixture, process);
    await assert.rejects(ddim(denoiser, process, noise, Float64Array.of(1, 0.5)), /must end exactly at the data end/);
    await assert.rejects(ddim(denoiser, process, Float64Array.of(NaN), Float64Array.of(1, 0)), /noise has non-finite values/);
  });
});

describe('sampler specs', () => {
  it('parse NAME:KEY=VALUE settings, refuse unknown ones, and print back', async () => {
    const { parseSamplerSpec, describeSampler } = await import('../../../src/diffusion/samplers/index.js');
    assert.deepEqual(parseSamplerSpec('heun'), { name: 'heun', settings: {} });
    assert.deepEqual(parseSamplerSpec('heun:churn=40,churnNoise=1.007'), { name: 'heun', settings: { churn: 40, churnNoise: 1.007 } });
    assert.deepEqual(parseSamplerSpec('ddim:eta=1'), { name: 'ddim', settings: { eta: 1 } });
    assert.equal(describeSampler(parseSamplerSpec('heun:churn=40')), 'heun:churn=40');
    assert.throws(() => parseSamplerSpec('warp'), /unknown sampler 'warp'/);
    assert.throws(() => parseSamplerSpec('euler:eta=1'), /sampler 'euler' has no setting 'eta' \(it takes none\)/);
    assert.throws(() => parseSamplerSpec('heun:churn'), /'churn' is not key=number/);
    assert.throws(() => parseSamplerSpec('heun:churn=1,churn=2'), /'churn' is given twice/);
  });
});
