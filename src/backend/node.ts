/**
 * tfjs backend set-up for Node (CLI, tests, benchmarks). The umbrella '@tensorflow/tfjs' package is used
 * because plain-Node ESM cannot import tfjs-core's extension-less internal modules.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradKernels } from '../kernels/wasm/grad_kernels';

export type NodeBackend = 'cpu' | 'wasm';

let wasmPathsSet = false;

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
