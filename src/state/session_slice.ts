/**
 * The session that survives a reload: the checkpoint (+ config) and images the user loaded, the readout shown
 * and the view settings, kept in IndexedDB. Restored once at start; "Clear session" forgets it.
 */
import type { StateCreator } from 'zustand';
import type { PathedFile } from '../io/scan';
import { idbClear, idbGet, idbSet } from './session_db';
import type { AppState } from './store';
import { defaultViewSettings, type ViewSettings } from './view_slice';

interface SavedModel {
  checkpoint: File;
  config: File | null;
  readoutKey: string | null;
}

export interface SessionSlice {
  sessionStatus: 'idle' | 'restoring' | 'restored' | 'none';
  /** Why the last save or restore failed (the app keeps working without it). */
  sessionNote: string | null;
  restoreSession(): Promise<void>;
  clearSession(): Promise<void>;
  /** Called by the model slice after a successful load. */
  saveModelFiles(checkpoint: File, config: File | null): void;
  saveReadoutKey(key: string): void;
  saveImagesFile(file: File | null): void;
  /** The scan's zip or folder files (Blobs: nothing is copied until IndexedDB stores them). */
  saveScanFiles(files: ReadonlyArray<File | PathedFile>): void;
  saveView(view: ViewSettings): void;
}

interface SavedScan {
  files: PathedFile[];
}

/** A single zip comes back as the File it was (its name says .zip); folder files keep their relative paths. */
function revivePathed(f: PathedFile): File | PathedFile {
  return f.file instanceof File && f.path === f.file.name && /\.zip$/i.test(f.path) ? f.file : f;
}

function note(err: unknown): string {
  return `the session could not be saved in this browser (${err instanceof Error ? err.message : String(err)})`;
}

export const createSessionSlice: StateCreator<AppState, [], [], SessionSlice> = (set, get) => ({
  sessionStatus: 'idle',
  sessionNote: null,

  async restoreSession() {
    set({ sessionStatus: 'restoring' });
    try {
      const [model, images, view, scan] = await Promise.all([
        idbGet<SavedModel>('model'), idbGet<File>('images'), idbGet<Partial<ViewSettings>>('view'),
        idbGet<SavedScan>('scan'),
      ]);
      if (view) set({ view: { ...defaultViewSettings, ...view } });
      if (model) {
        await get().loadModelFiles(model.config ? [model.checkpoint, model.config] : [model.checkpoint], { save: false });
        if (model.readoutKey) await get().chooseReadout(model.readoutKey);
      }
      if (scan) await get().loadScanFiles(scan.files.map(revivePathed), { save: false });
      if (model && images && get().model) await get().loadImagesFile(images, { save: false });
      set({ sessionStatus: model || scan ? 'restored' : 'none' });
    } catch (err) {
      set({ sessionStatus: 'none', sessionNote: `the saved session could not be restored (${err instanceof Error ? err.message : String(err)})` });
    }
  },

  async clearSession() {
    try {
      await idbClear();
      set({ sessionNote: null });
    } catch (err) {
      set({ sessionNote: note(err) });
    }
  },

  saveModelFiles(checkpoint, config) {
    const saved: SavedModel = { checkpoint, config, readoutKey: null };
    idbSet('model', saved).catch((err) => set({ sessionNote: note(err) }));
  },

  saveReadoutKey(key) {
    idbGet<SavedModel>('model')
      .then((m) => (m ? idbSet('model', { ...m, readoutKey: key }) : undefined))
      .catch((err) => set({ sessionNote: note(err) }));
  },

  saveImagesFile(file) {
    idbSet('images', file).catch((err) => set({ sessionNote: note(err) }));
  },

  saveScanFiles(files) {
    const saved: SavedScan = { files: files.map((f) => (f instanceof File ? { file: f, path: f.webkitRelativePath || f.name } : f)) };
    idbSet('scan', saved).catch((err) => set({ sessionNote: note(err) }));
  },

  saveView(view) {
    idbSet('view', view).catch((err) => set({ sessionNote: note(err) }));
  },
});
