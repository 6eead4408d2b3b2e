/**
 * The page's Web Workers, started here and nowhere else: fine-tuning a readout (src/train/worker/worker.ts, for
 * training_slice.ts), one experiment run (src/experiments/worker/experiment_worker.ts: the runner `v1x experiment`
 * uses, for transfer_slice.ts) and one Cell types job (src/analysis/worker/cell_types_worker.ts, for
 * cell_types_service.ts). Vite bundles each entry as its own module worker (the `new URL(..., import.meta.url)` form
 * inside `new Worker(...)` is what it recognizes, so each entry keeps its own literal call).
 */
import type { CellTypesReply, CellTypesRequest } from '../../analysis/worker/cell_types_job';
import type {
  ExperimentControlMessage,
  ExperimentFromWorker,
  ExperimentStartMessage,
} from '../../experiments/worker/experiment_job';
import type { ControlMessage, FromWorker, StartMessage } from '../../train/worker/protocol';
import type { ScanFromWorker, ScanToWorker } from './scan_job';

/** A started worker: messages to it (`post`) and stopping it. */
export interface WorkerClient<ToWorker> {
  post(m: ToWorker): void;
  terminate(): void;
}

export type TrainingWorker = WorkerClient<ControlMessage>;
/** The experiment worker takes a stop message after its start message. */
export type ExperimentWorker = WorkerClient<ExperimentControlMessage>;

/** Wires a new worker's messages and failures (`label` names it in the failure messages) and sends it `start`. */
function connect<From, To>(
  w: Worker,
  label: string,
  start: { checkpoint: { bytes: Uint8Array } },
  onMessage: (m: From) => void,
  onFailure: (message: string) => void,
): WorkerClient<To> {
  w.onmessage = (ev: MessageEvent<From>) => onMessage(ev.data);
  w.onerror = (ev: ErrorEvent) => {
    ev.preventDefault();
    onFailure(`the ${label} worker failed: ${ev.message || 'could not start'}`);
  };
  w.onmessageerror = () => onFailure(`a message from the ${label} worker could not be read`);
  // The checkpoint bytes are a fresh copy: transfer them instead of cloning again.
  w.postMessage(start, [start.checkpoint.bytes.buffer as ArrayBuffer]);
  return {
    post: (m) => w.postMessage(m),
    terminate: () => w.terminate(),
  };
}

export function startTrainingWorker(
  start: StartMessage,
  onMessage: (m: FromWorker) => void,
  onFailure: (message: string) => void,
): TrainingWorker {
  const w = new Worker(new URL('../../train/worker/worker.ts', import.meta.url), {
    type: 'module',
    name: 'v1x-training',
  });
  return connect<FromWorker, ControlMessage>(w, 'training', start, onMessage, onFailure);
}

export function startExperimentWorker(
  start: ExperimentStartMessage,
  onMessage: (m: ExperimentFromWorker) => void,
  onFailure: (message: string) => void,
): ExperimentWorker {
  const w = new Worker(new URL('../../experiments/worker/experiment_worker.ts', import.meta.url), {
    type: 'module',
    name: 'v1x-experiment',
  });
  return connect<ExperimentFromWorker, ExperimentControlMessage>(w, 'experiment', start, onMessage, onFailure);
}

/** One Cell types job (a k sweep or a UMAP); the feature matrix is copied, the caller keeps its own. */
export function startCellTypesWorker(
  start: CellTypesRequest,
  onMessage: (m: CellTypesReply) => void,
  onFailure: (message: string) => void,
): WorkerClient<never> {
  const w = new Worker(new URL('../../analysis/worker/cell_types_worker.ts', import.meta.url), {
    type: 'module',
    name: 'v1x-cell-types',
  });
  w.onmessage = (ev: MessageEvent<CellTypesReply>) => onMessage(ev.data);
  w.onerror = (ev: ErrorEvent) => {
    ev.preventDefault();
    onFailure(`the cell types worker failed: ${ev.message || 'could not start'}`);
  };
  w.onmessageerror = () => onFailure('a message from the cell types worker could not be read');
  w.postMessage(start);
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
}

/** One scan load (scan_job.ts): a zip, a folder or plain arrays, read off the page's thread. */
export function startScanWorker(
  onMessage: (m: ScanFromWorker) => void,
  onFailure: (message: string) => void,
): WorkerClient<ScanToWorker> {
  const w = new Worker(new URL('./scan_worker.ts', import.meta.url), { type: 'module', name: 'v1x-scan' });
  w.onmessage = (ev: MessageEvent<ScanFromWorker>) => onMessage(ev.data);
  w.onerror = (ev: ErrorEvent) => {
    ev.preventDefault();
    onFailure(`the scan worker failed: ${ev.message || 'could not start'}`);
  };
  w.onmessageerror = () => onFailure('a message from the scan worker could not be read');
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
}
