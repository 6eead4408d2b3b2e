/**
 * The loaded recording (scan): a FileTree dataset from a zip or a folder, loaded with progress. A failed load
 * keeps the previous scan. When the scan's images fit the model, its test images become the stimuli shown.
 * Plain arrays (.npy / .npz) stop halfway: their mapping, proposed from the shapes, waits in `arrayMapping` for the
 * user to confirm or change (ArrayMappingDialog), then the scan loads like any other.
 */
import type { StateCreator } from 'zustand';
import {
  type ArrayInfo,
  type ArrayMapping,
  DEFAULT_SPLIT,
  type MappingProposal,
  type NamedArray,
  proposeMapping,
  type SplitOptions,
} from '../../io/arrays';
import type { PathedFile, Scan } from '../../io/scan';
import {
  arrayInfos,
  arraysScanName,
  isArraysSelection,
  loadArraysAsScan,
  loadScanFrom,
  openScanFiles,
  readSelectedArrays,
  type ScanProgress,
  type ScanSummary,
  summarizeScan,
} from '../services/scan_service';
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Bumped by every scan load; as for models, the latest request wins (see model_slice.ts). */
let loadGeneration = 0;
export function scanLoadGeneration(): number {
  return loadGeneration;
}

/** The parsed arrays behind `arrayMapping` (kept out of the store: they may be hundreds of MB). */
let pending: { arrays: NamedArray[]; files: ReadonlyArray<File | PathedFile>; save: boolean } | null = null;

export const createScanSlice: StateCreator<AppState, [], [], ScanSlice> = (set, get) => {
  /** Redraws progress at most ~10 times a second. */
  const progressSetter = () => {
    let last = 0;
    return (p: ScanProgress) => {
      const now = performance.now();
      if (now - last > 100 || p.done === p.total) {
        last = now;
        set({ scanProgress: p });
      }
    };
  };
  const loaded = (scan: Scan, files: ReadonlyArray<File | PathedFile>, save: boolean) => {
    set({ scan, scanSummary: summarizeScan(scan), scanStatus: 'ready', scanProgress: null, arrayMapping: null });
    if (save) get().saveScanFiles(files);
    get().showScanImages();
  };
  const settled = () => (get().scan ? 'ready' : 'empty');

  return {
    scan: null,
    scanSummary: null,
    scanStatus: 'empty',
    scanError: null,
    scanProgress: null,
    arrayMapping: null,

    async loadScanFiles(files, opts = {}) {
      const gen = ++loadGeneration;
      pending = null;
      set({
        scanStatus: 'loading',
        scanError: null,
        arrayMapping: null,
        scanProgress: { done: 0, total: 0, what: 'opening' },
      });
      try {
        if (isArraysSelection(files)) {
          set({ scanProgress: { done: 0, total: 0, what: 'reading arrays' } });
          const arrays = await readSelectedArrays(files);
          if (gen !== loadGeneration) return;
          const infos = arrayInfos(arrays);
          pending = { arrays, files, save: opts.save !== false };
          set({
            scanStatus: settled(),
            scanProgress: null,
            arrayMapping: {
              name: arraysScanName(files),
              arrays: infos,
              proposal: proposeMapping(infos),
              defaultSplit: DEFAULT_SPLIT,
              error: null,
              busy: false,
            },
          });
          return;
        }
        const source = await openScanFiles(files);
        const scan = await loadScanFrom(source, get().model?.inputShape ?? null, progressSetter());
        if (gen !== loadGeneration) return; // a later load superseded this one
        loaded(scan, files, opts.save !== false);
      } catch (err) {
        if (gen !== loadGeneration) return;
        set({ scanStatus: get().scan ? 'ready' : 'error', scanError: errorText(err), scanProgress: null });
      }
    },

    async confirmArrayMapping(mapping, split) {
      const m = get().arrayMapping;
      if (!m || !pending) return;
      const gen = ++loadGeneration;
      const { arrays, files, save } = pending;
      set({ arrayMapping: { ...m, busy: true, error: null }, scanStatus: 'loading', scanError: null });
      try {
        const { scan } = await loadArraysAsScan(
          arrays,
          mapping,
          split,
          m.name,
          get().model?.inputShape ?? null,
          progressSetter(),
        );
        if (gen !== loadGeneration) return;
        pending = null;
        loaded(scan, files, save);
      } catch (err) {
        if (gen !== loadGeneration) return;
        // the dialog stays open with the message, so the user can change the mapping
        set({ arrayMapping: { ...m, busy: false, error: errorText(err) }, scanStatus: settled(), scanProgress: null });
      }
    },

    cancelArrayMapping() {
      ++loadGeneration;
      pending = null;
      set({ arrayMapping: null, scanStatus: settled(), scanProgress: null });
    },

    clearScanError: () => set({ scanError: null }),
  };
};
