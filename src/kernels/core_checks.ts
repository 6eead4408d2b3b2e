/**
 * For the browser tests (through the page's test hook, loaded on use): the fast frozen core (fast_core.ts: our
 * WebAssembly SIMD / relaxed-SIMD kernels) against the model's own core forward, on the page's current tfjs backend,
 * so that the kernels are checked in the browser's engine too (Node's tests check them in V8 under Node).
 */
import * as tf from '@tensorflow/tfjs';
import { readCheckpoint } from '../io/torch_checkpoint';
import { parsedConfigOrDefault } from '../model/config';
import { encoderFromStateDict } from '../model/from_state_dict';
import { createFastCore } from './fast_core';

export interface FastCoreCheck {
  backend: string;
  description: string;
  /** max_i |fast_i - model_i| / (atol + rtol |model_i|): <= 1 passes. */
  worstRatio: number;
  values: number;
  /** tfjs tensors left after the check minus before (0: everything disposed). */
  leakedTensors: number;
}

/** Runs both on `inputs` (n, C, H, W) of the checkpoint's core; `config` a config JSON value or null. */
export async function fastCoreAgainstModel(
  checkpoint: Uint8Array,
  config: unknown | null,
  inputs: Float32Array,
  shape: [number, number, number, number],
  atol = 1e-4,
  rtol = 1e-4,
): Promise<FastCoreCheck> {
  const before = tf.memory().numTensors;
  const parsed = parsedConfigOrDefault(config);
  const encoder = encoderFromStateDict(await readCheckpoint(checkpoint, 'model.pth'), parsed.config, 'model.pth', {
    readouts: [],
    trainable: false,
    configGiven: parsed.given,
  });
  const fast = await createFastCore(encoder.core);
  let result: Omit<FastCoreCheck, 'leakedTensors'>;
  try {
    if (!fast) throw new Error('the fast core does not cover this checkpoint');
    const x = tf.tensor4d(inputs, shape);
    const yf = fast.run(x),
      ym = encoder.coreForward(x);
    const a = (await yf.data()) as Float32Array,
      b = (await ym.data()) as Float32Array;
    tf.dispose([x, yf, ym]);
    let worst = 0;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
    result = { backend: tf.getBackend(), description: fast.description, worstRatio: worst, values: b.length };
  } finally {
    fast?.dispose();
    encoder.dispose();
  }
  return { ...result, leakedTensors: tf.memory().numTensors - before };
}
