/// <reference lib="webworker" />
/**
 * Web Worker entry for fine-tuning: `new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })`.
 * Messages are defined in protocol.ts. The job yields to the event loop between batches, so pause / resume /
 * stop messages are handled while it runs.
 */
import { selectBackend } from '../../backend/select';
import { TrainingControl } from '../optim/control';
import { startBrowserCorePool } from './core_pool_browser';
import { runFineTuneJob } from './job';
import type { FromWorker, ToWorker } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const control = new TrainingControl();
let started = false;

function post(m: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(m, transfer);
}

scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case 'start':
      if (started) {
        post({ type: 'error', message: 'this worker already ran a job; start a new worker for another' });
        return;
      }
      started = true;
      runFineTuneJob(
        m,
        post,
        control,
        async (preferred) => {
          const choice = await selectBackend(preferred);
          return { name: choice.backend, reason: choice.reason };
        },
        (init) => startBrowserCorePool(init),
      ).catch((e: unknown) => {
        post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
        post({ type: 'status', phase: 'error', message: e instanceof Error ? e.message : String(e) });
      });
      return;
    case 'pause':
      control.pause();
      post({ type: 'status', phase: 'paused', message: 'paused' });
      return;
    case 'resume':
      control.resume();
      post({ type: 'status', phase: 'training', message: 'resumed' });
      return;
    case 'stop':
      control.stop();
      return;
  }
};
