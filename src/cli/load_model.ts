/**
 * Shared by the v1x commands: read a checkpoint and an optional config from paths and build the model, with
 * every problem reported as one line naming the file.
 */

import { existsSync, openAsBlob, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, type NodeBackend } from '../backend/node';
import { type HostTensor, InputError, type StateDict, toFloat32 } from '../io/host_tensor';
import { parseNumericNpy } from '../io/npy';
import { readCheckpoint } from '../io/torch_checkpoint';
import { inferArchitecture, type ModelArchitecture } from '../model/architecture';
import { defaultParsedConfig, type ParsedModelConfig, parseModelConfigText } from '../model/config';
import type { Encoder } from '../model/encoder';
import { encoderFromStateDict } from '../model/from_state_dict';
import { type ParsedArgs, UsageError } from './args';

function mustExist(path: string): void {
  if (!existsSync(path)) throw new InputError(path, 'no such file');
  if (!statSync(path).isFile()) throw new InputError(path, 'not a regular file');
}

export async function readCheckpointFile(path: string): Promise<StateDict> {
  mustExist(path);
  // A Blob keeps large checkpoints on disk: the reader takes only the entries it needs.
  return readCheckpoint(await openAsBlob(path), basename(path));
}

export function readConfigFile(path: string | undefined): ParsedModelConfig {
  if (path === undefined) return defaultParsedConfig();
  mustExist(path);
  if (statSync(path).size > 1 << 20) throw new InputError(path, 'a model config larger than 1 MB is not plausible');
  return parseModelConfigText(readFileSync(path, 'utf8'), path);
}

export interface ModelFiles {
  stateDict: StateDict;
  config: ParsedModelConfig;
  architecture: ModelArchitecture;
  checkpointPath: string;
}

/** Reads and checks the files without allocating any tensor. */
export async function readModelFiles(checkpointPath: string, configPath?: string): Promise<ModelFiles> {
  const config = readConfigFile(configPath);
  const stateDict = await readCheckpointFile(checkpointPath);
  const architecture = inferArchitecture(stateDict, config.config, checkpointPath, config.given);
  return { stateDict, config, architecture, checkpointPath };
}

/** Picks the readout (default: the first) and says so when there was a choice. */
export function chooseReadout(arch: ModelArchitecture, requested: string | undefined, file: string): string {
  if (arch.readouts.length === 0)
    throw new InputError(file, 'the checkpoint has no readout (core only); nothing to predict');
  if (requested !== undefined) {
    if (!arch.readouts.some((r) => r.key === requested)) {
      throw new InputError(file, `no readout '${requested}' (readouts: ${arch.readouts.map((r) => r.key).join(', ')})`);
    }
    return requested;
  }
  return arch.defaultReadout!;
}

/** The readout --readout names (default: the first), with a note on stderr when the default was one of several. */
export function readoutFromArgs(args: ParsedArgs, files: ModelFiles): string {
  const arch = files.architecture;
  const key = chooseReadout(arch, args.get('readout'), files.checkpointPath);
  if (args.get('readout') === undefined && arch.readouts.length > 1) {
    process.stderr.write(`v1x: using readout '${key}', the first of ${arch.readouts.length} (choose with --readout)\n`);
  }
  return key;
}

export function parseBackend(args: ParsedArgs): NodeBackend {
  const b = args.get('backend') ?? 'wasm';
  if (b !== 'cpu' && b !== 'wasm') throw new UsageError(`--backend must be cpu or wasm, got '${b}'`);
  return b;
}

/** Starts tfjs quietly (the cpu backend's "install tfjs-node" banner would break the one-line error rule). */
export async function startBackend(name: NodeBackend): Promise<void> {
  tf.env().set('PROD', true);
  await initNodeBackend(name);
}

export function buildEncoder(files: ModelFiles, readouts?: string[]): Encoder {
  return encoderFromStateDict(files.stateDict, files.config.config, files.checkpointPath, {
    configGiven: files.config.given,
    readouts,
    trainable: false,
  });
}

/** Reads already-normalized images (B, C, H, W) as float32 and checks them against the model. */
export function readImages(path: string, arch: ModelArchitecture): HostTensor<'float32'> {
  mustExist(path);
  const t = parseNumericNpy(new Uint8Array(readFileSync(path)), path);
  if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16') {
    throw new InputError(path, `images must be float32 (already normalized), got ${t.dtype}`);
  }
  const [c, h, w] = arch.core.inputShape;
  const s = t.shape;
  if (s.length !== 4 || s[1] !== c || s[2] !== h || s[3] !== w) {
    throw new InputError(
      path,
      `images have shape (${s.join(', ')}), the model takes (batch, ${c}, ${h}, ${w}) (channels from the checkpoint; height and width from the config's input_shape, pass --config to change them)`,
    );
  }
  if (s[0] === 0) throw new InputError(path, 'no images (batch size 0)');
  const data = toFloat32(t);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const per = c * h * w;
      throw new InputError(path, `image ${Math.floor(i / per)} contains a non-finite value (${data[i]})`);
    }
  }
  return { dtype: 'float32', shape: s, data };
}
