import { describe, expect, it } from 'vitest';
import { type CellTypesReply, runCellTypesJob } from '../../../src/analysis/worker/cell_types_job';
import type { Scan } from '../../../src/io/scan';
import {
  clusterSummary,
  compareWithTruth,
  type FeatureMatrix,
  featureMatrixOf,
  matchTypesToClusters,
  pcaEmbedding,
  trueCellTypes,
} from '../../../src/state/derived/cell_types';
import { blobs } from '../../analysis/blobs';

/** A readout stand-in: features as a tensor-like with shape and data(). */
const readout = (shape: number[], data: number[], extra: object = {}) => ({
  neurons: 3,
  channels: 2,
  features: { shape, data: async () => Float32Array.from(data) },
  ...extra,
});

describe('feature matrix of a readout', () => {
  it("turns the Gaussian readout's (C, N) features into (N, C) rows", async () => {
    // C = 2, N = 3: channel 0 = [1, 2, 3], channel 1 = [4, 5, 6] -> neuron rows (1, 4), (2, 5), (3, 6).
    const fm = await featureMatrixOf(readout([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(Array.from(fm.features)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(fm).toMatchObject({ neurons: 3, channels: 2, readoutKind: 'Gaussian' });
  });

  it("takes a factorized readout's (N, C) features (told by its spatial mask) as they are", async () => {
    const fm = await featureMatrixOf(readout([3, 2], [1, 4, 2, 5, 3, 6], { spatial: {} }));
    expect(Array.from(fm.features)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(fm.readoutKind).toBe('factorized');
  });

  it('refuses a feature tensor of the wrong shape', async () => {
    await expect(featureMatrixOf(readout([3, 2], [1, 2, 3, 4, 5, 6]))).rejects.toThrow(
      /shape \(3, 2\), expected \(2, 3\)/,
    );
  });
});

describe('ground-truth cell types', () => {
  const scan = (cellTypes: number[] | undefined, nNeurons = 4) =>
    ({ name: 's', dataKey: 'k', nNeurons, neurons: { unitIds: [], cellTypes } }) as unknown as Scan;
  it("are the scan's labels when its neurons are the readout's", () => {
    const t = trueCellTypes({ neurons: 4, readoutKey: 'k' }, scan([0, 2, 2, 1]));
    expect(t.types && Array.from(t.types)).toEqual([0, 2, 2, 1]);
    expect(t).toMatchObject({ count: 3, note: 'ground truth from s' });
    const other = trueCellTypes({ neurons: 4, readoutKey: 'other' }, scan([0, 2, 2, 1]));
    expect(other.note).toMatch(/matched by neuron count/);
  });
  it('are absent, with the reason, otherwise', () => {
    expect(trueCellTypes({ neurons: 4, readoutKey: 'k' }, null)).toEqual({ types: null, note: 'no scan loaded' });
    const none = trueCellTypes({ neurons: 4, readoutKey: 'k' }, scan(undefined));
    expect(none.note).toMatch(/no ground-truth cell types/);
    const wrong = trueCellTypes({ neurons: 5, readoutKey: 'k' }, scan([0, 1, 0, 1]));
    expect(wrong.note).toMatch(/4 neurons, this readout 5/);
  });
});

describe('clusters against types', () => {
  it('summarizes clusters: sizes and mean barcodes', () => {
    const fm: FeatureMatrix = {
      features: Float32Array.from([1, 0, 3, 0, 0, 2]),
      neurons: 3,
      channels: 2,
      readoutKind: 'Gaussian',
    };
    const s = clusterSummary(fm, [0, 0, 1], 2);
    expect(Array.from(s.sizes)).toEqual([2, 1]);
    expect(Array.from(s.means)).toEqual([2, 0, 0, 2]);
  });

  it('colors each true type like the cluster it shares most neurons with; leftovers get fresh slots', () => {
    // Types 7 and 9 are clusters 1 and 0 renamed; type 5 overlaps cluster 1 less than type 7 does.
    const types = [9, 9, 9, 7, 7, 7, 5];
    const clusters = [0, 0, 0, 1, 1, 1, 1];
    const slots = matchTypesToClusters(types, clusters, 2);
    expect(slots.get(9)).toBe(0);
    expect(slots.get(7)).toBe(1);
    expect(slots.get(5)).toBe(2);
    const c = compareWithTruth(clusters, types, 2);
    expect(Array.from(c.neuronSlots)).toEqual([0, 0, 0, 1, 1, 1, 2]);
    expect(c.table.rowLabels).toEqual([5, 7, 9]);
    expect(c.ari).toBeGreaterThan(0.5);
    expect(c.ari).toBeLessThan(1);
    expect(compareWithTruth([0, 0, 1, 1], [3, 3, 8, 8], 2).ari).toBe(1);
  });
});

describe('the Cell types worker job (run in Node, no worker)', () => {
  const { m, labels } = blobs(3, 40, 6, 4);
  const features = Float32Array.from(m.data);
  const run = (job: 'clusters' | 'umap' | 'pca') => {
    const out: CellTypesReply[] = [];
    runCellTypesJob(
      {
        type: 'cell-types-start',
        job,
        features,
        rows: m.rows,
        cols: m.cols,
        scaling: 'none',
        seed: 0,
        umapEpochs: 30,
      },
      (r) => out.push(r),
    );
    return out;
  };

  it('sweeps k with progress and suggests the true k', () => {
    const out = run('clusters');
    const progress = out.filter((r) => r.type === 'progress');
    expect(progress.length).toBe(10);
    const last = out[out.length - 1];
    if (last.type !== 'clusters') throw new Error(`expected the sweep, got ${last.type}`);
    expect(last.suggested).toBe(3);
    expect(last.labels[last.ks.indexOf(3)].length).toBe(labels.length);
  });

  it('lays out UMAP epoch by epoch, reproducibly', () => {
    const a = run('umap');
    const b = run('umap');
    const last = a[a.length - 1];
    if (last.type !== 'umap') throw new Error(`expected the embedding, got ${last.type}`);
    expect(last.epochs).toBe(30);
    expect(last.coords.length).toBe(2 * m.rows);
    const steps = a.filter((r) => r.type === 'progress').map((r) => (r as { done: number }).done);
    expect(steps).toEqual([0, 10, 20, 30]);
    expect(Array.from(last.coords)).toEqual(Array.from((b[b.length - 1] as { coords: Float64Array }).coords));
  });

  it('runs a PCA, the same as on the page', () => {
    const out = run('pca');
    const last = out[out.length - 1];
    if (last.type !== 'pca') throw new Error(`expected the PCA, got ${last.type}`);
    const fm: FeatureMatrix = { features, neurons: m.rows, channels: m.cols, readoutKind: 'Gaussian' };
    const here = pcaEmbedding(fm, 'none');
    expect(Array.from(last.coords)).toEqual(Array.from(here.coords));
    expect(Array.from(last.explainedRatio)).toEqual(Array.from(here.explainedRatio));
  });

  it('reports a failure as a message', () => {
    const out: CellTypesReply[] = [];
    runCellTypesJob(
      {
        type: 'cell-types-start',
        job: 'clusters',
        features: new Float32Array(4),
        rows: 2,
        cols: 2,
        scaling: 'none',
        seed: 0,
      },
      (r) => out.push(r),
    );
    const message = expect.stringMatching(/choosing k needs at least 3 rows/);
    expect(out[out.length - 1]).toEqual({ type: 'error', message });
  });
});
