/**
 * One worker of a CorePool (core_pool.ts), whatever runs it: a tfjs-wasm instance running the frozen core's fast
 * forward (frozen_core.ts) on the image chunks it is sent, and then, with the cache blocks it is lent, its share of
 * the readout's steps and predictions (readout_shard_worker.ts). The entries core_pool_worker_node.ts (worker_threads)
 * and core_pool_worker_browser.ts (Web Worker) give it their message port and their way of starting tfjs-wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { readCheckpoint } from '../../io/torch_checkpoint';
import type { CoreRunner } from '../../kernels/core_runner';
import { parsedConfigOrDefault } from '../../model/config';
import { openFrozenCore } from '../frozen_core';
import { ReadoutShardServer, type ShardRequest } from './readout_shard_worker';

/** This side of the worker's channel. */
export interface ParentPort {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(handler: (message: unknown) => void): void;
}

interface Request extends ShardRequest {
  type: string;
  id?: number;
  checkpoint?: Uint8Array;
  name?: string;
  config?: unknown;
  images?: Float32Array;
  n?: number;
}

/** Answers the pool's messages; `startWasm` makes tfjs-wasm the backend (and throws if it cannot). */
export function serveCoreWorker(port: ParentPort, startWasm: () => Promise<void>): void {
  let run: CoreRunner | null = null;
  let inputShape: [number, number, number] = [1, 1, 1];
  const shard = new ReadoutShardServer();

  async function handle(m: Request): Promise<void> {
    if (m.type === 'init') {
      tf.env().set('PROD', true);
      await startWasm();
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
      const values = y.dataSync() as Float32Array;
      y.dispose();
      // tfjs-wasm reads into a fresh buffer: transfer it as it is (a copy only if it were a view into more)
      const out = values.byteOffset === 0 && values.byteLength === values.buffer.byteLength ? values : values.slice();
      port.postMessage({ type: 'done', id: m.id, out }, [out.buffer as ArrayBuffer]);
      return;
    }
    const answer = shard.handle(m);
    if (!answer) throw new Error(`core worker: unknown request '${m.type}'`);
    port.postMessage({ ...answer.reply, id: m.id }, answer.transfer);
  }

  port.onMessage((raw) => {
    const m = raw as Request;
    void handle(m).catch((e: unknown) =>
      port.postMessage({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) }),
    );
  });
}
