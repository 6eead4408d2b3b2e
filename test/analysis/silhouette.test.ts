import { describe, expect, it } from 'vitest';
import { bestK, sweepK } from '../../src/analysis/choose_k';
import { fromRows } from '../../src/analysis/matrix';
import {
  distanceMatrix,
  silhouetteFromDistances,
  silhouetteSamples,
  silhouetteScore,
} from '../../src/analysis/silhouette';
import { blobs } from './blobs';

describe('silhouette', () => {
  it('matches a hand computation', () => {
    // Points 0, 1 | 10, 11 on a line. x=0: a = 1, b = (10 + 11) / 2 = 10.5, s = 9.5 / 10.5;
    // x=1: a = 1, b = (9 + 10) / 2 = 9.5, s = 8.5 / 9.5; the other cluster mirrors these.
    const m = fromRows([[0], [1], [10], [11]]);
    const s = silhouetteSamples(m, [0, 0, 1, 1]);
    expect(Array.from(s)).toEqual([9.5 / 10.5, 8.5 / 9.5, 8.5 / 9.5, 9.5 / 10.5].map((v) => expect.closeTo(v, 14)));
    expect(silhouetteScore(m, [0, 0, 1, 1])).toBeCloseTo((9.5 / 10.5 + 8.5 / 9.5) / 2, 14);
    // A point alone in its cluster scores 0; a misplaced point scores below 0.
    const t = silhouetteSamples(fromRows([[0], [1], [10], [11], [30]]), [0, 0, 1, 1, 2]);
    expect(t[4]).toBe(0);
    // x=1 put with 10, 11: a = (9 + 10) / 2 = 9.5, b = 1 -> (1 - 9.5) / 9.5.
    const u = silhouetteSamples(fromRows([[0], [1], [10], [11], [-1]]), [0, 1, 1, 1, 0]);
    expect(u[1]).toBeCloseTo((1.5 - 9.5) / 9.5, 14); // b = mean(|1-0|, |1+1|) = 1.5
  });

  it('needs 2 .. n-1 clusters', () => {
    const m = fromRows([[0], [1], [2]]);
    expect(() => silhouetteSamples(m, [0, 0, 0])).toThrow(/2 to 2 clusters/);
    expect(() => silhouetteSamples(m, [0, 1, 2])).toThrow();
  });

  it('from precomputed distances equals the direct computation', () => {
    const { m, labels } = blobs(3, 40, 5, 8, { minGap: 2, noise: 1.5 });
    const direct = silhouetteScore(m, labels);
    expect(silhouetteFromDistances(distanceMatrix(m), m.rows, labels)).toBeCloseTo(direct, 6);
    expect(silhouetteFromDistances(distanceMatrix(m), m.rows, new Int32Array(m.rows))).toBeNaN();
  });

  it('a subsample estimates the full mean', () => {
    const { m, labels } = blobs(4, 300, 8, 2, { minGap: 3, noise: 1.5 });
    const full = silhouetteScore(m, labels);
    const sub = silhouetteScore(m, labels, { sampleSize: 400, seed: 1 });
    expect(Math.abs(full - sub)).toBeLessThan(0.03);
    expect(full).toBeGreaterThan(0.3);
  });
});

describe('suggested k', () => {
  it('picks the true number of well-separated blobs', () => {
    for (const [k, dims, seed] of [
      [2, 4, 1],
      [3, 2, 2],
      [4, 16, 3],
      [6, 16, 4],
      [9, 32, 5],
    ]) {
      const { m, labels } = blobs(k, 50, dims, seed);
      const sweep = sweepK(m, { seed: 0 });
      expect(sweep.ks).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(sweep.suggested, `true k ${k}`).toBe(k);
      const i = sweep.ks.indexOf(k);
      expect(sweep.silhouette[i]).toBeGreaterThan(0.7);
      expect(Array.from(sweep.labels[i])).toHaveLength(m.rows);
      // Inertia falls with k.
      for (let j = 1; j < sweep.inertia.length; j++) {
        expect(sweep.inertia[j]).toBeLessThanOrEqual(sweep.inertia[j - 1] + 1e-9);
      }
      expect(labels.length).toBe(m.rows);
    }
  });

  it('takes the highest score, the smaller k on a tie, and never a NaN', () => {
    expect(bestK([2, 3, 4], [0.1, 0.5, 0.3])).toBe(3);
    expect(bestK([2, 3, 4], [0.5, 0.5, 0.3])).toBe(2);
    expect(bestK([2, 3, 4], [NaN, 0.2, 0.1])).toBe(3);
  });

  it('stops at rows - 1 and reports progress', () => {
    const m = fromRows([[0], [1], [5], [6], [20]]);
    const seen: number[] = [];
    const sweep = sweepK(m, { onProgress: (d) => seen.push(d) });
    expect(sweep.ks).toEqual([2, 3, 4]);
    expect(seen).toEqual([1, 2, 3]);
    expect(sweep.suggested).toBe(3); // {0,1} {5,6} {20}
  });
});
