/** Node worker thread of a CorePool (core_pool_node.ts): core_pool_worker.ts on worker_threads' parentPort. */
import { parentPort } from 'node:worker_threads';
import { initNodeBackend } from '../../backend/node';
import { serveCoreWorker } from './core_pool_worker';

const port = parentPort!;
serveCoreWorker(
  {
    postMessage: (m, transfer) => (transfer ? port.postMessage(m, transfer) : port.postMessage(m)),
    onMessage: (h) => port.on('message', h),
  },
  () => initNodeBackend('wasm'),
);
