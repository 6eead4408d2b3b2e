/**
 * The core pool (core_pool.ts) on Node worker threads, for `v1x finetune` and the benchmark. PyTorch's reference
 * uses 2 threads on this 2-core machine; this gives our core the same.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CorePool, type WorkerPort } from './core_pool';

function nodeWorker(): WorkerPort {
  // the boot file registers tsx's loader in the thread (vitest's own loader does not reach workers)
  const w = new Worker(new URL('./core_pool_worker_boot.mjs', import.meta.url));
  return {
    postMessage: (m, transfer) => w.postMessage(m, transfer),
    onMessage: (h) => w.on('message', h),
    onError: (h) => w.on('error', (e: unknown) => h(e instanceof Error ? e : new Error(String(e)))),
    terminate: async () => {
      await w.terminate();
    },
  };
}

export type NodeCorePool = CorePool;

export const NodeCorePool = {
  /**
   * Starts `threads` worker threads (default: the machine's cores, at most 4) with the checkpoint's core;
   * `config` is a config JSON value (a parsed ModelConfig's is one) or null for the defaults.
   */
  create(
    checkpoint: Uint8Array,
    name: string,
    config: unknown | null,
    inputShape: [number, number, number],
    threads = Math.min(4, availableParallelism()),
  ): Promise<CorePool> {
    return CorePool.start(nodeWorker, threads, { checkpoint, name, config, inputShape }, 'worker threads');
  },
};
