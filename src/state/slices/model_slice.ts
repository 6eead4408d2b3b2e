/**
 * The loaded model: checkpoint files -> state_dict -> tfjs encoder, its architecture, the images it is shown
 * and its predictions. A failed load leaves the previous model, images and prediction untouched.
 */
import type { StateCreator } from 'zustand';
import { type ReadoutGeometry, readoutGeometry } from '../derived/readout_geometry';
import { type ImageSet, testImagesFor } from '../derived/test_images';
import {
  buildModel,
  disposeModel,
  type LoadedModel,
  type OpenedCheckpoint,
  openCheckpoint,
  type Prediction,
  pickModelFiles,
  predictResponses,
  readImagesNpy,
} from '../services/model_service';
import { scanImagesFor } from '../services/scan_service';
import type { AppState } from '../store';

export interface ModelSlice {
  model: LoadedModel | null;
  /** Positions, Sigma and cortical coordinates of the current readout's neurons (with the model). */
  geometry: ReadoutGeometry | null;
  modelStatus: 'empty' | 'loading' | 'ready' | 'error';
  /** The last load's error; the previous model stays loaded. */
  modelError: string | null;
  /** What is being done right now (for the progress line). */
  modelProgress: string | null;
  images: ImageSet | null;
  prediction: Prediction | null;
  predicting: boolean;
  /** Reads a checkpoint (+ optional config .json) and makes it the current model; saves it in the session. */
  loadModelFiles(files: File[], opts?: { save?: boolean }): Promise<void>;
  /** Replaces the images shown to the model with a (B, C, H, W) float32 .npy; saves it in the session. */
  loadImagesFile(file: File, opts?: { save?: boolean }): Promise<void>;
  /** Runs the model on the current images. */
  predict(): Promise<void>;
  /** Builds the current model again on the active backend (after a backend switch). */
  rebuildModel(): Promise<void>;
  /** Shows another readout of a checkpoint with several (`readout.<data_key>.*`). */
  chooseReadout(key: string): Promise<void>;
  /** Switches the stimuli to the loaded scan's test images when they fit the model. */
  showScanImages(): void;
  clearModelError(): void;
}

let predictGeneration = 0;
/**
 * Bumped by every model load. A load that finds it has moved on was superseded by a later one (the user's file
 * while the demo was still loading, say) and drops its result, so the latest request always wins.
 */
let loadGeneration = 0;
export function modelLoadGeneration(): number {
  return loadGeneration;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const createModelSlice: StateCreator<AppState, [], [], ModelSlice> = (set, get) => ({
  model: null,
  geometry: null,
  modelStatus: 'empty',
  modelError: null,
  modelProgress: null,
  images: null,
  prediction: null,
  predicting: false,

  async loadModelFiles(files, opts = {}) {
    const gen = ++loadGeneration;
    set({ modelStatus: 'loading', modelError: null, modelProgress: 'reading files' });
    try {
      const picked = pickModelFiles(files);
      set({ modelProgress: `reading ${picked.checkpoint.name}` });
      const opened = await openCheckpoint(picked.checkpoint, picked.config);
      if (gen !== loadGeneration) return;
      set({ modelProgress: 'building the model' });
      const { model, geometry } = await buildWithGeometry(opened);
      if (gen !== loadGeneration) {
        disposeModel(model);
        return;
      }
      const previous = get().model;
      if (previous) disposeModel(previous);
      const images = get().images;
      const keepImages = images && images.source === 'file' && sameShape(images.shape.slice(1), model.inputShape);
      set({
        model,
        geometry,
        modelStatus: 'ready',
        modelProgress: null,
        images: keepImages ? images : (scanImagesFor(get().scan, model.inputShape) ?? testImagesFor(model.inputShape)),
        prediction: null,
        selectedNeuron: null,
        hoveredNeuron: null,
        selectedImage: 0,
      });
      if (opts.save !== false) {
        get().saveModelFiles(picked.checkpoint, picked.config);
        if (!keepImages) get().saveImagesFile(null);
      }
      await get().predict();
    } catch (err) {
      if (gen !== loadGeneration) return;
      set({ modelStatus: get().model ? 'ready' : 'error', modelError: errorText(err), modelProgress: null });
    }
  },

  async loadImagesFile(file, opts = {}) {
    try {
      const images = await readImagesNpy(file, get().model?.inputShape ?? null);
      set({ images, prediction: null, selectedImage: 0, modelError: null });
      if (opts.save !== false) get().saveImagesFile(file);
      if (get().model) await get().predict();
    } catch (err) {
      set({ modelError: errorText(err) });
    }
  },

  async predict() {
    const { model, images } = get();
    if (!model || !images) return;
    // Only the latest request decides what is shown and when the page stops saying "running".
    const mine = ++predictGeneration;
    set({ predicting: true });
    try {
      const prediction = await predictResponses(model, images);
      if (mine === predictGeneration && get().model === model && get().images === images) set({ prediction });
    } catch (err) {
      if (mine === predictGeneration) set({ modelError: `prediction failed: ${errorText(err)}` });
    } finally {
      if (mine === predictGeneration) set({ predicting: false });
    }
  },

  async rebuildModel() {
    const old = get().model;
    if (!old) return;
    try {
      const { model, geometry } = await buildWithGeometry(old.source, old.readoutKey);
      disposeModel(old);
      set({ model, geometry, prediction: null });
      await get().predict();
    } catch (err) {
      set({ modelError: `could not rebuild the model on the new backend: ${errorText(err)}` });
    }
  },

  async chooseReadout(key) {
    const old = get().model;
    if (!old || old.readoutKey === key) return;
    try {
      const { model, geometry } = await buildWithGeometry(old.source, key);
      disposeModel(old);
      set({ model, geometry, prediction: null, selectedNeuron: null, hoveredNeuron: null });
      get().saveReadoutKey(key);
      await get().predict();
    } catch (err) {
      set({ modelError: errorText(err) });
    }
  },

  showScanImages() {
    const { scan, model } = get();
    const images = scanImagesFor(scan, model?.inputShape ?? null);
    if (!images) return;
    set({ images, prediction: null, selectedImage: 0 });
    void get().predict();
  },

  clearModelError: () => set({ modelError: null }),
});

/** Builds the model and reads its readout geometry; nothing is left allocated if either fails. */
async function buildWithGeometry(
  opened: OpenedCheckpoint,
  readoutKey?: string,
): Promise<{ model: LoadedModel; geometry: ReadoutGeometry }> {
  const model = buildModel(opened, readoutKey);
  try {
    return { model, geometry: await readoutGeometry(model) };
  } catch (err) {
    disposeModel(model);
    throw err;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
