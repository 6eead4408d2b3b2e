/**
 * The Transfer view's runs: the cells run on this page, the one running now with its progress, and starting a
 * cell in its own Web Worker (services/workers.ts). Results arrive as points added to the shipped ones.
 */
import type { StateCreator } from 'zustand';
import type { BrowserBackend } from '../../backend/select';
import type { TransferCondition } from '../../experiments/transfer';
import type { TransferFromWorker, TransferStartMessage } from '../../experiments/worker/transfer_job';
import type { TransferPoint } from '../derived/transfer_results';
import { startTransferWorker, type TransferWorker } from '../services/workers';
import type { AppState } from '../store';

export interface RunningCell {
  condition: TransferCondition;
  images: number;
  message: string;
  epoch: number;
  maxEpochs: number;
  valCorrelation: number | null;
  elapsedS: number;
}

export interface TransferSlice {
  /** Cells run on this page, for the model and scan named by `transferRunsFor`. */
  transferRuns: TransferPoint[];
  transferRunsFor: string | null;
  transferRunning: RunningCell | null;
  transferError: string | null;
  runTransferCell(condition: TransferCondition, images: number, seed: number): void;
  cancelTransferCell(): void;
}

/** The live worker; module-level because it is not state to render or persist. */
let worker: TransferWorker | null = null;

function finish(): void {
  worker?.terminate();
  worker = null;
}

/** Which model + scan the page's runs belong to (a new load starts a fresh set). */
export function runKey(checkpointName: string | undefined, scanName: string | undefined): string | null {
  return checkpointName && scanName ? `${checkpointName} | ${scanName}` : null;
}

export const createTransferSlice: StateCreator<AppState, [], [], TransferSlice> = (set, get) => ({
  transferRuns: [],
  transferRunsFor: null,
  transferRunning: null,
  transferError: null,

  runTransferCell(condition, images, seed) {
    const { model, scan, backend } = get();
    if (!model || !scan) {
      set({ transferError: 'load a checkpoint and a scan first (the demo loads both)' });
      return;
    }
    if (get().transferRunning) return;
    const key = runKey(model.source.checkpointName, scan.name);
    if (key !== get().transferRunsFor) set({ transferRuns: [], transferRunsFor: key });
    set({
      transferError: null,
      transferRunning: {
        condition,
        images,
        message: 'starting the worker',
        epoch: 0,
        maxEpochs: 0,
        valCorrelation: null,
        elapsedS: 0,
      },
    });
    const fail = (message: string) => {
      finish();
      set({ transferRunning: null, transferError: message });
    };
    void model.source.checkpointFile.arrayBuffer().then(
      (buf) => {
        if (!get().transferRunning) return; // cancelled while reading
        const start: TransferStartMessage = {
          type: 'transfer-start',
          checkpoint: { bytes: new Uint8Array(buf), name: model.source.checkpointName },
          config: model.source.configJson,
          scan,
          backend: (backend?.backend ?? null) as BrowserBackend | null,
          condition,
          images,
          seed,
        };
        const w = startTransferWorker(
          start,
          (m: TransferFromWorker) => {
            const r = get().transferRunning;
            if (!r || worker !== w) return;
            switch (m.type) {
              case 'transfer-status':
                set({ transferRunning: { ...r, message: m.message } });
                return;
              case 'transfer-epoch':
                set({
                  transferRunning: {
                    ...r,
                    epoch: m.epoch,
                    maxEpochs: m.maxEpochs,
                    valCorrelation: m.valCorrelation,
                    elapsedS: m.elapsedS,
                  },
                });
                return;
              case 'transfer-error':
                fail(m.message);
                return;
              case 'transfer-done': {
                finish();
                const c = m.cell;
                const fo = c.test.fraction_oracle;
                const point: TransferPoint = {
                  condition: c.condition,
                  images: c.images,
                  fractionOracle: typeof fo === 'number' ? fo : NaN,
                  testCorrelation: c.test.test_correlation ?? null,
                  origin: 'browser',
                  epochs: c.epochs,
                  seconds: c.seconds,
                };
                set({
                  transferRunning: null,
                  transferRuns: [
                    ...get().transferRuns.filter((p) => !(p.condition === c.condition && p.images === c.images)),
                    point,
                  ],
                });
                return;
              }
            }
          },
          fail,
        );
        // Messages and failures arrive as events, after this line: the handler above sees this worker as the live one.
        worker = w;
      },
      (err: unknown) => fail(`could not read ${model.source.checkpointName}: ${String(err)}`),
    );
  },

  cancelTransferCell() {
    finish();
    set({ transferRunning: null });
  },
});
