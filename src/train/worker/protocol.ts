/**
 * Messages between the page and the fine-tuning Web Worker (worker.ts). Everything is structured-
 * cloneable (plain objects, typed arrays, strings); big buffers the page no longer needs may be transferred.
 *
 * page -> worker: start (once), then pause / resume / stop at any time.
 * worker -> page: status changes, cache progress, training events, readout snapshots for the live views, and
 * finally done (with the trained readout, its exports and the metrics) or error.
 */

import type { BrowserBackend, ReadoutEngineChoice, ReadoutEngineName } from '../../backend/select';
import type { NormalizedGroup, Scan } from '../../io/scan/types';
import type { MetricsSummary } from '../../metrics/evaluate';
import type { LossName, OutputNonlinearity } from '../../model/output_loss';
import type { FactorizedOptions, ReadoutKind, ReadoutSnapshot, TrainableReadout } from '../../model/readout_types';
import type { NeuronRow } from '../export';
import type { CachePrecision } from '../readout/feature_cache';
import type { FactorizedInitOptions, ReadoutInitOptions } from '../readout/readout_init';
import type { EpochProgress, StopReason, TrainEvent, TrainOptionsInput } from '../readout/trainer';

export interface StartMessage {
  type: 'start';
  /** The checkpoint whose core is used, frozen or (trainCore) as the starting point (its readouts are ignored). */
  checkpoint: { bytes: Uint8Array; name: string };
  /** A neuralpredictors-style config JSON (parsed), or null for the defaults (Sensorium SOTA). */
  config: unknown | null;
  /** The loaded scan (src/io/scan); normalization happens in the worker. */
  scan: Scan;
  /** tfjs backend for the core forward passes; null: the usual choice (webgpu > webgl > wasm > cpu). */
  backend: BrowserBackend | null;
  /** Where the readout's steps run; null or absent: WebGPU on a hardware adapter, else WASM (select.ts). */
  readoutEngine?: ReadoutEngineName | null;
  /**
   * false: the readout's WebAssembly steps stay in the training worker; default: on the core workers when there
   * are several (readout_shards.ts). ?readoutWorkers=0 in the page's address (benchmarks compare the two).
   */
  readoutWorkers?: boolean;
  /** Which readout to train: 'gaussian' (default; FullGaussian2d) or 'factorized' (FullFactorized2d, Klindt 2017). */
  readoutType?: ReadoutKind;
  /** A Gaussian readout's settings (gauss type, position network, init). */
  readout?: Partial<ReadoutInitOptions>;
  /**
   * A factorized readout's settings (default: init_noise 1e-3, normalized masks, the per-neuron regularizer at its
   * default weight; `options` merged key by key). The config's factorized keys apply first when given.
   */
  factorized?: { initNoise?: FactorizedInitOptions['initNoise']; options?: Partial<FactorizedOptions> };
  /** seed, lr, batchSize, gammaReadout, schedule.maxEpochs, ... (defaults: the reference protocol, lr 0.005). */
  train?: TrainOptionsInput;
  /**
   * The loss and output nonlinearity (model/output_loss.ts). Loss absent: Poisson, or MSE when the training
   * responses go negative (optim/losses.ts chooseLoss); output absent: elu + 1.
   */
  loss?: LossName;
  output?: OutputNonlinearity;
  /** Groups left unnormalized (the dataset config's `exclude`; all four: `normalize: false`); absent: the scan's. */
  exclude?: NormalizedGroup[];
  /**
   * Fine-tune the core too (finetune_core.ts): BatchNorm in training mode with running-average updates, the core
   * regularizers from the config, no feature cache (the core runs forward and backward on every batch, so an
   * epoch is much slower). cachePrecision / maxCacheBytes do not apply, and the full model is always exported.
   * Default false.
   */
  trainCore?: boolean;
  cachePrecision?: CachePrecision;
  /** Refuse to cache more than this many bytes (default 2 GiB in the browser). */
  maxCacheBytes?: number;
  /** Readout key for the exported .pth (default: the scan's data key). */
  dataKey?: string;
  /** Also export core + readout as one .pth (costs a copy of the core's weights). Default true. */
  exportFullModel?: boolean;
  /** Send a readout snapshot at most this often during an epoch (ms; default 1000; 0: only at epoch ends). */
  snapshotEveryMs?: number;
}

export type ControlMessage = { type: 'pause' } | { type: 'resume' } | { type: 'stop' };

export type ToWorker = StartMessage | ControlMessage;

export type Phase =
  | 'loading'
  | 'caching'
  | 'training'
  | 'paused'
  | 'evaluating'
  | 'exporting'
  | 'done'
  | 'stopped'
  | 'error';

export interface StatusMessage {
  type: 'status';
  phase: Phase;
  message: string;
  /** The backend the core runs on, with the reason it was chosen (once known). */
  backend?: { name: string; reason: string };
  /** Where the readout's steps run and why (once chosen). */
  readoutEngine?: ReadoutEngineChoice;
}

export interface CacheProgressMessage {
  type: 'cache-progress';
  done: number;
  total: number;
  elapsedS: number;
  remainingS: number;
  /** Memory the finished cache takes (the honest estimate shown before and during caching). */
  bytes: number;
  precision: CachePrecision;
}

/** Training progress: every epoch event and restore, batch events at most ~10 per second. */
export interface TrainEventMessage {
  type: 'train-event';
  event: TrainEvent;
}

/**
 * The readout's current state for the live views (positions move, Gaussians change during training); frozen core:
 * the sampled positions are the last batch's first images', core trained too: drawn for the snapshot. A factorized
 * readout (`kind: 'factorized'`): mask peaks as positions, mask spreads as uncorrelated sigmas, nothing sampled;
 * its masks themselves are in the done message's readout (model/factorized_masks.ts: effectiveMasks).
 */
export interface ReadoutSnapshotMessage extends ReadoutSnapshot {
  type: 'readout-snapshot';
  epoch: number;
  batch: number;
}

export interface DoneMessage {
  type: 'done';
  stopReason: StopReason;
  message: string;
  history: EpochProgress[];
  /**
   * The trained readout as host arrays, by `kind`: Gaussian (features neuron-major (N, C)), or factorized (spatial
   * (N, h, w), features (N, C), bias, options).
   */
  readout: TrainableReadout;
  dataKey: string;
  /** Test-tier metrics (null when the scan has no test trials). */
  metrics: MetricsSummary | null;
  perNeuron: NeuronRow[];
  /** Test-tier predictions (trials x neurons, normalized units) and the trials they belong to. */
  testTrials: Int32Array | null;
  testPredictions: Float32Array | null;
  /** Zip-format .pth files with neuralpredictors key names. */
  readoutPth: Uint8Array;
  fullModelPth: Uint8Array | null;
  perNeuronCsv: string;
  metadataJson: string;
  timings: { cacheS: number; trainS: number; testS: number };
  /** The core was fine-tuned too: `fullModelPth` holds that core, and `readoutPth` only fits it, not the original. */
  trainCore: boolean;
}

export interface ErrorMessage {
  type: 'error';
  message: string;
}

export type FromWorker =
  | StatusMessage
  | CacheProgressMessage
  | TrainEventMessage
  | ReadoutSnapshotMessage
  | DoneMessage
  | ErrorMessage;
