import { describe, expect, it } from 'vitest';
import { NormalSampler } from '../../src/util/normal';
import { Rng } from '../../src/util/rng';

describe('NormalSampler (ziggurat)', () => {
  it('fill() gives the same stream as next(), and a seed reproduces it', () => {
    const a = new NormalSampler(new Rng(9)),
      b = new NormalSampler(new Rng(9));
    const x = new Float32Array(50_000);
    a.fill(x.subarray(0, 20_000));
    a.fill(x.subarray(20_000));
    for (let i = 0; i < x.length; i++) expect(x[i]).toBe(Math.fround(b.next()));
  });

  it('has standard-normal moments, tails and no value/layer correlation', () => {
    const n = 4_000_000;
    const x = new Float32Array(n);
    new NormalSampler(new Rng(1)).fill(x);
    let m = 0;
    for (const v of x) m += v;
    m /= n;
    let v2 = 0,
      v4 = 0,
      tail2 = 0,
      tail3 = 0,
      pos = 0;
    for (const v of x) {
      const d = v - m;
      v2 += d * d;
      v4 += d ** 4;
      if (Math.abs(v) > 2) tail2++;
      if (Math.abs(v) > 3) tail3++;
      if (v > 0) pos++;
    }
    v2 /= n;
    v4 /= n * v2 * v2;
    // 5-sigma bounds of the estimators for n = 4e6
    expect(Math.abs(m)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(v2 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(v4 - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    const p2 = 0.0455003,
      p3 = 0.0026998;
    expect(Math.abs(tail2 / n - p2)).toBeLessThan(5 * Math.sqrt(p2 / n));
    expect(Math.abs(tail3 / n - p3)).toBeLessThan(5 * Math.sqrt(p3 / n));
    expect(Math.abs(pos / n - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
    // histogram on 40 bins of width 0.2 in [-4, 4] against the normal CDF (chi-square, 39 dof: 99.99% quantile ~ 81)
    const bins = new Float64Array(40);
    for (const v of x) {
      const k = Math.floor((v + 4) / 0.2);
      if (k >= 0 && k < 40) bins[k]++;
    }
    const cdf = (z: number): number => 0.5 * (1 + erf(z / Math.SQRT2));
    let chi = 0;
    for (let k = 0; k < 40; k++) {
      const e = n * (cdf(-4 + 0.2 * (k + 1)) - cdf(-4 + 0.2 * k));
      chi += (bins[k] - e) ** 2 / e;
    }
    expect(chi).toBeLessThan(81);
  });
});

/** Abramowitz & Stegun 7.1.26 is too coarse for a 4e6-sample test: use the series/continued fraction of erf. */
function erf(x: number): number {
  const s = Math.sign(x),
    a = Math.abs(x);
  if (a < 3) {
    // Taylor series
    let sum = a,
      term = a;
    for (let k = 1; k < 200; k++) {
      term *= (-a * a) / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return s * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // continued fraction for erfc
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (a + f);
  return s * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
}
