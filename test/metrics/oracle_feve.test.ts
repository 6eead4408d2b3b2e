import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluate,
  FEV_THRESHOLD,
  fevPerNeuron,
  fractionOracle,
  groupByImage,
  meanFeveAboveThreshold,
  oracleJackknife,
} from '../../src/metrics';

describe('groupByImage', () => {
  it('groups trial rows by image id, ordered by id', () => {
    expect(groupByImage([7, 3, 7, 3n as unknown as number, 9])).toEqual([
      { imageId: 3, trials: [1, 3] },
      { imageId: 7, trials: [0, 2] },
      { imageId: 9, trials: [4] },
    ]);
  });
});

describe('oracleJackknife', () => {
  it('matches a hand computation', () => {
    // one neuron, image A: [1, 2, 3], image B: [4, 6]. Leave-one-out means: A: [2.5, 2, 1.5], B: [6, 4].
    const resp = Float64Array.from([1, 4, 2, 6, 3]);
    const ids = [0, 1, 0, 1, 0];
    const x = [1, 2, 3, 4, 6];
    const y = [2.5, 2, 1.5, 6, 4];
    const mx = x.reduce((s, v) => s + v) / 5,
      my = y.reduce((s, v) => s + v) / 5;
    const cov = x.reduce((s, v, i) => s + (v - mx) * (y[i] - my), 0);
    const r = cov / Math.sqrt(x.reduce((s, v) => s + (v - mx) ** 2, 0) * y.reduce((s, v) => s + (v - my) ** 2, 0));
    expect(oracleJackknife(resp, 1, groupByImage(ids))[0]).toBeCloseTo(r, 7);
  });

  it('is 1 when repeats are identical and the images differ', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 3, maxLength: 12 }),
        fc.integer({ min: 2, max: 6 }),
        (means, repeats) => {
          const sd = Math.sqrt(
            means.reduce((s, v) => s + v * v, 0) / means.length -
              (means.reduce((s, v) => s + v, 0) / means.length) ** 2,
          );
          fc.pre(sd > 0.01); // the 1e-8 eps in the correlation's denominators is then negligible
          const resp: number[] = [],
            ids: number[] = [];
          for (let r = 0; r < repeats; r++)
            means.forEach((m, i) => {
              resp.push(m);
              ids.push(i);
            });
          expect(oracleJackknife(Float64Array.from(resp), 1, groupByImage(ids))[0]).toBeCloseTo(1, 5);
        },
      ),
    );
  });

  it('ignores images shown once and is NaN without any repeat', () => {
    const withSingle = oracleJackknife(Float64Array.from([1, 2, 5, 3, 4]), 1, groupByImage([0, 0, 9, 1, 1]));
    const without = oracleJackknife(Float64Array.from([1, 2, 3, 4]), 1, groupByImage([0, 0, 1, 1]));
    expect(withSingle[0]).toBeCloseTo(without[0], 12);
    expect(Number.isNaN(oracleJackknife(Float64Array.from([1, 2]), 1, groupByImage([0, 1]))[0])).toBe(true);
  });
});

describe('fractionOracle', () => {
  it('recovers the slope of exactly proportional data and is the no-intercept least-squares slope', () => {
    expect(fractionOracle([0.2, 0.4, 0.6], [0.4, 0.8, 1.2])).toBeCloseTo(0.5, 12);
    // o = [1, 2], c = [1, 1]: minimize (a-1)^2 + (2a-1)^2 -> a = 3/5
    expect(fractionOracle([1, 1], [1, 2])).toBeCloseTo(0.6, 12);
    // NaN counts as 0 on either side
    expect(fractionOracle([1, NaN, 1], [1, 5, 2])).toBeCloseTo(3 / 30, 12);
  });
});

describe('FEV and FEVE', () => {
  it('match a hand computation', () => {
    // one neuron; image A repeats [1, 3], image B repeats [5, 7]; prediction [2, 2, 6, 6] (the image means)
    const resp = Float64Array.from([1, 3, 5, 7]);
    const pred = Float64Array.from([2, 2, 6, 6]);
    const r = fevPerNeuron(resp, pred, 1, groupByImage([0, 0, 1, 1]));
    const total = ((1 - 4) ** 2 + (3 - 4) ** 2 + 1 + 9) / 3; // 20/3
    const noise = 2; // each image var(ddof 1) = 2
    expect(r.fev[0]).toBeCloseTo((total - noise) / total, 12);
    expect(r.feve[0]).toBeCloseTo(1 - (1 - noise) / (total - noise), 12); // mse 1
  });

  it('is FEV = 1 and FEVE = 1 for noise-free repeats predicted exactly', () => {
    const resp = Float64Array.from([1, 1, 4, 4, 2, 2]);
    const r = fevPerNeuron(resp, resp, 1, groupByImage([0, 0, 1, 1, 2, 2]));
    expect(r.fev[0]).toBeCloseTo(1, 12);
    expect(r.feve[0]).toBeCloseTo(1, 12);
  });

  it('averages FEVE only over neurons at or above the FEV threshold', () => {
    const m = meanFeveAboveThreshold({
      fev: Float64Array.from([0.1, FEV_THRESHOLD, 0.9]),
      feve: Float64Array.from([5, 0.4, 0.6]),
    });
    expect(m.neurons).toBe(2);
    expect(m.mean).toBeCloseTo(0.5, 12);
  });
});

describe('evaluate', () => {
  it('says plainly that oracle metrics need repeats', () => {
    const r = evaluate({
      predictions: Float32Array.from([1, 2, 3]),
      responses: Float32Array.from([1, 3, 2]),
      neurons: 1,
      imageIds: [0, 1, 2],
    });
    expect(r.summary.oracle).toBeNull();
    expect(r.summary.fraction_oracle).toBeNull();
    expect(r.summary.feve).toBeNull();
    expect(r.summary.note).toMatch(/repeated images/);
    expect(r.summary.test_correlation).toBeCloseTo(0.5, 7);
    // without repeats the average over repeats is the trial itself
    expect(r.summary.correlation_to_average).toBeCloseTo(0.5, 7);
  });

  it('rejects arrays that do not fit together', () => {
    expect(() =>
      evaluate({ predictions: new Float32Array(6), responses: new Float32Array(4), neurons: 2, imageIds: [0, 1] }),
    ).toThrow(/predictions/);
    expect(() =>
      evaluate({ predictions: new Float32Array(4), responses: new Float32Array(4), neurons: 2, imageIds: [0, 1, 2] }),
    ).toThrow(/image ids/);
    expect(() =>
      evaluate({ predictions: new Float32Array(5), responses: new Float32Array(5), neurons: 2, imageIds: [0, 1] }),
    ).toThrow(/multiple/);
  });
});
