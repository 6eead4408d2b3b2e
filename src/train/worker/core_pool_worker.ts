/**
 * Node worker thread of NodeCorePool (core_pool_node.ts): one tfjs-wasm instance running the frozen core's fast
 * forward (frozen_core.ts) on the image chunks it is sent. Messages:
 *   in:  { type: 'init', checkpoint: Uint8Array, name, config: unknown | null }  -> out: { type: 'ready', outputShape }
 *   in:  { type: 'run', id, images: Float32Array (n, C, H, W), n }              -> out: { type: 'done', id, out } (n, H', W', C')
 *   errors -> { type: 'error', id?, message }
 */

import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../backend/node';
import { readCheckpoint } from '../../io/torch_checkpoint';
import type { CoreRunner } from '../../kernels/core_runner';
import { parsedConfigOrDefault } from '../../model/config';
import { openFrozenCore } from '../frozen_core';

let run: CoreRunner | null = null;
let inputShape: [number, number, number] = [1, 1, 1];

const port = parentPort!;
port.on(
  'message',
  (m: {
    type: string;
    id?: number;
    checkpoint?: Uint8Array;
    name?: string;
    config?: unknown;
    images?: Float32Array;
    n?: number;
  }) => {
    void handle(m).catch((e: unknown) =>
      port.postMessage({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) }),
    );
  },
);

async function handle(m: {
  type: string;
  id?: number;
  checkpoint?: Uint8Array;
  name?: string;
  config?: unknown;
  images?: Float32Array;
  n?: number;
}): Promise<void> {
  if (m.type === 'init') {
    tf.env().set('PROD', true);
    await initNodeBackend('wasm');
    const name = m.name ?? 'checkpoint';
    const frozen = await openFrozenCore(
      await readCheckpoint(m.checkpoint!, name),
      parsedConfigOrDefault(m.config),
      name,
    );
    run = frozen.run;
    const arch = frozen.encoder.architecture.core;
    inputShape = arch.inputShape;
    port.postMessage({ type: 'ready', outputShape: arch.outputShape, description: frozen.description });
    return;
  }
  if (m.type === 'run') {
    if (!run) throw new Error('core worker not initialized');
    const [c, h, w] = inputShape;
    const y = tf.tidy(() => run!(tf.tensor4d(m.images!, [m.n!, c, h, w])));
    const out = y.dataSync() as Float32Array;
    y.dispose();
    const copy = out.slice(); // own buffer to transfer
    port.postMessage({ type: 'done', id: m.id, out: copy }, [copy.buffer]);
  }
}
