/**
 * The app's one store, composed of per-feature slices (zustand slices pattern). Views read it with
 * selectors; actions live in the slice that owns the data. Heavy objects (tfjs models, image arrays) are held
 * by reference and never serialized; what must survive a reload goes to IndexedDB through session_slice.ts.
 */
import { create } from 'zustand';
import { type BackendSlice, createBackendSlice } from './slices/backend_slice';
import { createLayoutSlice, type LayoutSlice } from './slices/layout_slice';
import { createModelSlice, type ModelSlice } from './slices/model_slice';
import { createResultsSlice, type ResultsSlice } from './slices/results_slice';
import { createScanSlice, type ScanSlice } from './slices/scan_slice';
import { createSelectionSlice, type SelectionSlice } from './slices/selection_slice';
import { createSessionSlice, type SessionSlice } from './slices/session_slice';
import { createTrainingSlice, type TrainingSlice } from './slices/training_slice';
import { createTransferSlice, type TransferSlice } from './slices/transfer_slice';
import { createViewSlice, type ViewSlice } from './slices/view_slice';

export type AppState = BackendSlice &
  ModelSlice &
  ScanSlice &
  TrainingSlice &
  SelectionSlice &
  ViewSlice &
  SessionSlice &
  ResultsSlice &
  LayoutSlice &
  TransferSlice;

export const useStore = create<AppState>()((...a) => ({
  ...createBackendSlice(...a),
  ...createModelSlice(...a),
  ...createScanSlice(...a),
  ...createTrainingSlice(...a),
  ...createSelectionSlice(...a),
  ...createViewSlice(...a),
  ...createSessionSlice(...a),
  ...createResultsSlice(...a),
  ...createLayoutSlice(...a),
  ...createTransferSlice(...a),
}));
