/// <reference lib="webworker" />
/**
 * The core pool (core_pool.ts) on Web Workers, for the page: the training worker starts them (nested dedicated
 * workers), so the pool lives and dies with the job that uses it and the main thread only draws. One worker per
 * logical core (navigator.hardwareConcurrency, at most MAX_WORKERS: each holds its own tfjs-wasm heap); none when
 * there is one core (the training worker runs the core itself).
 */
import { CorePool, type CorePoolInit, type WorkerPort } from './core_pool';

/** Each worker costs a WebAssembly heap (~50-100 MB with the core's buffers at chunk 32). */
export const MAX_WORKERS = 8;

/** Workers for a machine with `hardwareConcurrency` logical cores: all of them, capped; 0 means no pool. */
export function poolSize(hardwareConcurrency: number | undefined): number {
  const n = Math.min(MAX_WORKERS, Math.floor(hardwareConcurrency ?? 1));
  return n > 1 ? n : 0;
}

function webWorker(index: number): WorkerPort {
  const w = new Worker(new URL('./core_pool_worker_browser.ts', import.meta.url), {
    type: 'module',
    name: `v1x-core-${index}`,
  });
  return {
    postMessage: (m, transfer) => w.postMessage(m, transfer ?? []),
    onMessage: (h) => {
      w.onmessage = (ev: MessageEvent) => h(ev.data);
    },
    onError: (h) => {
      w.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        h(new Error(`a core worker failed: ${ev.message || 'could not start'}`));
      };
    },
    terminate: async () => w.terminate(),
  };
}

/** Starts the page's core pool, or returns null when this machine has one core. */
export async function startBrowserCorePool(init: CorePoolInit, threads?: number): Promise<CorePool | null> {
  const n = threads ?? poolSize(globalThis.navigator?.hardwareConcurrency);
  if (n < 1) return null;
  let i = 0;
  return CorePool.start(
    () => webWorker(i++),
    n,
    init,
    `Web Workers (navigator.hardwareConcurrency ${globalThis.navigator?.hardwareConcurrency ?? '?'})`,
  );
}
