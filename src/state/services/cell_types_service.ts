/**
 * Runs the Cell types view's slow analyses (the k sweep, UMAP) in a Web Worker per job (workers.ts,
 * src/analysis/worker/cell_types_job.ts) and keeps each finished result per feature matrix, so switching tabs
 * or toggling back to an embedding already computed shows it at once. A job that is no longer wanted is
 * cancelled by terminating its worker.
 */

import type { FeatureScaling } from '../../analysis/scaling';
import type { CellTypesReply } from '../../analysis/worker/cell_types_job';
import type { FeatureMatrix } from '../derived/cell_types';
import { startCellTypesWorker } from './workers';

/** Seed of k-means, the silhouette's subsample and UMAP: fixed, so the page shows the same result every time. */
export const CELL_TYPES_SEED = 0;

export interface CellTypesProgress {
  done: number;
  total: number;
  what: string;
}

export type ClusterSweepResult = Omit<Extract<CellTypesReply, { type: 'clusters' }>, 'type'>;
export type UmapResult = Omit<Extract<CellTypesReply, { type: 'umap' }>, 'type'>;
export type PcaResult = Omit<Extract<CellTypesReply, { type: 'pca' }>, 'type'>;

export type CellTypesJobKind = 'clusters' | 'umap' | 'pca';
export type ResultOf<J extends CellTypesJobKind> = J extends 'clusters'
  ? ClusterSweepResult
  : J extends 'umap'
    ? UmapResult
    : PcaResult;

/**
 * Largest PCA run on the page, in multiply-adds of its covariance (neurons x channels^2): ~20-50 ms here. The
 * demo (500 x 16^2) is far below; a Sensorium readout (7776 x 64^2) goes to the worker.
 */
export const PCA_ON_PAGE_MAX = 2e7;

const results = new WeakMap<FeatureMatrix, Map<string, unknown>>();

const keyOf = (job: CellTypesJobKind, scaling: FeatureScaling): string => `${job}:${scaling}`;

/** A result already computed for these features, or undefined. */
export function cachedCellTypesResult<J extends CellTypesJobKind>(
  fm: FeatureMatrix,
  job: J,
  scaling: FeatureScaling,
): ResultOf<J> | undefined {
  return results.get(fm)?.get(keyOf(job, scaling)) as ResultOf<J> | undefined;
}

export interface RunningJob<T> {
  promise: Promise<T>;
  cancel(): void;
}

export function runCellTypesJob<J extends CellTypesJobKind>(
  fm: FeatureMatrix,
  job: J,
  scaling: FeatureScaling,
  onProgress: (p: CellTypesProgress) => void,
): RunningJob<ResultOf<J>> {
  const cached = cachedCellTypesResult(fm, job, scaling);
  if (cached) return { promise: Promise.resolve(cached), cancel: () => {} };
  let cancel = () => {};
  const promise = new Promise<ResultOf<J>>((resolve, reject) => {
    let finished = false;
    const worker = startCellTypesWorker(
      // The worker gets a copy (structured clone): the view keeps drawing from its own.
      {
        type: 'cell-types-start',
        job,
        features: fm.features,
        rows: fm.neurons,
        cols: fm.channels,
        scaling,
        seed: CELL_TYPES_SEED,
      },
      (m) => {
        if (finished) return;
        if (m.type === 'progress') {
          onProgress({ done: m.done, total: m.total, what: m.what });
          return;
        }
        finished = true;
        worker.terminate();
        if (m.type === 'error') {
          reject(new Error(m.message));
          return;
        }
        const { type: _type, ...result } = m;
        let perMatrix = results.get(fm);
        if (!perMatrix) {
          perMatrix = new Map();
          results.set(fm, perMatrix);
        }
        perMatrix.set(keyOf(job, scaling), result);
        resolve(result as ResultOf<J>);
      },
      (message) => {
        if (finished) return;
        finished = true;
        worker.terminate();
        reject(new Error(message));
      },
    );
    cancel = () => {
      if (finished) return;
      finished = true;
      worker.terminate();
      reject(new Error('cancelled'));
    };
  });
  // A cancelled job's rejection is expected; callers that still listen get it, nobody else sees it.
  promise.catch(() => {});
  return { promise, cancel };
}
