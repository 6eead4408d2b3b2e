/**
 * The loaded recording (scan): a FileTree dataset from a zip or a folder, loaded with progress. A failed load
 * keeps the previous scan. When the scan's images fit the model, its test images become the stimuli shown.
 * Plain arrays (.npy / .npz) stop halfway: their mapping, proposed from the shapes, waits in `arrayMapping` for the
 * user to confirm or change (ArrayMappingDialog), then the scan loads like any other. Reading and loading run in a
 * Web Worker (services/scan_job.ts), so the page stays responsive.
 */
import type { StateCreator } from 'zustand';
import {
  type ArrayInfo,
  type ArrayMapping,
  DEFAULT_SPLIT,
  type MappingProposal,
  proposeMapping,
  type SplitOptions,
} from '../../io/arrays';
import type { PathedFile, Scan } from '../../io/scan';
import type { ScanToWorker } from '../services/scan_job';
import { arraysScanName, type ScanProgress, type ScanSummary, summarizeScan } from '../services/scan_service';
import { startScanWorker, type WorkerClient } from '../services/workers';
import type { AppState } from '../store';

export type { ScanSummary };

/** Arrays read and waiting for the user's mapping. */
export interface PendingArrays {
  name: string;
  arrays: ArrayInfo[];
  proposal: MappingProposal;
  defaultSplit: SplitOptions;
  /** The last attempt's error (the dialog stays open to change the mapping). */
  error: string | null;
  busy: boolean;
}

export interface ScanSlice {
  scan: Scan | null;
  scanSummary: ScanSummary | null;
  scanStatus: 'empty' | 'loading' | 'ready' | 'error';
  scanError: string | null;
  scanProgress: ScanProgress | null;
  arrayMapping: PendingArrays | null;
  loadScanFiles(files: ReadonlyArray<File | PathedFile>, opts?: { save?: boolean }): Promise<void>;
  confirmArrayMapping(mapping: ArrayMapping, split: SplitOptions): Promise<void>;
  cancelArrayMapping(): void;
  clearScanError(): void;
}

/** Bumped by every scan load; as for models, the latest request wins (see model_slice.ts). */
let loadGeneration = 0;
export function scanLoadGeneration(): number {
  return loadGeneration;
}

/**
 * The scan worker of the load in progress (scan_job.ts), with what the load was given; for plain arrays it stays
 * alive, holding the parsed arrays, until the mapping is confirmed or cancelled. A new load ends the previous one.
 */
let current: {
  worker: WorkerClient<ScanToWorker>;
  files: ReadonlyArray<File | PathedFile>;
  save: boolean;
  /** Resolves the pending loadScanFiles / confirmArrayMapping call once its step has ended. */
  settle: () => void;
} | null = null;

/** The caller's promise for the current step, resolved by `current.settle`. */
function step(): Promise<void> {
  return new Promise((resolve) => {
    if (current) current.settle = resolve;
    else resolve();
  });
}

function settleStep(): void {
  const s = current?.settle;
  if (current) current.settle = () => {};
  s?.();
}

function endCurrent(): void {
  settleStep();
  current?.worker.terminate();
  current = null;
}

export const createScanSlice: StateCreator<AppState, [], [], ScanSlice> = (set, get) => {
  const settled = () => (get().scan ? 'ready' : 'empty');
  const failed = (message: string) => {
    const m = get().arrayMapping;
    if (m?.busy) {
      // an arrays mapping that failed keeps its dialog (and the worker with the arrays) with the message, so the
      // user can change the mapping
      settleStep();
      set({ arrayMapping: { ...m, busy: false, error: message }, scanStatus: settled(), scanProgress: null });
      return;
    }
    endCurrent();
    set({ scanStatus: get().scan ? 'ready' : 'error', scanError: message, scanProgress: null, arrayMapping: null });
  };
  const loaded = (scan: Scan) => {
    const { files, save } = current!;
    endCurrent();
    set({ scan, scanSummary: summarizeScan(scan), scanStatus: 'ready', scanProgress: null, arrayMapping: null });
    if (save) get().saveScanFiles(files);
    get().showScanImages();
  };

  return {
    scan: null,
    scanSummary: null,
    scanStatus: 'empty',
    scanError: null,
    scanProgress: null,
    arrayMapping: null,

    async loadScanFiles(files, opts = {}) {
      const gen = ++loadGeneration;
      endCurrent();
      set({
        scanStatus: 'loading',
        scanError: null,
        arrayMapping: null,
        scanProgress: { done: 0, total: 0, what: 'opening' },
      });
      if (files.length === 0) return failed('no files given');
      const ours = () => gen === loadGeneration; // a later load superseded this one
      const worker = startScanWorker(
        (m) => {
          if (!ours()) return;
          if (m.type === 'progress') set({ scanProgress: m.progress });
          else if (m.type === 'error') failed(m.message);
          else if (m.type === 'scan') loaded(m.scan);
          else {
            settleStep();
            set({
              scanStatus: settled(),
              scanProgress: null,
              arrayMapping: {
                name: arraysScanName(files),
                arrays: m.arrays,
                proposal: proposeMapping(m.arrays),
                defaultSplit: DEFAULT_SPLIT,
                error: null,
                busy: false,
              },
            });
          }
        },
        (message) => {
          if (ours()) failed(message);
        },
      );
      current = { worker, files, save: opts.save !== false, settle: () => {} };
      const done = step();
      worker.post({ type: 'open', files: [...files], modelInput: get().model?.inputShape ?? null });
      return done;
    },

    async confirmArrayMapping(mapping, split) {
      const m = get().arrayMapping;
      if (!m || !current) return;
      set({ arrayMapping: { ...m, busy: true, error: null }, scanStatus: 'loading', scanError: null });
      const done = step();
      current.worker.post({
        type: 'map',
        mapping,
        split,
        name: m.name,
        modelInput: get().model?.inputShape ?? null,
      });
      return done;
    },

    cancelArrayMapping() {
      ++loadGeneration;
      endCurrent();
      set({ arrayMapping: null, scanStatus: settled(), scanProgress: null });
    },

    clearScanError: () => set({ scanError: null }),
  };
};
