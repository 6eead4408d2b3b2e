/**
 * Weights for a new TransferLearningCore (transfer_learning_core.ts), as its neuralpredictors state_dict
 * (`core.features.TransferLearning.<i>.*`, `core.features.OutBatchNorm.*`):
 * - from a torchvision state_dict the user downloaded (e.g. vgg16-397923af.pth, 528 MB, keys `features.<i>.*` and
 *   `classifier.*`): only the kept convs' tensors are read (torch_checkpoint.ts' random access: the rest of the file,
 *   the classifier's 470 MB included, is never fetched);
 * - random, as torchvision initializes a VGG (kaiming_normal_(mode='fan_out', nonlinearity='relu') conv weights,
 *   zero biases), seeded.
 * OutBatchNorm starts as torch's BatchNorm2d does (weight 1, bias 0, running mean 0, variance 1): statistics of no
 * image. Before such a core is frozen its statistics are fitted to the scan's training images
 * (experiments/batchnorm_fit.ts), as for the random Stacked2dCore.
 */
import type { ReadStats } from '../io/byte_source';
import { type HostTensor, InputError, type StateDict, shapeString } from '../io/host_tensor';
import { readCheckpointContents } from '../io/torch_checkpoint';
import { Rng } from '../util/rng';
import type { ModelConfig } from './config';
import {
  DEFAULT_TL_MODEL,
  OUT_BATCHNORM_PREFIX,
  TL_MODEL_NAMES,
  TL_PREFIX,
  torchvisionFeatures,
  VGG16_CONV2_2_LAYERS,
} from './transfer_learning_core';

/** Which network and where to cut it. Defaults: vgg16 after 8 children (conv2_2). */
export interface TransferLearningChoice {
  modelName?: string;
  layers?: number;
}

function resolve(choice: TransferLearningChoice, file: string): { modelName: string; layers: number } {
  const modelName = choice.modelName ?? DEFAULT_TL_MODEL;
  const layers = choice.layers ?? VGG16_CONV2_2_LAYERS;
  const children = torchvisionFeatures(modelName);
  if (!children)
    throw new InputError(file, `'${modelName}' is not a supported network (supported: ${TL_MODEL_NAMES.join(', ')})`);
  if (!Number.isInteger(layers) || layers < 1 || layers > children.length)
    throw new InputError(file, `${modelName}'s features has ${children.length} children; cannot keep ${layers}`);
  if (!children.slice(0, layers).some((c) => c.kind === 'conv'))
    throw new InputError(file, `the first ${layers} children of ${modelName}'s features hold no conv`);
  return { modelName, layers };
}

/** The model config of such a core for images of `imageShape` ([C, H, W]): `base` with the TransferLearningCore keys. */
export function transferLearningConfig(
  base: ModelConfig,
  imageShape: readonly [number, number, number],
  choice: TransferLearningChoice = {},
): ModelConfig {
  const { modelName, layers } = resolve(choice, 'config');
  return {
    ...base,
    tl_model_name: modelName,
    layers,
    final_batchnorm: true,
    final_nonlinearity: true,
    input_shape: [imageShape[0], imageShape[1], imageShape[2]],
  };
}

function f32(shape: number[], data: Float32Array): HostTensor<'float32'> {
  return { dtype: 'float32', shape, data };
}

/** torch.nn.BatchNorm2d(C) as constructed. */
function freshOutBatchNorm(sd: StateDict, channels: number): void {
  sd.set(`${OUT_BATCHNORM_PREFIX}weight`, f32([channels], new Float32Array(channels).fill(1)));
  sd.set(`${OUT_BATCHNORM_PREFIX}bias`, f32([channels], new Float32Array(channels)));
  sd.set(`${OUT_BATCHNORM_PREFIX}running_mean`, f32([channels], new Float32Array(channels)));
  sd.set(`${OUT_BATCHNORM_PREFIX}running_var`, f32([channels], new Float32Array(channels).fill(1)));
  sd.set(`${OUT_BATCHNORM_PREFIX}num_batches_tracked`, { dtype: 'int64', shape: [], data: BigInt64Array.of(0n) });
}

/** The kept conv children: index, shape (out, in, k, k). */
function keptConvs(modelName: string, layers: number): { index: number; shape: [number, number, number, number] }[] {
  const out: { index: number; shape: [number, number, number, number] }[] = [];
  torchvisionFeatures(modelName)!.forEach((c, index) => {
    if (index < layers && c.kind === 'conv')
      out.push({ index, shape: [c.outChannels, c.inChannels, c.kernel, c.kernel] });
  });
  return out;
}

/**
 * A random core: torchvision's VGG init (kaiming_normal_, fan_out, relu gain: std = sqrt(2 / (out * k * k));
 * bias 0), drawn conv by conv from `seed`, and a fresh OutBatchNorm.
 */
export function randomTransferLearningStateDict(seed: number, choice: TransferLearningChoice = {}): StateDict {
  const { modelName, layers } = resolve(choice, 'random core');
  const rng = new Rng(seed);
  const sd: StateDict = new Map();
  let C = 0;
  for (const { index, shape } of keptConvs(modelName, layers)) {
    const [o, i, kh, kw] = shape;
    const std = Math.sqrt(2 / (o * kh * kw));
    const w = new Float32Array(o * i * kh * kw);
    for (let k = 0; k < w.length; k++) w[k] = std * rng.normal();
    sd.set(`${TL_PREFIX}${index}.weight`, f32(shape, w));
    sd.set(`${TL_PREFIX}${index}.bias`, f32([o], new Float32Array(o)));
    C = o;
  }
  freshOutBatchNorm(sd, C);
  return sd;
}

/** The torchvision state_dict keys a cut needs: `features.<i>.weight` and `.bias` of the kept convs. */
export function torchvisionKeysNeeded(choice: TransferLearningChoice = {}): Set<string> {
  const { modelName, layers } = resolve(choice, 'torchvision');
  const keys = new Set<string>();
  for (const { index } of keptConvs(modelName, layers))
    keys.add(`features.${index}.weight`).add(`features.${index}.bias`);
  return keys;
}

/** A torchvision state_dict (only its kept convs need be present) as the core's state_dict, OutBatchNorm fresh. */
export function transferLearningFromTorchvision(
  tv: StateDict,
  file: string,
  choice: TransferLearningChoice = {},
): StateDict {
  const { modelName, layers } = resolve(choice, file);
  const sd: StateDict = new Map();
  const problems: string[] = [];
  let C = 0;
  for (const { index, shape } of keptConvs(modelName, layers)) {
    const wk = `features.${index}.weight`;
    const bk = `features.${index}.bias`;
    const w = tv.get(wk);
    const b = tv.get(bk);
    if (!w) problems.push(`missing '${wk}' ${shapeString(shape)}`);
    else if (w.shape.join() !== shape.join())
      problems.push(`'${wk}' has shape ${shapeString(w.shape)}, ${modelName}'s is ${shapeString(shape)}`);
    if (!b) problems.push(`missing '${bk}' (${shape[0]},)`);
    else if (b.shape.join() !== String(shape[0]))
      problems.push(`'${bk}' has shape ${shapeString(b.shape)}, ${modelName}'s is (${shape[0]},)`);
    if (w && b) {
      sd.set(`${TL_PREFIX}${index}.weight`, w);
      sd.set(`${TL_PREFIX}${index}.bias`, b);
    }
    C = shape[0];
  }
  if (problems.length > 0)
    throw new InputError(file, `not a torchvision ${modelName} state_dict: ${problems.slice(0, 6).join('; ')}`);
  freshOutBatchNorm(sd, C);
  return sd;
}

export interface TorchvisionCoreRead {
  stateDict: StateDict;
  format: 'zip' | 'legacy';
  notes: string[];
}

/**
 * Reads the kept convs of a torchvision state_dict file (zip or legacy format) by random access: a Blob (a File,
 * Node's fs.openAsBlob) is never read whole. `stats` counts the bytes read.
 */
export async function readTorchvisionCore(
  source: Blob | Uint8Array,
  file: string,
  choice: TransferLearningChoice = {},
  stats?: ReadStats,
): Promise<TorchvisionCoreRead> {
  const needed = torchvisionKeysNeeded(choice);
  const c = await readCheckpointContents(source, file, { keep: (k) => needed.has(k), stats });
  return { stateDict: transferLearningFromTorchvision(c.stateDict, file, choice), format: c.format, notes: c.notes };
}
