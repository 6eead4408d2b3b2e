/**
 * `v1x finetune --vgg16 FILE|random`: the task-driven core (experiments/vgg_core.ts: VGG16 cut after conv2_2, then
 * BatchNorm fitted to the scan's training images, then ReLU) as the model files the rest of the command takes, as
 * if the user had given a checkpoint of it: its neuralpredictors state_dict (`core.features.TransferLearning.*`,
 * `core.features.OutBatchNorm.*`), saved as .pth bytes (the core worker threads open those; the metadata's
 * checksum is theirs), and its config. A torchvision file (vgg16-397923af.pth) is read by range: only the kept
 * convs, a few MB of its 528.
 */
import { existsSync, openAsBlob, statSync } from 'node:fs';
import { basename } from 'node:path';
import { vggEncoder } from '../experiments/vgg_core';
import { InputError } from '../io/host_tensor';
import type { Scan } from '../io/scan';
import { normalizedImages } from '../io/scan/normalize';
import { tierIndices } from '../io/scan/tiers';
import { saveCheckpoint } from '../io/torch_save';
import type { ParsedModelConfig } from '../model/config';
import { coreToStateDict } from '../model/to_state_dict';
import type { ModelFiles } from './load_model';

/** The config keys a TransferLearningCore's config sets (so the architecture follows them, not the defaults). */
const TL_CONFIG_KEYS = ['tl_model_name', 'layers', 'final_batchnorm', 'final_nonlinearity', 'input_shape'];

export interface VggModelFiles extends ModelFiles {
  /** The core as a .pth (BatchNorm statistics included). */
  bytes: Uint8Array;
  description: string;
  notes: string[];
}

/**
 * `arg` is a torchvision VGG16 state_dict file or 'random' (torchvision's init from `seed`); `config` supplies the
 * readout settings. The backend must be running (the BatchNorm fit runs the core over the training images).
 */
export async function vggModelFiles(
  arg: string,
  scan: Scan,
  config: ParsedModelConfig,
  seed: number,
): Promise<VggModelFiles> {
  let weights: Parameters<typeof vggEncoder>[0]['weights'];
  if (arg === 'random') weights = { kind: 'random', seed };
  else {
    if (!existsSync(arg))
      throw new InputError(arg, "no such file (--vgg16 takes torchvision's vgg16 .pth or 'random')");
    if (!statSync(arg).isFile()) throw new InputError(arg, 'not a regular file');
    weights = { kind: 'file', source: await openAsBlob(arg), file: basename(arg) };
  }
  const train = tierIndices(scan, 'train');
  if (train.length === 0) throw new InputError(scan.name, "no 'train' trials to fit the VGG core's BatchNorm to");
  const vgg = await vggEncoder({
    weights,
    images: normalizedImages(scan, train),
    imageShape: scan.imageShape,
    base: config.config,
  });
  try {
    const stateDict = await coreToStateDict(vgg.encoder.core);
    return {
      stateDict,
      config: {
        config: vgg.config,
        given: [...new Set([...config.given, ...TL_CONFIG_KEYS])],
        ignored: config.ignored,
      },
      architecture: vgg.encoder.architecture,
      checkpointPath: arg === 'random' ? `vgg16-random-seed${seed}` : basename(arg),
      bytes: await saveCheckpoint(stateDict),
      description: vgg.description,
      notes: vgg.notes,
    };
  } finally {
    vgg.encoder.dispose();
  }
}
