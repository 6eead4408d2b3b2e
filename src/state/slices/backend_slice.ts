/** Which tfjs backend runs the model, why, and switching it. */
import type { StateCreator } from 'zustand';
import { type BackendChoice, type BrowserBackend, selectBackend } from '../../backend/select';
import type { AppState } from '../store';

export interface BackendSlice {
  backend: BackendChoice | null;
  backendStatus: 'idle' | 'selecting' | 'ready' | 'error';
  backendError: string | null;
  /** Activates a backend (null: the best available) and rebuilds the loaded model on it. */
  chooseBackend(override: BrowserBackend | null): Promise<void>;
}

export const createBackendSlice: StateCreator<AppState, [], [], BackendSlice> = (set, get) => ({
  backend: null,
  backendStatus: 'idle',
  backendError: null,
  async chooseBackend(override) {
    set({ backendStatus: 'selecting', backendError: null });
    try {
      const choice = await selectBackend(override);
      set({ backend: choice, backendStatus: 'ready' });
      // Weights live on the old backend; rebuilding from the host copy is simpler and safer than moving them.
      await get().rebuildModel();
    } catch (err) {
      set({ backendStatus: 'error', backendError: err instanceof Error ? err.message : String(err) });
    }
  },
});
