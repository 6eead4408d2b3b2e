/// <reference lib="webworker" />
/**
 * Web Worker entry for one Cell types job (cell_types_job.ts): started per job by state/services/workers.ts and
 * terminated when it reports or when the view no longer needs it.
 */
import { type CellTypesRequest, runCellTypesJob } from './cell_types_job';

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (ev: MessageEvent<CellTypesRequest>) => {
  if (ev.data?.type !== 'cell-types-start') return;
  runCellTypesJob(ev.data, (m, transfer) => scope.postMessage(m, transfer ?? []));
};
