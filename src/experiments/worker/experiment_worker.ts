/// <reference lib="webworker" />
/**
 * Web Worker entry for one experiment run (experiment_job.ts): started per run by the page's training client
 * (state/services/workers.ts) and terminated when it reports its results. Messages are defined in experiment_job.ts.
 */
import { selectBackend } from '../../backend/select';
import {
  type ExperimentControlMessage,
  type ExperimentFromWorker,
  type ExperimentStartMessage,
  runExperimentJob,
} from './experiment_job';

const scope = self as unknown as DedicatedWorkerGlobalScope;
let started = false;
let stop = false;

function post(m: ExperimentFromWorker): void {
  scope.postMessage(m);
}

scope.onmessage = (ev: MessageEvent<ExperimentStartMessage | ExperimentControlMessage>) => {
  const m = ev.data;
  if (m?.type === 'experiment-stop') {
    stop = true;
    return;
  }
  if (m?.type !== 'experiment-start') return;
  if (started) {
    post({ type: 'experiment-error', message: 'this worker already runs an experiment; start a new worker' });
    return;
  }
  started = true;
  runExperimentJob(
    m,
    post,
    async (preferred) => {
      const choice = await selectBackend(preferred);
      return { name: choice.backend, reason: choice.reason };
    },
    () => stop,
  ).catch((e: unknown) => post({ type: 'experiment-error', message: e instanceof Error ? e.message : String(e) }));
};
