/**
 * Pooling scans' evaluations (metrics/pooled.ts): the neurons of one scan split into two groups and evaluated
 * apart, then pooled, give exactly the evaluation of the whole scan (every metric is per neuron, the fraction of
 * oracle a slope over all neurons, FEVE a mean over the neurons above the threshold), while the mean of the groups'
 * fractions of oracle does not (so the test can fail if pooling averaged the groups' summaries).
 */
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/metrics/evaluate';
import { poolEvaluations } from '../../src/metrics/pooled';
import { Rng } from '../../src/util/rng';

function columns(values: Float32Array, neurons: number, cols: number[]): Float32Array {
  const trials = values.length / neurons;
  const out = new Float32Array(trials * cols.length);
  for (let t = 0; t < trials; t++) cols.forEach((c, j) => (out[t * cols.length + j] = values[t * neurons + c]));
  return out;
}

describe('poolEvaluations', () => {
  const N = 9;
  const images = 12;
  const repeats = 4;
  const rng = new Rng(5);
  const imageIds = Array.from({ length: images * repeats }, (_, t) => t % images);
  const signal = Float32Array.from({ length: images * N }, () => rng.uniform() * 2);
  const responses = new Float32Array(images * repeats * N);
  const predictions = new Float32Array(images * repeats * N);
  for (let t = 0; t < images * repeats; t++) {
    for (let n = 0; n < N; n++) {
      const s = signal[imageIds[t] * N + n];
      // neurons differ in noise (so in oracle) and in how well they are predicted
      responses[t * N + n] = s + rng.normal() * (0.2 + 0.15 * n);
      predictions[t * N + n] = s * (n % 3 === 0 ? -0.5 : 1) + rng.normal() * 0.3;
    }
  }
  const all = evaluate({ predictions, responses, neurons: N, imageIds });
  const a = [0, 1, 2, 3];
  const b = [4, 5, 6, 7, 8];
  const part = (cols: number[]) =>
    evaluate({
      predictions: columns(predictions, N, cols),
      responses: columns(responses, N, cols),
      neurons: cols.length,
      imageIds,
    });

  it('equals the evaluation of all neurons at once', () => {
    const ea = part(a);
    const eb = part(b);
    const pooled = poolEvaluations([ea, eb]);
    for (const k of ['test_correlation', 'correlation_to_average', 'oracle', 'fraction_oracle', 'feve'] as const) {
      expect(pooled.summary[k]).toBeCloseTo(all.summary[k]!, 6);
    }
    expect(pooled.summary.neurons).toBe(N);
    expect(pooled.summary.feve_neurons).toBe(all.summary.feve_neurons);
    expect(Array.from(pooled.perNeuron.testCorrelation)).toEqual(Array.from(all.perNeuron.testCorrelation));
    // the average of the groups' slopes is another number: pooling is not a mean of summaries
    const meanOfSlopes = (ea.summary.fraction_oracle! + eb.summary.fraction_oracle!) / 2;
    expect(Math.abs(meanOfSlopes - all.summary.fraction_oracle!)).toBeGreaterThan(1e-3);
  });

  it('drops oracle metrics unless every scan has them, and passes one evaluation through', () => {
    const noRepeats = evaluate({
      predictions: predictions.subarray(0, images * N),
      responses: responses.subarray(0, images * N),
      neurons: N,
      imageIds: imageIds.slice(0, images),
    });
    const pooled = poolEvaluations([all, noRepeats]);
    expect(pooled.summary.oracle).toBeNull();
    expect(pooled.summary.fraction_oracle).toBeNull();
    expect(pooled.summary.neurons).toBe(2 * N);
    expect(poolEvaluations([all])).toBe(all);
    expect(() => poolEvaluations([])).toThrow(/no evaluations/);
  });
});
