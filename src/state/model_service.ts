/**
 * The page's calls into the model and io libraries, kept out of the React components: pick files, read a
 * checkpoint and config, build the tfjs model, run it. No React, no DOM beyond the File objects the user gave.
 */
import { InputError, type StateDict } from '../io/host_tensor';
import { parseNumericNpy } from '../io/npy';
import { readCheckpointContents } from '../io/torch_checkpoint';
import { DEFAULT_MODEL_CONFIG, parseModelConfigText, type ModelConfig } from '../model/config';
import { testImagesFor, type ImageSet } from './test_images';

export { testImagesFor, type ImageSet };

/** Largest checkpoint the page reads (the SOTA model is 2.4 MB; a Lurz core ~10 MB). */
const MAX_CHECKPOINT_BYTES = 512 << 20;
const MAX_CONFIG_BYTES = 1 << 20;
const MAX_IMAGES_BYTES = 256 << 20;

export interface ModelFiles {
  checkpoint: File;
  config: File | null;
}

/** What was read from the files; enough to build the model again on another backend. */
export interface OpenedCheckpoint {
  checkpointName: string;
  configName: string | null;
  format: 'zip' | 'legacy';
  stateDict: StateDict;
  config: ModelConfig;
  notes: string[];
}

/** Splits dropped/picked files into one checkpoint and at most one config JSON. */
export function pickModelFiles(files: readonly File[]): ModelFiles {
  const checkpoints = files.filter((f) => /\.(pth|pt|tar|pth\.tar|ckpt)$/i.test(f.name));
  const configs = files.filter((f) => /\.json$/i.test(f.name));
  const other = files.filter((f) => !checkpoints.includes(f) && !configs.includes(f));
  if (checkpoints.length === 0) {
    const names = files.map((f) => f.name).join(', ') || 'nothing';
    throw new Error(`no checkpoint among the files (${names}): expected a .pth or .pth.tar file, optionally with a config .json`);
  }
  if (checkpoints.length > 1) throw new Error(`several checkpoints given (${checkpoints.map((f) => f.name).join(', ')}): give one`);
  if (configs.length > 1) throw new Error(`several config files given (${configs.map((f) => f.name).join(', ')}): give at most one`);
  if (other.length) throw new Error(`unexpected files: ${other.map((f) => f.name).join(', ')} (give a .pth/.pth.tar and optionally a config .json)`);
  return { checkpoint: checkpoints[0], config: configs[0] ?? null };
}

export async function openCheckpoint(checkpoint: File, configFile: File | null): Promise<OpenedCheckpoint> {
  if (checkpoint.size > MAX_CHECKPOINT_BYTES) {
    throw new InputError(checkpoint.name, `file is ${(checkpoint.size / 2 ** 20).toFixed(0)} MB; the page reads checkpoints up to ${MAX_CHECKPOINT_BYTES / 2 ** 20} MB`);
  }
  let config: ModelConfig = structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig;
  const notes: string[] = [];
  if (configFile) {
    if (configFile.size > MAX_CONFIG_BYTES) throw new InputError(configFile.name, `config is ${configFile.size} bytes; at most ${MAX_CONFIG_BYTES} expected`);
    const parsed = parseModelConfigText(await configFile.text(), configFile.name);
    config = parsed.config;
    if (parsed.ignored.length) notes.push(`${configFile.name}: not used by the model: ${parsed.ignored.join(', ')}`);
  } else {
    notes.push('no config file given: options the weights cannot tell (pad_input, linear, elu_offset, input shape, ...) take the Sensorium SOTA values');
  }
  const contents = await readCheckpointContents(checkpoint, checkpoint.name);
  return {
    checkpointName: checkpoint.name,
    configName: configFile?.name ?? null,
    format: contents.format,
    stateDict: contents.stateDict,
    config,
    notes: [...contents.notes, ...notes],
  };
}

/** Reads a (B, C, H, W) image stack; checks it against the model's input shape when one is loaded. */
export async function readImagesNpy(file: File, inputShape: readonly number[] | null): Promise<ImageSet> {
  if (file.size > MAX_IMAGES_BYTES) throw new InputError(file.name, `file is ${(file.size / 2 ** 20).toFixed(0)} MB; at most ${MAX_IMAGES_BYTES / 2 ** 20} MB of images`);
  const arr = parseNumericNpy(new Uint8Array(await file.arrayBuffer()), file.name);
  if (arr.shape.length !== 4) throw new InputError(file.name, `images must be 4-D (batch, channels, height, width); got shape (${arr.shape.join(', ')})`);
  if (arr.shape[0] === 0) throw new InputError(file.name, 'holds no images (batch size 0)');
  if (inputShape && !arr.shape.slice(1).every((v, i) => v === inputShape[i])) {
    throw new InputError(file.name, `images are (${arr.shape.slice(1).join(', ')}) but the model takes (${inputShape.join(', ')}) (channels, height, width)`);
  }
  const data = arr.dtype === 'float32' ? (arr.data as Float32Array) : Float32Array.from(arr.data as ArrayLike<number>, Number);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new InputError(file.name, `value ${data[i]} at flat index ${i}: images must be finite`);
  }
  const shape = arr.shape as [number, number, number, number];
  return { name: file.name, source: 'file', data, shape, labels: Array.from({ length: shape[0] }, (_, i) => `image ${i}`) };
}

// ---- model building and prediction (wired to src/model as it lands) ----

/** What the page shows about a model's architecture. */
export interface ArchitectureSummary {
  /** [channels, height, width] of one input image. */
  inputShape: [number, number, number];
  core: Array<{ name: string; kind: string; inChannels: number; outChannels: number; kernel: number; padding: number; batchNorm: boolean; nonlinearity: string }>;
  /** Core output [channels, height, width] seen by the readout. */
  featureShape: [number, number, number];
  readouts: Array<{ key: string; neurons: number }>;
  readoutKey: string;
  neurons: number;
  gaussType: string;
  positionNetwork: string;
  parameters: number;
}

export interface LoadedModel {
  source: OpenedCheckpoint;
  summary: ArchitectureSummary;
  backend: string;
  /** The tfjs model (owned here; disposed with disposeModel). */
  handle: unknown;
}

export interface Prediction {
  /** (images, neurons) row-major responses, elu(x)+1 > 0. */
  data: Float32Array;
  shape: [number, number];
  backend: string;
  milliseconds: number;
}

export function buildModel(_opened: OpenedCheckpoint): LoadedModel {
  throw new Error('the model library is not wired into the page yet');
}

export function disposeModel(_model: LoadedModel): void {}

export async function predictResponses(_model: LoadedModel, _images: ImageSet, _backend: string): Promise<Prediction> {
  throw new Error('the model library is not wired into the page yet');
}
