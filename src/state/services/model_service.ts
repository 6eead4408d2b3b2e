/**
 * The page's one caller of the model library (with the io readers a checkpoint needs), kept out of the React
 * components: pick files, read a checkpoint and config, build the tfjs model, run it. No React, no DOM beyond
 * the File objects the user gave.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, numel, type StateDict } from '../../io/host_tensor';
import { parseNumericNpy } from '../../io/npy';
import { readCheckpointContents } from '../../io/torch_checkpoint';
import type { ModelArchitecture } from '../../model/architecture';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, parseModelConfigText } from '../../model/config';
import type { Encoder } from '../../model/encoder';
import { encoderFromStateDict } from '../../model/from_state_dict';
import type { ImageSet } from '../derived/test_images';
import { closePagePool, predictInPage } from './page_inference';

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
  /** The file itself (a Blob reference), for the training worker and the saved session. */
  checkpointFile: File;
  /** The config as parsed JSON (null: none given), as the training worker takes it. */
  configJson: unknown | null;
  configName: string | null;
  format: 'zip' | 'legacy';
  stateDict: StateDict;
  config: ModelConfig;
  /** Config keys the user's file set (the weights win over them; disagreements become notes). */
  configGiven: string[];
  notes: string[];
}

/** Splits dropped/picked files into one checkpoint and at most one config JSON. */
export function pickModelFiles(files: readonly File[]): ModelFiles {
  const checkpoints = files.filter((f) => /\.(pth|pt|tar|pth\.tar|ckpt)$/i.test(f.name));
  const configs = files.filter((f) => /\.json$/i.test(f.name));
  const other = files.filter((f) => !checkpoints.includes(f) && !configs.includes(f));
  if (checkpoints.length === 0) {
    const names = files.map((f) => f.name).join(', ') || 'nothing';
    throw new Error(
      `no checkpoint among the files (${names}): expected a .pth or .pth.tar file, optionally with a config .json`,
    );
  }
  if (checkpoints.length > 1)
    throw new Error(`several checkpoints given (${checkpoints.map((f) => f.name).join(', ')}): give one`);
  if (configs.length > 1)
    throw new Error(`several config files given (${configs.map((f) => f.name).join(', ')}): give at most one`);
  if (other.length)
    throw new Error(
      `unexpected files: ${other.map((f) => f.name).join(', ')} (give a .pth/.pth.tar and optionally a config .json)`,
    );
  return { checkpoint: checkpoints[0], config: configs[0] ?? null };
}

export async function openCheckpoint(checkpoint: File, configFile: File | null): Promise<OpenedCheckpoint> {
  if (checkpoint.size > MAX_CHECKPOINT_BYTES) {
    throw new InputError(
      checkpoint.name,
      `file is ${(checkpoint.size / 2 ** 20).toFixed(0)} MB; the page reads checkpoints up to ${MAX_CHECKPOINT_BYTES / 2 ** 20} MB`,
    );
  }
  let config: ModelConfig = structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig;
  const notes: string[] = [];
  let configGiven: string[] = [];
  let configJson: unknown | null = null;
  if (configFile) {
    if (configFile.size > MAX_CONFIG_BYTES)
      throw new InputError(configFile.name, `config is ${configFile.size} bytes; at most ${MAX_CONFIG_BYTES} expected`);
    const text = await configFile.text();
    const parsed = parseModelConfigText(text, configFile.name);
    configJson = JSON.parse(text) as unknown;
    config = parsed.config;
    configGiven = parsed.given;
    if (parsed.ignored.length) notes.push(`${configFile.name}: not used by the model: ${parsed.ignored.join(', ')}`);
  } else {
    notes.push(
      'no config file given: options the weights cannot tell (pad_input, linear, elu_offset, input shape, ...) take the Sensorium SOTA values',
    );
  }
  const contents = await readCheckpointContents(checkpoint, checkpoint.name);
  return {
    checkpointName: checkpoint.name,
    checkpointFile: checkpoint,
    configJson,
    configName: configFile?.name ?? null,
    format: contents.format,
    stateDict: contents.stateDict,
    config,
    configGiven,
    notes: [...contents.notes, ...notes],
  };
}

/** Reads a (B, C, H, W) image stack; checks it against the model's input shape when one is loaded. */
export async function readImagesNpy(file: File, inputShape: readonly number[] | null): Promise<ImageSet> {
  if (file.size > MAX_IMAGES_BYTES)
    throw new InputError(
      file.name,
      `file is ${(file.size / 2 ** 20).toFixed(0)} MB; at most ${MAX_IMAGES_BYTES / 2 ** 20} MB of images`,
    );
  const arr = parseNumericNpy(new Uint8Array(await file.arrayBuffer()), file.name);
  if (arr.shape.length !== 4)
    throw new InputError(
      file.name,
      `images must be 4-D (batch, channels, height, width); got shape (${arr.shape.join(', ')})`,
    );
  if (arr.shape[0] === 0) throw new InputError(file.name, 'holds no images (batch size 0)');
  if (inputShape && !arr.shape.slice(1).every((v, i) => v === inputShape[i])) {
    throw new InputError(
      file.name,
      `images are (${arr.shape.slice(1).join(', ')}) but the model takes (${inputShape.join(', ')}) (channels, height, width)`,
    );
  }
  const data =
    arr.dtype === 'float32' ? (arr.data as Float32Array) : Float32Array.from(arr.data as ArrayLike<number>, Number);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]))
      throw new InputError(file.name, `value ${data[i]} at flat index ${i}: images must be finite`);
  }
  const shape = arr.shape as [number, number, number, number];
  return {
    name: file.name,
    source: 'file',
    data,
    shape,
    labels: Array.from({ length: shape[0] }, (_, i) => `image ${i}`),
  };
}

// ---- model building and prediction ----

/** A model ready to run on the active tfjs backend. */
export interface LoadedModel {
  source: OpenedCheckpoint;
  encoder: Encoder;
  architecture: ModelArchitecture;
  /** The readout whose neurons the page shows. */
  readoutKey: string;
  neurons: number;
  /** One image: [channels, height, width]. */
  inputShape: [number, number, number];
  /** Learned numbers in the checkpoint (buffers such as running statistics and source_grid excluded). */
  parameters: number;
  /** The tfjs backend the weights live on. */
  backend: string;
}

export interface Prediction {
  /** (images, neurons) row-major responses, elu(x + offset) + 1 > 0. */
  data: Float32Array;
  shape: [number, number];
  /** Name of the image set predicted (to tell a stale prediction from a current one). */
  imagesName: string;
  readoutKey: string;
  backend: string;
  /** Where the core ran (page_inference.ts): 'this page' or the core workers. */
  where: string;
  milliseconds: number;
}

const BUFFER_KEY = /(running_mean|running_var|num_batches_tracked|source_grid)$|^core\._input_weights_regularizer\./;

function countParameters(sd: StateDict): number {
  let n = 0;
  for (const [key, t] of sd) if (!BUFFER_KEY.test(key)) n += numel(t.shape);
  return n;
}

/**
 * Builds the tfjs model on the active backend from what was read. Throws an InputError naming the checkpoint
 * for missing, unexpected or mis-shaped keys, and when the checkpoint has no readout to show.
 */
export function buildModel(opened: OpenedCheckpoint, readoutKey?: string): LoadedModel {
  const encoder = encoderFromStateDict(opened.stateDict, opened.config, opened.checkpointName, {
    configGiven: opened.configGiven,
    trainable: false,
  });
  try {
    const architecture = encoder.architecture;
    const key = readoutKey ?? encoder.defaultReadout;
    if (key === null)
      throw new InputError(
        opened.checkpointName,
        'holds a core only (no readout.<data_key>.* keys): there are no neurons to show',
      );
    const readout = architecture.readouts.find((r) => r.key === key);
    if (!readout)
      throw new InputError(
        opened.checkpointName,
        `no readout '${key}' (readouts: ${architecture.readouts.map((r) => r.key).join(', ')})`,
      );
    return {
      source: opened,
      encoder,
      architecture,
      readoutKey: key,
      neurons: readout.neurons,
      inputShape: [...architecture.core.inputShape] as [number, number, number],
      parameters: countParameters(opened.stateDict),
      backend: tf.getBackend(),
    };
  } catch (err) {
    encoder.dispose();
    throw err;
  }
}

export function disposeModel(model: LoadedModel): void {
  closePagePool(model);
  model.encoder.dispose();
}

/** Eval-mode responses of the model's current readout to every image of the set. */
export async function predictResponses(model: LoadedModel, images: ImageSet): Promise<Prediction> {
  const t0 = performance.now();
  const { y, where } = await predictInPage(model, images.data);
  return {
    where,
    data: y.data,
    shape: [y.shape[0], y.shape[1]],
    imagesName: images.name,
    readoutKey: model.readoutKey,
    backend: tf.getBackend(),
    milliseconds: performance.now() - t0,
  };
}
