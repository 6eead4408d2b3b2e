/**
 * The calcium-like noise of the simulator (`noise: 'calcium'`, `v1x simulate --calcium`): dF/F-like responses, the
 * Poisson count plus N(0, CALCIUM_NOISE_SD^2), in each neuron's units. Their mean still follows the true rates (to
 * the sampling error), a good share of them is negative (quiet trials), their variance is the Poisson variance plus
 * the Gaussian's (a fixed gain of 1.5: ~1 count per trial, as dim calcium data; `v1x simulate --calcium` calibrates
 * the gain to the target oracle as for the other noises: test/cli/finetune_calcium.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { CALCIUM_NOISE_SD, type Predict, simulateScan } from '../../src/sim/simulate_scan';

const H = 12,
  W = 16,
  N = 20;

/** Rates from the mean of the image times a per-neuron weight, positive (a crude but image-driven model). */
const predict: Predict = async (images, count) => {
  const out = new Float32Array(count * N);
  for (let b = 0; b < count; b++) {
    let m = 0;
    for (let p = 0; p < H * W; p++) m += images[b * H * W + p];
    m /= H * W;
    for (let n = 0; n < N; n++) out[b * N + n] = Math.log1p(Math.exp(((n % 5) - 2) * 0.8 * m + 0.3));
  }
  return out;
};

describe('calcium-like simulated responses', () => {
  it('have negative values, the true rates as their mean and Poisson + Gaussian variance', async () => {
    const { scan, truth } = await simulateScan({
      name: 'ca-t',
      seed: 4,
      neurons: N,
      predict,
      imageShape: [1, H, W],
      trials: { train: 1500, validation: 100, testImages: 20, testRepeats: 6 },
      noise: 'calcium',
      gain: 1.5,
      batchSize: 64,
    });
    expect(truth.noise).toBe('calcium');
    const R = scan.responses,
      mu = truth.trueRates,
      scale = truth.responseScale;
    let negatives = 0,
      resid = 0,
      varRatio = 0;
    const T = R.length / N;
    for (let i = 0; i < R.length; i++) {
      if (R[i] < 0) negatives++;
      resid += R[i] - mu[i];
      // in count units: (x - lambda)^2 / (lambda + sd^2) has mean 1
      const s = scale[i % N];
      varRatio += ((R[i] - mu[i]) * s) ** 2 / (mu[i] * s + CALCIUM_NOISE_SD ** 2);
    }
    expect(negatives / R.length).toBeGreaterThan(0.1);
    // mean residual within ~4 standard errors (per-entry sd is about 1-2 units)
    expect(Math.abs(resid / R.length)).toBeLessThan(4 * (2 / Math.sqrt(R.length)));
    expect(varRatio / R.length).toBeGreaterThan(0.95);
    expect(varRatio / R.length).toBeLessThan(1.05);
    console.log(
      `calcium-like: ${((100 * negatives) / R.length).toFixed(1)}% negative of ${T} x ${N}, variance ratio ${(varRatio / R.length).toFixed(3)}`,
    );
  });
});
