/**
 * The Transfer view's own small store (not a slice of the app store, which belongs to the other views): the cells
 * run on this page, the one running now with its progress, and starting a cell in its own Web Worker
 * (src/train/transfer_worker.ts). Results arrive as points added to the shipped ones.
 */
import { create } from 'zustand';
import type { BrowserBackend } from '../../backend/select';
import type { TransferCondition } from '../../experiments/transfer';
import type { TransferFromWorker, TransferStartMessage } from '../../experiments/worker/transfer_job';
import { useStore } from '../store';
import type { TransferPoint } from '../derived/transfer_results';

export interface RunningCell {
  condition: TransferCondition;
  images: number;
  message: string;
  epoch: number;
  maxEpochs: number;
  valCorrelation: number | null;
  elapsedS: number;
}

export interface TransferState {
  /** Cells run on this page, for the model and scan named by `runsFor`. */
  runs: TransferPoint[];
  runsFor: string | null;
  running: RunningCell | null;
  error: string | null;
  runCell(condition: TransferCondition, images: number, seed: number): void;
  cancel(): void;
}

let worker: Worker | null = null;

function finish(): void {
  worker?.terminate();
  worker = null;
}

/** Which model + scan the page's runs belong to (a new load starts a fresh set). */
export function runKey(checkpointName: string | undefined, scanName: string | undefined): string | null {
  return checkpointName && scanName ? `${checkpointName} | ${scanName}` : null;
}

export const useTransferStore = create<TransferState>()((set, get) => ({
  runs: [],
  runsFor: null,
  running: null,
  error: null,

  runCell(condition, images, seed) {
    const { model, scan, backend } = useStore.getState();
    if (!model || !scan) { set({ error: 'load a checkpoint and a scan first (the demo loads both)' }); return; }
    if (get().running) return;
    const key = runKey(model.source.checkpointName, scan.name);
    if (key !== get().runsFor) set({ runs: [], runsFor: key });
    set({ error: null, running: { condition, images, message: 'starting the worker', epoch: 0, maxEpochs: 0, valCorrelation: null, elapsedS: 0 } });
    const fail = (message: string) => { finish(); set({ running: null, error: message }); };
    void model.source.checkpointFile.arrayBuffer().then((buf) => {
      if (!get().running) return; // cancelled while reading
      const w = new Worker(new URL('../../experiments/worker/transfer_worker.ts', import.meta.url), { type: 'module', name: 'v1x-transfer' });
      worker = w;
      w.onerror = (ev) => { ev.preventDefault(); fail(`the transfer worker failed: ${ev.message || 'could not start'}`); };
      w.onmessageerror = () => fail('a message from the transfer worker could not be read');
      w.onmessage = (ev: MessageEvent<TransferFromWorker>) => {
        const m = ev.data;
        const r = get().running;
        if (!r || worker !== w) return;
        switch (m.type) {
          case 'transfer-status': set({ running: { ...r, message: m.message } }); return;
          case 'transfer-epoch': set({ running: { ...r, epoch: m.epoch, maxEpochs: m.maxEpochs, valCorrelation: m.valCorrelation, elapsedS: m.elapsedS } }); return;
          case 'transfer-error': fail(m.message); return;
          case 'transfer-done': {
            finish();
            const c = m.cell;
            const fo = c.test.fraction_oracle;
            const point: TransferPoint = {
              condition: c.condition, images: c.images, fractionOracle: typeof fo === 'number' ? fo : NaN,
              testCorrelation: c.test.test_correlation ?? null, origin: 'browser', epochs: c.epochs, seconds: c.seconds,
            };
            set({ running: null, runs: [...get().runs.filter((p) => !(p.condition === c.condition && p.images === c.images)), point] });
            return;
          }
        }
      };
      const start: TransferStartMessage = {
        type: 'transfer-start', checkpoint: { bytes: new Uint8Array(buf), name: model.source.checkpointName },
        config: model.source.configJson, scan, backend: (backend?.backend ?? null) as BrowserBackend | null, condition, images, seed,
      };
      w.postMessage(start, [start.checkpoint.bytes.buffer as ArrayBuffer]);
    }, (err: unknown) => fail(`could not read ${model.source.checkpointName}: ${String(err)}`));
  },

  cancel() {
    finish();
    set({ running: null });
  },
}));
