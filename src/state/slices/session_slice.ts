/**
 * The session that survives a reload: the checkpoint (+ config) and images the user loaded, the readout shown
 * and the view settings, kept in IndexedDB. Restored once at start; "Clear session" forgets it.
 */
import type { StateCreator } from 'zustand';
import type { PathedFile } from '../../io/scan';
import { idbClear, idbGet, idbSet } from '../services/session_db';
import { type DemoManifest, fetchAsFile, urlFilesFromQuery } from '../services/url_files';
import type { AppState } from '../store';
import { modelLoadGeneration } from './model_slice';
import { scanLoadGeneration } from './scan_slice';
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
  /**
   * At start: files named in the URL (`?model=&config=&scan=`) if any, else the saved session, else the demo
   * (when one is bundled).
   */
  startSession(search: string, demo: { manifest: DemoManifest; base: string } | null): Promise<void>;
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

/** Downloads and loads URL-named files; a failed download shows as the model's or the scan's error. */
async function loadUrls(
  get: () => AppState,
  set: (p: Partial<AppState>) => void,
  urls: { model: string | null; config: string | null; scan: string | null },
  base: string,
  save = true,
): Promise<void> {
  // Files the user picks while these download win: a download whose slice has seen a newer load is dropped.
  const modelGen = modelLoadGeneration();
  const scanGen = scanLoadGeneration();
  if (urls.model && modelLoadGeneration() === modelGen) {
    set({ modelStatus: 'loading', modelProgress: `downloading ${urls.model}` });
    try {
      const files = await Promise.all(
        [urls.model, urls.config].filter((u): u is string => !!u).map((u) => fetchAsFile(u, base)),
      );
      if (modelLoadGeneration() === modelGen) await get().loadModelFiles(files, { save });
    } catch (err) {
      set({
        modelStatus: get().model ? 'ready' : 'error',
        modelProgress: null,
        modelError: err instanceof Error ? err.message : String(err),
      });
    }
  }
  // The scan belongs with that model: once the user loads a model of their own, it is not loaded either.
  const afterModel = modelLoadGeneration();
  const stillOurs = () => scanLoadGeneration() === scanGen && modelLoadGeneration() === afterModel;
  if (urls.scan && stillOurs()) {
    set({ scanStatus: 'loading', scanProgress: { done: 0, total: 0, what: `downloading ${urls.scan}` } });
    try {
      const file = await fetchAsFile(urls.scan, base);
      if (stillOurs()) await get().loadScanFiles([file], { save });
      else if (scanLoadGeneration() === scanGen)
        set({ scanStatus: get().scan ? 'ready' : 'empty', scanProgress: null });
    } catch (err) {
      set({
        scanStatus: get().scan ? 'ready' : 'error',
        scanProgress: null,
        scanError: err instanceof Error ? err.message : String(err),
      });
    }
  }
}

function note(err: unknown): string {
  return `the session could not be saved in this browser (${err instanceof Error ? err.message : String(err)})`;
}

export const createSessionSlice: StateCreator<AppState, [], [], SessionSlice> = (set, get) => ({
  sessionStatus: 'idle',
  sessionNote: null,

  async startSession(search, demo) {
    const base = globalThis.location?.href ?? 'http://localhost/';
    const fromUrl = urlFilesFromQuery(search);
    if (fromUrl) {
      await loadUrls(get, set, fromUrl, base);
      return;
    }
    await get().restoreSession();
    if (get().sessionStatus === 'none' && demo) {
      const m = demo.manifest;
      const at = (p: string | null | undefined) => (p ? new URL(demo.base + p, base).href : null);
      await loadUrls(get, set, { model: at(m.model), config: at(m.config), scan: at(m.scan) }, base, false);
    }
  },

  async restoreSession() {
    set({ sessionStatus: 'restoring' });
    try {
      const [model, images, view, scan] = await Promise.all([
        idbGet<SavedModel>('model'),
        idbGet<File>('images'),
        idbGet<Partial<ViewSettings>>('view'),
        idbGet<SavedScan>('scan'),
      ]);
      if (view) set({ view: { ...defaultViewSettings, ...view } });
      if (model) {
        await get().loadModelFiles(model.config ? [model.checkpoint, model.config] : [model.checkpoint], {
          save: false,
        });
        if (model.readoutKey) await get().chooseReadout(model.readoutKey);
      }
      if (scan) await get().loadScanFiles(scan.files.map(revivePathed), { save: false });
      if (model && images && get().model) await get().loadImagesFile(images, { save: false });
      set({ sessionStatus: model || scan ? 'restored' : 'none' });
    } catch (err) {
      set({
        sessionStatus: 'none',
        sessionNote: `the saved session could not be restored (${err instanceof Error ? err.message : String(err)})`,
      });
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
    const saved: SavedScan = {
      files: files.map((f) => (f instanceof File ? { file: f, path: f.webkitRelativePath || f.name } : f)),
    };
    idbSet('scan', saved).catch((err) => set({ sessionNote: note(err) }));
  },

  saveView(view) {
    idbSet('view', view).catch((err) => set({ sessionNote: note(err) }));
  },
});
