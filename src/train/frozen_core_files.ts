/**
 * Node-only: a checkpoint (+ optional config) file as a frozen core, for the fine-tuning entry points (CLI,
 * benchmark, tests). The browser worker gets the same objects from the page.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../io/host_tensor';
import { readCheckpoint } from '../io/torch_checkpoint';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, parseModelConfigText } from '../model/config';
import type { Encoder } from '../model/encoder';
import { encoderFromStateDict } from '../model/from_state_dict';
import type { CoreRunner } from '../kernels/core_runner';
import { createFastCore } from '../kernels/fast_core';

export interface LoadedCore {
  encoder: Encoder;
  stateDict: StateDict;
  config: ModelConfig;
  /** The checkpoint file's bytes (for its checksum in the export metadata). */
  bytes: Uint8Array;
  /** The frozen core's fastest eval forward on the current backend (fast_core.ts), else the model's. */
  core: CoreRunner;
  coreDescription: string;
  dispose(): void;
  coreOutputShape: [number, number, number];
  notes: string[];
}

/** Reads a checkpoint and builds its core (frozen: no trainable variables); readouts in the file are not built. */
export async function loadCoreFromFiles(checkpointPath: string, configPath?: string): Promise<LoadedCore> {
  const bytes = new Uint8Array(await readFile(checkpointPath));
  const file = basename(checkpointPath);
  const stateDict = await readCheckpoint(bytes, file);
  let config: ModelConfig = { ...DEFAULT_MODEL_CONFIG };
  let configGiven: string[] = [];
  if (configPath) {
    const parsed = parseModelConfigText(await readFile(configPath, 'utf8'), basename(configPath));
    config = parsed.config;
    configGiven = Object.keys(JSON.parse(await readFile(configPath, 'utf8')) as object);
  }
  const encoder = encoderFromStateDict(stateDict, config, file, { readouts: [], trainable: false, configGiven });
  const [c, h, w] = encoder.architecture.core.outputShape;
  // the backend must be running: the fast path picks its kernels for it
  const fast = await createFastCore(encoder.core);
  return {
    encoder, stateDict, config, bytes,
    core: fast ? fast.run : (x: tf.Tensor4D) => encoder.coreForward(x),
    coreDescription: fast ? fast.description : 'the model\'s own forward',
    dispose: () => { fast?.dispose(); encoder.dispose(); },
    coreOutputShape: [c, h, w],
    notes: encoder.architecture.notes,
  };
}
