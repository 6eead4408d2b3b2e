import { describe, expect, it } from 'vitest';
import { adjustedRandIndex } from '../../src/analysis/adjusted_rand';
import { kmeans, kmeansPlusPlus } from '../../src/analysis/kmeans';
import { fromRows } from '../../src/analysis/matrix';
import { Rng } from '../../src/util/rng';
import { blobs } from './blobs';

describe('k-means', () => {
  it('recovers well-separated blobs exactly', () => {
    for (const [k, dims, seed] of [
      [3, 2, 1],
      [5, 16, 2],
      [8, 32, 3],
    ]) {
      const { m, labels } = blobs(k, 60, dims, seed);
      const r = kmeans(m, k, { seed: 0 });
      expect(adjustedRandIndex(r.labels, labels), `k=${k}`).toBe(1);
      // Every centroid is its blob's mean, so the inertia is the within-blob scatter (~ n * dims * noise^2).
      expect(r.inertia / (m.rows * dims)).toBeGreaterThan(0.2);
      expect(r.inertia / (m.rows * dims)).toBeLessThan(0.3);
    }
  });

  it('numbers clusters by size, largest first, and its centroids are the cluster means', () => {
    const m = fromRows([
      [0, 0],
      [0, 1],
      [10, 0],
      [10, 1],
      [10, 2],
      [20, 5],
    ]);
    const r = kmeans(m, 3, { seed: 4 });
    expect(Array.from(r.labels)).toEqual([1, 1, 0, 0, 0, 2]);
    expect(Array.from(r.centroids)).toEqual([10, 1, 0, 0.5, 20, 5]);
    expect(r.inertia).toBeCloseTo(0.5 + 2, 12);
  });

  it('k = 1 is the mean; is reproducible by seed; restarts never raise the inertia', () => {
    const { m } = blobs(6, 40, 4, 9, { minGap: 1, noise: 2 });
    const one = kmeans(m, 1);
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let i = 0; i < m.rows; i++) s += m.data[i * 4 + c];
      expect(one.centroids[c]).toBeCloseTo(s / m.rows, 12);
    }
    const a = kmeans(m, 6, { seed: 11 });
    const b = kmeans(m, 6, { seed: 11 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(a.inertia).toBe(b.inertia);
    // The best of 4 starts on the same stream is at most the first start alone.
    const single = kmeans(m, 6, { seed: 11, restarts: 1 });
    expect(a.inertia).toBeLessThanOrEqual(single.inertia + 1e-9);
  });

  it('copes with fewer distinct rows than k (empty clusters are reseeded)', () => {
    const m = fromRows([
      [1, 1],
      [1, 1],
      [1, 1],
      [2, 2],
    ]);
    const r = kmeans(m, 3, { seed: 0 });
    expect(r.labels.length).toBe(4);
    expect(r.inertia).toBe(0);
    expect(new Set(r.labels).size).toBeGreaterThanOrEqual(2);
  });

  it('k-means++ draws k distinct rows on distinct data', () => {
    const { m } = blobs(4, 25, 3, 5);
    const c = kmeansPlusPlus(m, 4, new Rng(1));
    const picked = new Set<string>();
    for (let j = 0; j < 4; j++) picked.add(Array.from(c.subarray(j * 3, j * 3 + 3)).join(','));
    expect(picked.size).toBe(4);
  });

  it('refuses a k it cannot make', () => {
    const m = fromRows([[0], [1]]);
    expect(() => kmeans(m, 3)).toThrow(/k <= 2/);
    expect(() => kmeans(m, 0)).toThrow();
  });
});
