/**
 * The task-driven core of Lurz et al. 2021's comparison, ready to be frozen: a TransferLearningCore (VGG16 cut
 * after conv2_2 by default, then BatchNorm and ReLU; model/transfer_learning_core.ts) with torchvision's ImageNet
 * weights from the user's file, or random weights (torchvision's init, seeded), its BatchNorm statistics fitted to
 * the given (training) images as for the random Stacked2dCore (batchnorm_fit.ts). For `v1x finetune --vgg16` and
 * the experiment runner's `vgg` cores; the model built is an ordinary Encoder (no readouts), so the feature cache,
 * training and export take it as they take any core.
 *
 * For many cells on one scan (the experiment runner), `vggPreNormCache` runs the expensive part once: the convs up
 * to conv2_2's output before its BatchNorm, for every image of the scan; a cell's cache is then that map
 * normalized with the statistics of the cell's own training images and passed through the ReLU
 * (`cellCache`): the same numbers as fitting the BatchNorm to those images and running the frozen core (up to
 * float32 summation order), in a pass over the cache instead of a pass of VGG16 over every image.
 */
import * as tf from '@tensorflow/tfjs';
import type { ReadStats } from '../io/byte_source';
import type { StateDict } from '../io/host_tensor';
import type { Scan } from '../io/scan/types';
import { type ModelConfig, parsedConfigOrDefault } from '../model/config';
import { BATCH_NORM_EPS } from '../model/core';
import { type Encoder, nchwToNhwc } from '../model/encoder';
import { encoderFromStateDict } from '../model/from_state_dict';
import {
  randomTransferLearningStateDict,
  readTorchvisionCore,
  type TransferLearningChoice,
  transferLearningConfig,
} from '../model/vgg_weights';
import { type FrozenCore, frozenCore } from '../train/frozen_core';
import { type CachePrecision, FeatureCache } from '../train/readout/feature_cache';
import { fitBatchNormStatistics } from './batchnorm_fit';
import { cacheForTransfer } from './transfer';

/** Where the conv weights come from: torchvision's file (a Blob is read by range), or random with a seed. */
export type VggWeights = { kind: 'random'; seed: number } | { kind: 'file'; source: Blob | Uint8Array; file: string };

export interface VggCoreOptions extends TransferLearningChoice {
  weights: VggWeights;
  /** Normalized images (B, C, H, W) flattened, for the BatchNorm statistics: the scan's training images. */
  images: Float32Array;
  imageShape: readonly [number, number, number];
  /** The rest of the model config (readout settings); default the app's default config. */
  base?: ModelConfig;
  /** Counts the bytes read from the file. */
  stats?: ReadStats;
}

export interface VggEncoder {
  /** The core (no readouts, no trainable variables), BatchNorm fitted. */
  encoder: Encoder;
  config: ModelConfig;
  /** What it is, in words (for logs and the experiment's status). */
  description: string;
  notes: string[];
}

/** The core built, its BatchNorm not fitted (torch's initial statistics). */
async function vggUnfitted(
  opts: Omit<VggCoreOptions, 'images'>,
): Promise<{ encoder: Encoder; config: ModelConfig; from: string; notes: string[] }> {
  const base = opts.base ?? parsedConfigOrDefault(null).config;
  const config = transferLearningConfig(base, opts.imageShape, opts);
  const w = opts.weights;
  let sd: StateDict;
  const notes: string[] = [];
  let from: string;
  if (w.kind === 'random') {
    sd = randomTransferLearningStateDict(w.seed, opts);
    from = `random weights (torchvision's init, seed ${w.seed})`;
  } else {
    const read = await readTorchvisionCore(w.source, w.file, opts, opts.stats);
    sd = read.stateDict;
    notes.push(...read.notes);
    from = `weights from ${w.file}`;
  }
  const name = w.kind === 'file' ? w.file : 'random VGG core';
  const encoder = encoderFromStateDict(sd, config, name, {
    readouts: [],
    trainable: false,
    configGiven: ['tl_model_name', 'layers', 'final_batchnorm', 'final_nonlinearity', 'input_shape'],
  });
  return { encoder, config, from, notes };
}

/** Builds the core and fits its BatchNorm to `images`. */
export async function vggEncoder(opts: VggCoreOptions): Promise<VggEncoder> {
  const { encoder, config, from, notes } = await vggUnfitted(opts);
  try {
    fitBatchNormStatistics(encoder.core, opts.images, opts.imageShape);
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  const per = opts.imageShape[0] * opts.imageShape[1] * opts.imageShape[2];
  const tl = encoder.architecture.core.transferLearning!;
  const description =
    `${tl.modelName} features cut after ${tl.layers} children (${encoder.architecture.core.outputShape.join('x')} out), ${from}, ` +
    `BatchNorm statistics from ${opts.images.length / per} images`;
  return { encoder, config, description, notes: [...notes, ...encoder.architecture.notes] };
}

/** The same, frozen with its fastest eval forward (train/frozen_core.ts); the caller disposes it. */
export async function vggFrozenCore(opts: VggCoreOptions): Promise<FrozenCore & { vgg: Omit<VggEncoder, 'encoder'> }> {
  const { encoder, ...vgg } = await vggEncoder(opts);
  const frozen = await frozenCore(encoder);
  return { ...frozen, vgg };
}

/** conv2_2's output before the BatchNorm for every image of a scan, and per-cell caches made from it. */
export interface VggPreNormCache {
  /** The pre-BatchNorm maps (H', W', C) of the scan's trials (train, validation, test). */
  preNorm: FeatureCache;
  description: string;
  /**
   * The frozen core's cache for a cell: BatchNorm statistics (exact mean, unbiased variance per channel over every
   * position) from the maps of `trainTrials`, then (x - mean) / sqrt(var + eps) (weight 1, bias 0) and ReLU, as
   * fitBatchNormStatistics + the frozen core compute.
   */
  cellCache(trainTrials: ArrayLike<number>, precision?: CachePrecision): FeatureCache;
}

/** Runs the VGG convs once over `scan` (the expensive part of every cell on it); see the file's comment. */
export async function vggPreNormCache(
  opts: Omit<VggCoreOptions, 'images' | 'imageShape'> & { scan: Scan },
): Promise<VggPreNormCache> {
  const { scan } = opts;
  const { encoder, from } = await vggUnfitted({ ...opts, imageShape: scan.imageShape });
  let preNorm: FeatureCache;
  const core = encoder.core;
  const last = core.layers.length - 1;
  const norm = core.layers[last].norm;
  try {
    if (!norm || core.layers[last].spec.maxPool) throw new Error('the VGG core has no BatchNorm after its last conv');
    preNorm = await cacheForTransfer((x) => tf.tidy(() => core.preNormActivation(nchwToNhwc(x), last)), scan);
  } finally {
    encoder.dispose();
  }
  const tl = encoder.architecture.core.transferLearning!;
  const description = `${tl.modelName} features cut after ${tl.layers} children, ${from}`;
  return {
    preNorm,
    description,
    cellCache(trainTrials, precision = 'float32') {
      const { channels: C } = preNorm.geometry;
      const m = preNorm.mapSize;
      const sum = new Float64Array(C);
      const sumSq = new Float64Array(C);
      const scratch = new Float32Array(m);
      for (let k = 0; k < trainTrials.length; k++) {
        const x = preNorm.map(trainTrials[k], scratch);
        for (let i = 0; i < m; i++) {
          const c = i % C;
          sum[c] += x[i];
          sumSq[c] += x[i] * x[i];
        }
      }
      const n = (trainTrials.length * m) / C;
      const mean = new Float32Array(C);
      const scale = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        const mu = sum[c] / n;
        const v = Math.max(0, (sumSq[c] / n - mu * mu) * (n > 1 ? n / (n - 1) : 1));
        mean[c] = mu;
        scale[c] = 1 / Math.sqrt(Math.fround(v) + BATCH_NORM_EPS);
      }
      const out = new FeatureCache(preNorm.geometry, precision, preNorm.slotOfTrial, preNorm.slots, preNorm.blockSlots);
      const firstTrial = new Int32Array(preNorm.slots).fill(-1);
      preNorm.slotOfTrial.forEach((slot, trial) => {
        if (slot >= 0 && firstTrial[slot] < 0) firstTrial[slot] = trial;
      });
      const y = new Float32Array(m);
      for (let slot = 0; slot < preNorm.slots; slot++) {
        const x = preNorm.map(firstTrial[slot], scratch);
        for (let i = 0; i < m; i++) {
          const c = i % C;
          const v = (x[i] - mean[c]) * scale[c];
          y[i] = v > 0 ? v : 0;
        }
        out.store(slot, y);
      }
      return out;
    },
  };
}
