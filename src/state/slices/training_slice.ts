/**
 * Fine-tuning a new readout (Gaussian or factorized) on the frozen core (or, with `trainCore`, on the core fine-tuned
 * too), run by the training Web Worker (src/train/worker/worker.ts): start, pause, resume, stop, and the progress,
 * readout snapshots and results it reports. The page stays responsive because all tensor work happens in the worker.
 */
import type { StateCreator } from 'zustand';
import {
  type BrowserBackend,
  type ReadoutEngineChoice,
  readoutEngineFromQuery,
  readoutWorkersFromQuery,
} from '../../backend/select';
import { tierIndices } from '../../io/scan/tiers';
import type { Scan } from '../../io/scan/types';
import { excludedGroups, type ModelConfig, parsedConfigOrDefault } from '../../model/config';
import type { LossName, OutputNonlinearity } from '../../model/output_loss';
import { FACTORIZED_DEFAULT_REG_WEIGHT, type GaussType, type ReadoutKind } from '../../model/readout_types';
import { chooseLoss, DEFAULT_GAMMA_READOUT, type LossChoice } from '../../train/optim/losses';
import { SENSORIUM_POSITION_NET } from '../../train/readout/position_net';
import { readoutInitFromConfig } from '../../train/readout/readout_init';
import type { BatchProgress, EpochProgress, RestoreEvent } from '../../train/readout/trainer';
import type {
  CacheProgressMessage,
  DoneMessage,
  FromWorker,
  Phase,
  ReadoutSnapshotMessage,
} from '../../train/worker/protocol';
import { closePagePool } from '../services/page_inference';
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
  /** The Gaussian readout's feature L1 weight; null: the loaded config's (gamma_readout), else 0.0076. */
  gammaReadout: number | null;
  /** The Gaussians' Sigma; null: the loaded config's gauss_type (else full). */
  gaussType: GaussType | null;
  /** The factorized readout's regularizer weight (sum_n |mask_n|_1 |features_n|_1 times it). */
  factorizedRegWeight: number;
  /** Fine-tune the core too (much slower: no cache, the core runs forward and backward every batch). */
  trainCore: boolean;
  /** 'auto': Poisson, or MSE (with a note) when the training responses go negative (optim/losses.ts chooseLoss). */
  loss: 'auto' | LossName;
  /** 'auto': the config's nonlinearity_type, else elu + 1. */
  output: 'auto' | OutputNonlinearity;
  /** 'auto': from cortical coordinates (the position network) when the scan has them, else one per neuron. */
  positions: 'auto' | 'network' | 'free';
  /** The Advanced section's values the user changed; the rest are the loaded config's (configDefaults). */
  advanced: Partial<AdvancedSettings>;
}

/** Readout and dataset settings of a neuralpredictors / Lurz 2020 config, as the Advanced section shows them. */
export interface AdvancedSettings {
  initMuRange: number;
  initSigma: number;
  /** The position network: input_dimensions, hidden_layers (0: one Linear), hidden_features, final_tanh. */
  inputDimensions: number;
  hiddenLayers: number;
  hiddenFeatures: number;
  finalTanh: boolean;
  /** Images go in raw (the dataset config's exclude: ["images"]). */
  excludeImages: boolean;
  /** The dataset config's normalization switch (false: nothing normalized). */
  normalize: boolean;
}

/** What the loaded config (or the Sensorium defaults without one) says for the Advanced section and the L1 weight. */
export function configDefaults(configJson: unknown | null): {
  advanced: AdvancedSettings;
  gammaReadout: number;
  gaussType: GaussType;
} {
  let config: ModelConfig;
  try {
    config = parsedConfigOrDefault(configJson).config;
  } catch {
    config = parsedConfigOrDefault(null).config;
  }
  const r = readoutInitFromConfig(config);
  const net = r.positionNet ?? SENSORIUM_POSITION_NET;
  const exclude = excludedGroups(config);
  return {
    advanced: {
      initMuRange: r.initMuRange,
      initSigma: r.initSigma,
      inputDimensions: net.inputDimensions,
      hiddenLayers: net.hiddenLayers,
      hiddenFeatures: net.hiddenFeatures,
      finalTanh: net.finalTanh,
      excludeImages: exclude.includes('images'),
      normalize: config.normalize_data !== false,
    },
    gammaReadout: config.gamma_readout ?? DEFAULT_GAMMA_READOUT,
    gaussType: r.gaussType,
  };
}

function configOf(configJson: unknown | null): ModelConfig | null {
  try {
    return parsedConfigOrDefault(configJson).config;
  } catch {
    return null;
  }
}
const configLoss = (j: unknown | null): LossName | undefined => configOf(j)?.loss;
const configOutput = (j: unknown | null): OutputNonlinearity | undefined => configOf(j)?.nonlinearity_type;

/** What a run with these settings will train with, and the notes and errors the page shows before it starts. */
export interface TrainingPlan {
  /** The loss choice, or null with `lossError` when the asked loss cannot be used on this scan. */
  loss: LossChoice | null;
  lossError: string | null;
  positions: 'network' | 'free';
  /** Why free positions were chosen for the user (a scan without cortical coordinates). */
  positionsNote: string | null;
  advanced: AdvancedSettings;
  gammaReadout: number;
  gaussType: GaussType;
}

export function trainingPlan(configJson: unknown | null, scan: Scan | null, t: TrainingSettings): TrainingPlan {
  const d = configDefaults(configJson);
  const advanced = { ...d.advanced, ...t.advanced };
  let loss: LossChoice | null = null,
    lossError: string | null = null;
  if (scan) {
    try {
      loss = chooseLoss(
        scan,
        tierIndices(scan, 'train'),
        {
          loss: t.loss === 'auto' ? configLoss(configJson) : t.loss,
          output: t.output === 'auto' ? configOutput(configJson) : t.output,
          readoutType: t.readoutType,
        },
        scan.name,
      );
    } catch (e) {
      lossError = e instanceof Error ? e.message : String(e);
    }
  }
  let positions: 'network' | 'free' = t.positions === 'free' ? 'free' : 'network';
  let positionsNote: string | null = null;
  if (positions === 'network' && scan && !scan.cellMotorCoordinates) {
    positions = 'free';
    positionsNote =
      t.positions === 'network'
        ? 'this scan has no cortical coordinates (meta/neurons/cell_motor_coordinates.npy): one position per neuron instead'
        : 'no cortical coordinates in this scan: one position per neuron (free positions)';
  }
  return {
    loss,
    lossError,
    positions,
    positionsNote,
    advanced,
    gammaReadout: t.gammaReadout ?? d.gammaReadout,
    gaussType: t.gaussType ?? d.gaussType,
  };
}

export const DEFAULT_TRAINING_SETTINGS: TrainingSettings = {
  seed: 42,
  lr: 0.005,
  batchSize: 64,
  maxEpochs: 200,
  readoutType: 'gaussian',
  gammaReadout: null,
  gaussType: null,
  factorizedRegWeight: FACTORIZED_DEFAULT_REG_WEIGHT,
  trainCore: false,
  loss: 'auto',
  output: 'auto',
  positions: 'auto',
  advanced: {},
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
    const plan = trainingPlan(model.source.configJson, scan, t);
    if (plan.lossError) {
      set({ trainingError: plan.lossError });
      return;
    }
    const a = plan.advanced;
    worker?.terminate();
    // the training worker starts its own pool on the same cores: the page's inference pool gives its memory back
    closePagePool();
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
            readoutWorkers: readoutWorkersFromQuery(globalThis.location?.search ?? ''),
            readoutType: t.readoutType,
            ...(t.readoutType === 'factorized'
              ? { factorized: { options: { regWeight: t.factorizedRegWeight } } }
              : {
                  readout: {
                    gaussType: plan.gaussType,
                    initMuRange: a.initMuRange,
                    initSigma: a.initSigma,
                    positionNet:
                      plan.positions === 'free'
                        ? null
                        : {
                            inputDimensions: a.inputDimensions,
                            hiddenLayers: a.hiddenLayers,
                            hiddenFeatures: a.hiddenFeatures,
                            finalTanh: a.finalTanh,
                          },
                  },
                }),
            train: {
              seed: t.seed,
              lr: t.lr,
              batchSize: t.batchSize,
              gammaReadout: plan.gammaReadout,
              schedule: { maxEpochs: t.maxEpochs },
            },
            // 'auto' left to the worker, which decides as the plan did and keeps the note in the metadata
            loss: t.loss === 'auto' ? undefined : t.loss,
            output: t.output === 'auto' ? undefined : t.output,
            exclude: !a.normalize
              ? ['images', 'responses', 'behavior', 'pupil_center']
              : a.excludeImages
                ? ['images']
                : [],
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
    // the loaded config, plus the output nonlinearity the run trained with when it is not elu + 1 (result.ts)
    let config = get().model?.source.configJson;
    try {
      const out = (JSON.parse(result.metadataJson) as { config?: { nonlinearity_type?: string } }).config
        ?.nonlinearity_type;
      if (out && out !== 'elu') config = { ...((config as object | null) ?? {}), nonlinearity_type: out };
    } catch {
      // keep the loaded config
    }
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
