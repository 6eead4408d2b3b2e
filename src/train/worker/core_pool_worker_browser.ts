/// <reference lib="webworker" />
/**
 * Web Worker of a CorePool in the page (core_pool_browser.ts, started by the training worker): core_pool_worker.ts
 * on the worker's own message port, on tfjs-wasm (the pool exists to put the WebAssembly core on every CPU core).
 */
import { selectBackend } from '../../backend/select';
import { serveCoreWorker } from './core_pool_worker';

const scope = self as unknown as DedicatedWorkerGlobalScope;
serveCoreWorker(
  {
    postMessage: (m, transfer) => scope.postMessage(m, transfer ?? []),
    onMessage: (h) => {
      scope.onmessage = (ev: MessageEvent) => h(ev.data);
    },
  },
  async () => {
    const choice = await selectBackend('wasm');
    if (choice.backend !== 'wasm') throw new Error(`WebAssembly is not available here: ${choice.reason}`);
  },
);
