/** The loaded recording (scan). Filled in when the scan loader is wired to the page. */
import type { StateCreator } from 'zustand';
import type { AppState } from './store';

export interface ScanSummary {
  name: string;
  neurons: number;
  trialsPerTier: Record<string, number>;
  imageShape: number[];
}

export interface ScanSlice {
  scan: ScanSummary | null;
  scanStatus: 'empty' | 'loading' | 'ready' | 'error';
  scanError: string | null;
}

export const createScanSlice: StateCreator<AppState, [], [], ScanSlice> = () => ({
  scan: null,
  scanStatus: 'empty',
  scanError: null,
});
