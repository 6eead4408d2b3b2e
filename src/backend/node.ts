/**
 * tfjs backend set-up for Node (CLI, tests, benchmarks). The umbrella '@tensorflow/tfjs' package is used
 * because plain-Node ESM cannot import tfjs-core's extension-less internal modules.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradKernels } from '../kernels/wasm/grad_kernels';

export type NodeBackend = 'cpu' | 'wasm';

let wasmPathsSet = false;

/**
 * Relaxed SIMD (f32x4.relaxed_madd: fused multiply-add) is on by default in Chrome >= 114 and Node >= 22; Node 20
 * has it behind a V8 flag, which takes effect for modules compiled after it is set (V8 flags are per process:
 * worker threads too). Our kernels test for it (relaxedSimdAvailable) and fall back to mul + add without it.
 */
function enableRelaxedSimd(): void {
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // an engine without the flag: the kernels use plain SIMD
  }
}
enableRelaxedSimd();

/** Switches tfjs to `name` and waits until it is ready. */
export async function initNodeBackend(name: NodeBackend): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    // usePlatformFetch=false: Node's fetch cannot read file paths; emscripten's own loader reads them with fs.
    setWasmPaths(join(dist, '/'), false);
    wasmPathsSet = true;
  }
  // tfjs-backend-wasm 4.22 lacks the conv backprop kernels training needs; ours fill the gap.
  if (name === 'wasm') registerWasmGradKernels();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend '${name}' failed to initialize`);
  await tf.ready();
}
