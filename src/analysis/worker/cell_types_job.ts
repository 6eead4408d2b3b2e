/**
 * The Cell types view's slow work, as one job per Web Worker (cell_types_worker.ts) so the page stays
 * responsive: the k sweep (k-means for k = 2..10, silhouettes, the suggested k; seconds for 8000 neurons x 64
 * channels), a UMAP embedding (seconds: neighbour graph, then hundreds of layout epochs), or a PCA too large
 * to run on the page (~0.1-0.5 s for 8000 neurons x 64-128 channels). Progress is posted as it goes; the
 * result comes last. Plain functions over messages, so Node tests run a job without a worker.
 */
import { sweepK } from '../choose_k';
import { pca } from '../pca';
import { type FeatureScaling, scaleFeatures } from '../scaling';
import { startUmap } from '../umap';

export interface CellTypesRequest {
  type: 'cell-types-start';
  job: 'clusters' | 'umap' | 'pca';
  /** (rows, cols) row-major feature vectors, as learned (scaling is applied here). */
  features: Float32Array;
  rows: number;
  cols: number;
  scaling: FeatureScaling;
  seed: number;
  /** UMAP layout epochs (default: umap-js's). */
  umapEpochs?: number;
}

export type CellTypesReply =
  | { type: 'progress'; done: number; total: number; what: string }
  | {
      type: 'clusters';
      ks: number[];
      silhouette: number[];
      inertia: number[];
      labels: Int32Array[];
      suggested: number;
      milliseconds: number;
    }
  | { type: 'umap'; coords: Float64Array; epochs: number; milliseconds: number }
  | { type: 'pca'; coords: Float64Array; explainedRatio: Float64Array; milliseconds: number }
  | { type: 'error'; message: string };

/** Epochs between progress messages of a UMAP. */
const UMAP_CHUNK = 10;

export function runCellTypesJob(
  req: CellTypesRequest,
  post: (m: CellTypesReply, transfer?: Transferable[]) => void,
): void {
  const t0 = performance.now();
  try {
    const m = scaleFeatures({ data: req.features, rows: req.rows, cols: req.cols }, req.scaling);
    if (req.job === 'clusters') {
      const what = 'k-means for k = 2..10';
      post({ type: 'progress', done: 0, total: 9, what });
      const onProgress = (done: number, total: number) => post({ type: 'progress', done, total, what });
      const s = sweepK(m, { seed: req.seed, onProgress });
      const buffers = s.labels.map((l) => l.buffer as ArrayBuffer);
      post({ type: 'clusters', ...s, milliseconds: performance.now() - t0 }, buffers);
      return;
    }
    if (req.job === 'pca') {
      post({ type: 'progress', done: 0, total: 1, what: 'PCA' });
      const p = pca(m);
      const reply = { coords: p.coords, explainedRatio: p.explainedRatio, milliseconds: performance.now() - t0 };
      post({ type: 'pca', ...reply }, [p.coords.buffer as ArrayBuffer, p.explainedRatio.buffer as ArrayBuffer]);
      return;
    }
    post({ type: 'progress', done: 0, total: 1, what: 'UMAP: nearest neighbours' });
    const run = startUmap(m, { seed: req.seed, nEpochs: req.umapEpochs });
    let done = 0;
    while (done < run.epochs) {
      done = run.step(UMAP_CHUNK);
      post({ type: 'progress', done, total: run.epochs, what: 'UMAP layout epochs' });
    }
    const coords = run.embedding();
    const milliseconds = performance.now() - t0;
    post({ type: 'umap', coords, epochs: run.epochs, milliseconds }, [coords.buffer as ArrayBuffer]);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}
