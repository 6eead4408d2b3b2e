/**
 * Fine-tuning a new readout (Gaussian or factorized) on the frozen core (or, with `trainCore`, on the core fine-tuned
 * too), run by the training Web Worker (src/train/worker/worker.ts): start, pause, resume, stop, and the progress,
 * readout snapshots and results it reports. The page stays responsive because all tensor work happens in the worker.
 */
import type { StateCreator } from 'zustand';
import { type BrowserBackend, type ReadoutEngineChoice, readoutEngineFromQuery } from '../../backend/select';
import { FACTORIZED_DEFAULT_REG_WEIGHT, type GaussType, type ReadoutKind } from '../../model/readout_types';
import type { BatchProgress, EpochProgress, RestoreEvent } from '../../train/readout/trainer';
import type {
  CacheProgressMessage,
  DoneMessage,
  FromWorker,
  Phase,
  ReadoutSnapshotMessage,
} from '../../train/worker/protocol';
import { startTrainingWorker, type TrainingWorker } from '../services/workers';
import type { AppState } from '../store';

/** The hyper-parameters the page offers, with the Lurz 2020 / Sensorium defaults. */
export interface TrainingSettings {
  seed: number;
  lr: number;
  batchSize: number;
  maxEpochs: number;
  /** Which readout to train: FullGaussian2d ('gaussian', the default) or FullFactorized2d ('factorized'). */
  readoutType: ReadoutKind;
  /** The Gaussian readout's feature L1 weight. */
  gammaReadout: number;
  gaussType: GaussType;
  /** The factorized readout's regularizer weight (sum_n |mask_n|_1 |features_n|_1 times it). */
  factorizedRegWeight: number;
  /** Fine-tune the core too (much slower: no cache, the core runs forward and backward every batch). */
  trainCore: boolean;
}

export const DEFAULT_TRAINING_SETTINGS: TrainingSettings = {
  seed: 42,
  lr: 0.005,
  batchSize: 64,
  maxEpochs: 200,
  readoutType: 'gaussian',
  gammaReadout: 0.0076,
  gaussType: 'full',
  factorizedRegWeight: FACTORIZED_DEFAULT_REG_WEIGHT,
  trainCore: false,
};

export type TrainingResult = Omit<DoneMessage, 'type' | 'readoutPth' | 'fullModelPth'> & {
  /** Downloads, as Blobs (the worker's buffers were transferred). */
  readoutPth: Blob;
  fullModelPth: Blob | null;
};

export interface TrainingSlice {
  trainingSettings: TrainingSettings;
  trainingPhase: Phase | 'idle';
  trainingMessage: string | null;
  trainingBackend: { name: string; reason: string } | null;
  /** Where the worker runs the readout's steps (WebGPU or WASM) and why (backend/select.ts chooseReadoutEngine). */
  trainingReadoutEngine: ReadoutEngineChoice | null;
  cacheProgress: CacheProgressMessage | null;
  lastBatch: BatchProgress | null;
  trainingHistory: EpochProgress[];
  restores: RestoreEvent[];
  snapshot: ReadoutSnapshotMessage | null;
  trainingResult: TrainingResult | null;
  trainingError: string | null;
  setTrainingSettings(patch: Partial<TrainingSettings>): void;
  startTraining(): void;
  pauseTraining(): void;
  resumeTraining(): void;
  stopTraining(): void;
  /**
   * Makes the fine-tuned model the one the views show: the full model the worker exported, i.e. the loaded core
   * (or, when it was fine-tuned too, the fine-tuned core with its BatchNorm statistics) + the new readout.
   */
  exploreTrainedModel(): Promise<void>;
}

/** The live worker; module-level because it is not state to render or persist. */
let worker: TrainingWorker | null = null;

export const createTrainingSlice: StateCreator<AppState, [], [], TrainingSlice> = (set, get) => ({
  trainingSettings: DEFAULT_TRAINING_SETTINGS,
  trainingPhase: 'idle',
  trainingMessage: null,
  trainingBackend: null,
  trainingReadoutEngine: null,
  cacheProgress: null,
  lastBatch: null,
  trainingHistory: [],
  restores: [],
  snapshot: null,
  trainingResult: null,
  trainingError: null,

  setTrainingSettings: (patch) => set((s) => ({ trainingSettings: { ...s.trainingSettings, ...patch } })),

  startTraining() {
    const { model, scan, trainingSettings: t, backend } = get();
    if (!model || !scan) {
      set({ trainingError: 'load a checkpoint (its core is used) and a scan first' });
      return;
    }
    worker?.terminate();
    set({
      trainingPhase: 'loading',
      trainingMessage: 'starting the training worker',
      trainingBackend: null,
      trainingReadoutEngine: null,
      cacheProgress: null,
      lastBatch: null,
      trainingHistory: [],
      restores: [],
      snapshot: null,
      trainingResult: null,
      trainingError: null,
    });
    const onMessage = (m: FromWorker) => handle(m, set, get);
    const onFailure = (message: string) => set({ trainingPhase: 'error', trainingError: message });
    void model.source.checkpointFile.arrayBuffer().then(
      (buf) => {
        worker = startTrainingWorker(
          {
            type: 'start',
            checkpoint: { bytes: new Uint8Array(buf), name: model.source.checkpointName },
            config: model.source.configJson,
            scan,
            backend: (backend?.backend ?? null) as BrowserBackend | null,
            // ?readoutEngine=webgpu|wasm overrides the adapter rule (tests force WebGPU on SwiftShader)
            readoutEngine: readoutEngineFromQuery(globalThis.location?.search ?? ''),
            readoutType: t.readoutType,
            ...(t.readoutType === 'factorized'
              ? { factorized: { options: { regWeight: t.factorizedRegWeight } } }
              : { readout: { gaussType: t.gaussType } }),
            train: {
              seed: t.seed,
              lr: t.lr,
              batchSize: t.batchSize,
              gammaReadout: t.gammaReadout,
              schedule: { maxEpochs: t.maxEpochs },
            },
            trainCore: t.trainCore,
          },
          onMessage,
          onFailure,
        );
      },
      (err: unknown) => onFailure(`could not read ${model.source.checkpointName}: ${String(err)}`),
    );
  },

  pauseTraining() {
    worker?.post({ type: 'pause' });
  },
  resumeTraining() {
    worker?.post({ type: 'resume' });
  },
  stopTraining() {
    worker?.post({ type: 'stop' });
  },

  async exploreTrainedModel() {
    const result = get().trainingResult;
    if (!result?.fullModelPth) return;
    const files = [new File([result.fullModelPth], `model-${result.dataKey}.pth`)];
    const config = get().model?.source.configJson;
    if (config) files.push(new File([JSON.stringify(config)], 'config.json', { type: 'application/json' }));
    await get().loadModelFiles(files);
  },
});

function handle(m: FromWorker, set: (p: Partial<AppState>) => void, get: () => AppState): void {
  switch (m.type) {
    case 'status':
      set({
        trainingPhase: m.phase,
        trainingMessage: m.message,
        ...(m.backend ? { trainingBackend: m.backend } : {}),
        ...(m.readoutEngine ? { trainingReadoutEngine: m.readoutEngine } : {}),
      });
      if (['done', 'stopped', 'error'].includes(m.phase)) {
        worker?.terminate();
        worker = null;
      }
      return;
    case 'cache-progress':
      set({ cacheProgress: m });
      return;
    case 'train-event': {
      const e = m.event;
      if (e.kind === 'batch') set({ lastBatch: e });
      else if (e.kind === 'epoch') set({ trainingHistory: [...get().trainingHistory, e] });
      else set({ restores: [...get().restores, e] });
      return;
    }
    case 'readout-snapshot':
      set({ snapshot: m });
      return;
    case 'done': {
      const { type: _type, readoutPth, fullModelPth, ...rest } = m;
      set({
        trainingResult: {
          ...rest,
          readoutPth: new Blob([readoutPth as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
          fullModelPth: fullModelPth
            ? new Blob([fullModelPth as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })
            : null,
        },
      });
      return;
    }
    case 'error':
      set({ trainingPhase: 'error', trainingError: m.message });
      return;
  }
}
