/**
 * The loaded recording (scan): a FileTree dataset from a zip or a folder, loaded with progress. A failed load
 * keeps the previous scan. When the scan's images fit the model, its test images become the stimuli shown.
 */
import type { StateCreator } from 'zustand';
import type { PathedFile, Scan } from '../../io/scan';
import {
  loadScanFrom,
  openScanFiles,
  type ScanProgress,
  type ScanSummary,
  summarizeScan,
} from '../services/scan_service';
import type { AppState } from '../store';

export type { ScanSummary };

export interface ScanSlice {
  scan: Scan | null;
  scanSummary: ScanSummary | null;
  scanStatus: 'empty' | 'loading' | 'ready' | 'error';
  scanError: string | null;
  scanProgress: ScanProgress | null;
  loadScanFiles(files: ReadonlyArray<File | PathedFile>, opts?: { save?: boolean }): Promise<void>;
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

export const createScanSlice: StateCreator<AppState, [], [], ScanSlice> = (set, get) => ({
  scan: null,
  scanSummary: null,
  scanStatus: 'empty',
  scanError: null,
  scanProgress: null,

  async loadScanFiles(files, opts = {}) {
    const gen = ++loadGeneration;
    set({ scanStatus: 'loading', scanError: null, scanProgress: { done: 0, total: 0, what: 'opening' } });
    try {
      const source = await openScanFiles(files);
      let last = 0;
      const scan = await loadScanFrom(source, get().model?.inputShape ?? null, (p) => {
        // Progress arrives per batch of files; redraw at most ~10 times a second.
        const now = performance.now();
        if (now - last > 100 || p.done === p.total) {
          last = now;
          set({ scanProgress: p });
        }
      });
      if (gen !== loadGeneration) return; // a later load superseded this one
      set({ scan, scanSummary: summarizeScan(scan), scanStatus: 'ready', scanProgress: null });
      if (opts.save !== false) get().saveScanFiles(files);
      get().showScanImages();
    } catch (err) {
      if (gen !== loadGeneration) return;
      set({ scanStatus: get().scan ? 'ready' : 'error', scanError: errorText(err), scanProgress: null });
    }
  },

  clearScanError: () => set({ scanError: null }),
});
