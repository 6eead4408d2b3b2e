/**
 * The app's one store, composed of per-feature slices (zustand slices pattern). Views read it with
 * selectors; actions live in the slice that owns the data. Heavy objects (tfjs models, image arrays) are held
 * by reference and never serialized; what must survive a reload goes to IndexedDB through session_slice.ts.
 */
import { create } from 'zustand';
import { createBackendSlice, type BackendSlice } from './backend_slice';
import { createLayoutSlice, type LayoutSlice } from './layout_slice';
import { createModelSlice, type ModelSlice } from './model_slice';
import { createResultsSlice, type ResultsSlice } from './results_slice';
import { createScanSlice, type ScanSlice } from './scan_slice';
import { createSelectionSlice, type SelectionSlice } from './selection_slice';
import { createSessionSlice, type SessionSlice } from './session_slice';
import { createTrainingSlice, type TrainingSlice } from './training_slice';
import { createViewSlice, type ViewSlice } from './view_slice';

export type AppState = BackendSlice & ModelSlice & ScanSlice & TrainingSlice & SelectionSlice & ViewSlice & SessionSlice
  & ResultsSlice & LayoutSlice;

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
}));
