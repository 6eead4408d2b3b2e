/**
 * The task-driven core of Lurz et al. 2021's comparison, ready to be frozen: a TransferLearningCore (VGG16 cut
 * after conv2_2 by default, then BatchNorm and ReLU; model/transfer_learning_core.ts) with torchvision's ImageNet
 * weights from the user's file, or random weights (torchvision's init, seeded), its BatchNorm statistics fitted to
 * the given (training) images as for the random Stacked2dCore (batchnorm_fit.ts). For `v1x finetune --vgg16` and
 * the experiment runner's `vgg` cores; the model built is an ordinary Encoder (no readouts), so the feature cache,
 * training and export take it as they take any core.
 */
import type { ReadStats } from '../io/byte_source';
import type { StateDict } from '../io/host_tensor';
import { type ModelConfig, parsedConfigOrDefault } from '../model/config';
import type { Encoder } from '../model/encoder';
import { encoderFromStateDict } from '../model/from_state_dict';
import {
  randomTransferLearningStateDict,
  readTorchvisionCore,
  type TransferLearningChoice,
  transferLearningConfig,
} from '../model/vgg_weights';
import { type FrozenCore, frozenCore } from '../train/frozen_core';
import { fitBatchNormStatistics } from './batchnorm_fit';

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

/** Builds the core and fits its BatchNorm to `images`. */
export async function vggEncoder(opts: VggCoreOptions): Promise<VggEncoder> {
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
