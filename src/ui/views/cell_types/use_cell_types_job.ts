/**
 * A Cell types job (k sweep or UMAP) as React state: started in a worker when the view wants it, its progress
 * while it runs, its result (kept per feature matrix by the service, so it comes back at once), cancelled when
 * the inputs change or the view is hidden.
 */
import { useEffect, useState } from 'react';
import type { FeatureScaling } from '../../../analysis/scaling';
import type { FeatureMatrix } from '../../../state/derived/cell_types';
import {
  type CellTypesJobKind,
  type CellTypesProgress,
  cachedCellTypesResult,
  type ResultOf,
  runCellTypesJob,
} from '../../../state/services/cell_types_service';

export interface JobState<T> {
  value: T | null;
  progress: CellTypesProgress | null;
  error: string | null;
}

export function useCellTypesJob<J extends CellTypesJobKind>(
  fm: FeatureMatrix | null,
  job: J,
  scaling: FeatureScaling,
  wanted: boolean,
): JobState<ResultOf<J>> {
  type T = ResultOf<J>;
  const [state, setState] = useState<JobState<T>>({ value: null, progress: null, error: null });
  useEffect(() => {
    if (!fm || !wanted) {
      setState({ value: null, progress: null, error: null });
      return;
    }
    const cached = cachedCellTypesResult(fm, job, scaling) as T | undefined;
    if (cached) {
      setState({ value: cached, progress: null, error: null });
      return;
    }
    let current = true;
    setState({ value: null, progress: { done: 0, total: 0, what: 'starting' }, error: null });
    const running = runCellTypesJob(fm, job, scaling, (p) => {
      if (current) setState((s) => ({ ...s, progress: p }));
    });
    running.promise.then(
      (value) => {
        if (current) setState({ value: value as T, progress: null, error: null });
      },
      (err: unknown) => {
        if (current) setState({ value: null, progress: null, error: err instanceof Error ? err.message : String(err) });
      },
    );
    return () => {
      current = false;
      running.cancel();
    };
  }, [fm, job, scaling, wanted]);
  return state;
}
