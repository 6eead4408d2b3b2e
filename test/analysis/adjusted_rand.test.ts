import { describe, expect, it } from 'vitest';
import { adjustedRandIndex } from '../../src/analysis/adjusted_rand';
import { contingency } from '../../src/analysis/contingency';
import { Rng } from '../../src/util/rng';

describe('adjusted Rand index', () => {
  it('is 1 for identical labelings and for any renaming of the labels', () => {
    const a = [0, 0, 1, 1, 2, 2, 2, 3];
    expect(adjustedRandIndex(a, a)).toBe(1);
    expect(
      adjustedRandIndex(
        a,
        a.map((l) => [7, -1, 3, 0][l]),
      ),
    ).toBeCloseTo(1, 15);
    expect(adjustedRandIndex([5, 5, 5], [1, 1, 1])).toBe(1); // one cluster each: identical partitions
    expect(adjustedRandIndex([0, 1, 2], [2, 0, 1])).toBe(1); // all singletons each
  });

  it('matches values computed by hand', () => {
    // [0,0,1,1] vs [0,0,1,2]: n_ij = [[2,0,0],[0,1,1]], index = C(2,2) = 1; rows (2,2): sum C = 2; columns
    // (2,1,1): sum C = 1; C(4,2) = 6, expected = 2 * 1 / 6 = 1/3, max = 3/2 -> (1 - 1/3) / (3/2 - 1/3) = 4/7.
    // (scikit-learn's adjusted_rand_score documents 0.57 for this pair, either order.)
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(4 / 7, 14);
    expect(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(4 / 7, 14);
    // [0,0,1,1] vs [0,1,0,1]: every n_ij = 1, index 0; sums 2 and 2, expected 2*2/6 = 2/3, max 2 -> -0.5.
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 14);
    // One cluster against all singletons: index 0, sums 6 and 0, expected 0, max 3 -> 0.
    expect(adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3])).toBe(0);
    // Hubert & Arabie's worked form on 6 items: a = [0,0,0,1,1,1], b = [0,0,1,1,2,2]: n_ij = [[2,1,0],[0,1,2]],
    // index = 1 + 1 = 2; rows (3,3): 6; columns (2,2,2): 3; C(6,2) = 15, expected = 18/15 = 1.2, max = 4.5
    // -> (2 - 1.2) / (4.5 - 1.2) = 0.8 / 3.3.
    expect(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])).toBeCloseTo(0.8 / 3.3, 14);
  });

  it('is symmetric and near 0 on average for independent random labelings', () => {
    const rng = new Rng(3);
    let sum = 0;
    const runs = 200;
    for (let r = 0; r < runs; r++) {
      const a = Array.from({ length: 300 }, () => rng.int(4));
      const b = Array.from({ length: 300 }, () => rng.int(5));
      const v = adjustedRandIndex(a, b);
      expect(adjustedRandIndex(b, a)).toBeCloseTo(v, 14);
      sum += v;
    }
    // The ARI of independent labelings has mean 0; its spread here is ~0.002 per pair.
    expect(Math.abs(sum / runs)).toBeLessThan(0.002);
  });

  it('refuses labelings of different lengths', () => {
    expect(() => adjustedRandIndex([0, 1], [0])).toThrow(/different lengths/);
  });
});

describe('contingency table', () => {
  it('counts label pairs over sorted distinct labels', () => {
    const t = contingency([2, 2, 0, 0, 0], [1, 5, 1, 1, 5]);
    expect(t.rowLabels).toEqual([0, 2]);
    expect(t.colLabels).toEqual([1, 5]);
    expect(Array.from(t.counts)).toEqual([2, 1, 1, 1]);
    expect(Array.from(t.rowSums)).toEqual([3, 2]);
    expect(Array.from(t.colSums)).toEqual([3, 2]);
    expect(t.total).toBe(5);
  });
});
