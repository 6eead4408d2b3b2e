import { describe, expect, it } from 'vitest';
import { adjustedRandIndex } from '../../src/analysis/adjusted_rand';
import { kmeans } from '../../src/analysis/kmeans';
import { startUmap, umap2d } from '../../src/analysis/umap';
import { blobs } from './blobs';

describe('UMAP (umap-js, seeded)', () => {
  const { m, labels } = blobs(4, 60, 16, 3);

  it('is reproducible by seed and differs between seeds', () => {
    const a = umap2d(m, { seed: 1, nEpochs: 60 });
    const b = umap2d(m, { seed: 1, nEpochs: 60 });
    const c = umap2d(m, { seed: 2, nEpochs: 60 });
    expect(a.length).toBe(2 * m.rows);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(a.every(Number.isFinite)).toBe(true);
  });

  it('keeps well-separated blobs apart in 2-D', () => {
    const e = umap2d(m, { seed: 0, nEpochs: 150 });
    const r = kmeans({ data: e, rows: m.rows, cols: 2 }, 4, { seed: 0 });
    expect(adjustedRandIndex(r.labels, labels)).toBe(1);
  });

  it('steps through its epochs', () => {
    const run = startUmap(m, { seed: 0, nEpochs: 40 });
    expect(run.epochs).toBe(40);
    expect(run.step(15)).toBe(15);
    expect(run.step(100)).toBe(40);
    expect(run.step()).toBe(40);
  });
});
