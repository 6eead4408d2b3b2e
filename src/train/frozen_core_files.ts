/**
 * Node-only: a checkpoint (+ optional config) file as a frozen core (frozen_core.ts), for the benchmark and the
 * tests. The browser worker opens the same from the bytes the page sends; `v1x finetune` from its checked files.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { StateDict } from '../io/host_tensor';
import { readCheckpoint } from '../io/torch_checkpoint';
import type { CoreRunner } from '../kernels/core_runner';
import { defaultParsedConfig, type ModelConfig, parseModelConfigText } from '../model/config';
import type { Encoder } from '../model/encoder';
import { openFrozenCore } from './frozen_core';

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
  const config = configPath
    ? parseModelConfigText(await readFile(configPath, 'utf8'), basename(configPath))
    : defaultParsedConfig();
  const frozen = await openFrozenCore(stateDict, config, file);
  const { encoder } = frozen;
  const [c, h, w] = encoder.architecture.core.outputShape;
  return {
    encoder,
    stateDict,
    config: config.config,
    bytes,
    core: frozen.run,
    coreDescription: frozen.description,
    dispose: frozen.dispose,
    coreOutputShape: [c, h, w],
    notes: encoder.architecture.notes,
  };
}
