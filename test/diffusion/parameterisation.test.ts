import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { edmDenoiser, edmPreconditioning, fromDenoised, predictions, toDenoised, toDenoiser } from '../../src/diffusion/parameterisation.js';
import { processByName, processNames } from '../../src/diffusion/process.js';

describe('parameterisation', () => {
  const x0 = Float64Array.of(0.3, -1.2, 0.8);
  const eps = Float64Array.of(-0.5, 0.4, 1.1);

  for (const name of processNames) {
    const process = processByName(name);
    const t = 0.4 * process.tMax;
    const alpha = process.alpha(t);
    const sigma = process.sigma(t);
    const x = x0.map((v, i) => alpha * v + sigma * eps[i]!);
    // What each kind of model predicts for this (x0, eps), from its definition.
    const truth: Record<string, Float64Array> = {
      x0,
      eps,
      v: x0.map((v, i) => alpha * eps[i]! - sigma * v),
      velocity: x0.map((v, i) => process.alphaDot(t) * v + process.sigmaDot(t) * eps[i]!),
      score: eps.map((e) => -e / sigma),
    };

    it(`${name}: every prediction kind converts to x0 and back`, async () => {
      for (const kind of predictions) {
        const denoised = toDenoised(kind, truth[kind]!, x, t, process);
        denoised.forEach((v, i) => assert.ok(Math.abs(v - x0[i]!) < 1e-9, `${kind}: ${v} vs ${x0[i]}`));
        fromDenoised(kind, x0, x, t, process).forEach((v, i) => assert.ok(Math.abs(v - truth[kind]![i]!) < 1e-9 * Math.max(1, Math.abs(v)), `${kind} back`));
        const denoiser = toDenoiser(async () => truth[kind]!, kind, process);
        (await denoiser.denoise(x, t, { step: 0, stage: 0 })).forEach((v, i) => assert.ok(Math.abs(v - x0[i]!) < 1e-9));
      }
    });

    it(`${name}: an EDM network that predicts the right F gives x0`, async () => {
      const rho = process.rho(t);
      const { cSkip, cOut } = edmPreconditioning(rho);
      const v = x.map((xi) => xi / alpha);
      const network = async () => v.map((vi, i) => (x0[i]! - cSkip * vi) / cOut);
      const out = await edmDenoiser(network, process).denoise(x, t, { step: 0, stage: 0 });
      out.forEach((value, i) => assert.ok(Math.abs(value - x0[i]!) < 1e-9));
    });
  }

  it('EDM preconditioning matches its definitions and gives unit-variance training targets', () => {
    const sigma = 1.7;
    const sd = 0.5;
    const { cSkip, cOut, cIn, cNoise } = edmPreconditioning(sigma, sd);
    assert.ok(Math.abs(cIn * Math.sqrt(sigma ** 2 + sd ** 2) - 1) < 1e-15);
    assert.ok(Math.abs(cSkip - sd ** 2 / (sigma ** 2 + sd ** 2)) < 1e-15);
    assert.ok(Math.abs(cOut - (sigma * sd) / Math.sqrt(sigma ** 2 + sd ** 2)) < 1e-15);
    assert.ok(Math.abs(cNoise - Math.log(sigma) / 4) < 1e-15);
    // The effective training target (x0 − c_skip·x)/c_out has unit variance when x0 has variance sd².
    const targetVariance = ((1 - cSkip) ** 2 * sd ** 2 + cSkip ** 2 * sigma ** 2) / cOut ** 2;
    assert.ok(Math.abs(targetVariance - 1) < 1e-12);
    assert.throws(() => edmPreconditioning(0), /sigma must be > 0/);
  });

  it('rejects mismatched lengths and unknown kinds', () => {
    const process = processByName('vp');
    assert.throws(() => toDenoised('eps', new Float64Array(2), new Float64Array(3), 0.5, process), /prediction has 2 values but x has 3/);
    assert.throws(() => toDenoiser(async (x) => x, 'noise' as never, process), /unknown prediction kind 'noise'/);
  });
});
