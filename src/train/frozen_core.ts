/**
 * The one way to open a frozen core, for every entry point that trains a readout on one (the fine-tuning and
 * transfer workers, the Node core pool's threads, `v1x finetune`, frozen_core_files.ts): the checkpoint's core
 * without its readouts and with no trainable variables, run by its fastest eval forward on the running backend
 * (kernels/fast_core.ts), or by the model's own forward where that path does not apply.
 */
import type { StateDict } from '../io/host_tensor';
import type { CoreRunner } from '../kernels/core_runner';
import { createFastCore } from '../kernels/fast_core';
import type { ParsedModelConfig } from '../model/config';
import type { Encoder } from '../model/encoder';
import { encoderFromStateDict } from '../model/from_state_dict';

export interface FrozenCore {
  /** The model holding the core (no readouts); disposed by `dispose`. */
  encoder: Encoder;
  /** Normalized images (B, C, H, W) -> core output (B, H', W', C') NHWC, eval mode. */
  run: CoreRunner;
  /** What `run` is, in words. */
  description: string;
  dispose(): void;
}

/** `encoder`'s core, frozen, with its fastest forward; takes ownership of `encoder`. The backend must be running. */
export async function frozenCore(encoder: Encoder): Promise<FrozenCore> {
  let fast: Awaited<ReturnType<typeof createFastCore>>;
  try {
    // the fast path picks its kernels for the running backend
    fast = await createFastCore(encoder.core);
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  return {
    encoder,
    run: fast ? fast.run : (x) => encoder.coreForward(x),
    description: fast ? fast.description : "the model's own forward",
    dispose: () => {
      fast?.dispose();
      encoder.dispose();
    },
  };
}

/** A checkpoint's core (its readouts are not built), frozen; `config.given` only shapes the architecture's notes. */
export async function openFrozenCore(
  stateDict: StateDict,
  config: ParsedModelConfig,
  file: string,
): Promise<FrozenCore> {
  return frozenCore(
    encoderFromStateDict(stateDict, config.config, file, { readouts: [], trainable: false, configGiven: config.given }),
  );
}
