/// <reference lib="webworker" />
/**
 * Web Worker entry for one transfer-experiment cell (transfer_job.ts): a separate worker from the fine-tuning one
 * (worker.ts), started per cell and terminated when it reports. Messages are defined in transfer_job.ts.
 */
import { selectBackend } from '../../backend/select';
import { runTransferCell, type TransferFromWorker, type TransferStartMessage } from './transfer_job';

const scope = self as unknown as DedicatedWorkerGlobalScope;
let started = false;

function post(m: TransferFromWorker): void {
  scope.postMessage(m);
}

scope.onmessage = (ev: MessageEvent<TransferStartMessage>) => {
  if (ev.data?.type !== 'transfer-start') return;
  if (started) {
    post({ type: 'transfer-error', message: 'this worker already ran a cell; start a new worker for another' });
    return;
  }
  started = true;
  runTransferCell(ev.data, post, async (preferred) => {
    const choice = await selectBackend(preferred);
    return { name: choice.backend, reason: choice.reason };
  }).catch((e: unknown) => post({ type: 'transfer-error', message: e instanceof Error ? e.message : String(e) }));
};
