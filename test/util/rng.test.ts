import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng';

/** Mean and variance of n draws. */
function moments(n: number, draw: () => number): { mean: number; variance: number } {
  let s = 0,
    ss = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    s += x;
    ss += x * x;
  }
  const mean = s / n;
  return { mean, variance: ss / n - mean * mean };
}

describe('Rng', () => {
  it('is reproducible by seed, and different seeds give different streams', () => {
    const a = new Rng(42),
      b = new Rng(42),
      c = new Rng(43);
    const xa = Array.from({ length: 20 }, () => a.uint32());
    expect(Array.from({ length: 20 }, () => b.uint32())).toEqual(xa);
    expect(Array.from({ length: 20 }, () => c.uint32())).not.toEqual(xa);
  });

  it('draws uniforms in [0, 1) with the right mean and variance', () => {
    const r = new Rng(1);
    let lo = 1,
      hi = 0;
    const m = moments(200_000, () => {
      const u = r.uniform();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      return u;
    });
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(m.mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / 200_000));
    expect(Math.abs(m.variance - 1 / 12)).toBeLessThan(0.002);
  });

  it('draws unbiased integers and valid permutations', () => {
    const r = new Rng(2);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(5 * Math.sqrt((10_000 * 6) / 7));
    const p = Array.from(r.permutation(100)).sort((a, b) => a - b);
    expect(p).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const s = r.sample(50, 10);
    expect(new Set(s).size).toBe(10);
    expect(Math.max(...s)).toBeLessThan(50);
  });

  it('draws normals, gammas and Poissons with the right first two moments', () => {
    const r = new Rng(3);
    const n = 100_000;
    const check = (m: { mean: number; variance: number }, mean: number, variance: number) => {
      expect(Math.abs(m.mean - mean)).toBeLessThan(5 * Math.sqrt(variance / n));
      expect(Math.abs(m.variance / variance - 1)).toBeLessThan(0.05);
    };
    check(
      moments(n, () => r.normal()),
      0,
      1,
    );
    for (const k of [0.3, 1, 2.5, 40])
      check(
        moments(n, () => r.gamma(k)),
        k,
        k,
      );
    for (const lam of [0.05, 0.7, 4, 29.5, 30, 80, 1000])
      check(
        moments(n, () => r.poisson(lam)),
        lam,
        lam,
      );
    expect(r.poisson(0)).toBe(0);
  });

  it('matches the Poisson probabilities of small counts (inversion and PTRS branches)', () => {
    const r = new Rng(4);
    for (const lam of [2, 35]) {
      const n = 200_000;
      const mode = Math.floor(lam);
      let hits = 0;
      for (let i = 0; i < n; i++) if (r.poisson(lam) === mode) hits++;
      let logp = -lam + mode * Math.log(lam);
      for (let i = 2; i <= mode; i++) logp -= Math.log(i);
      const p = Math.exp(logp);
      expect(Math.abs(hits / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });
});
