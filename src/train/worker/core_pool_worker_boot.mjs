// Entry of a Node CorePool worker thread: registers tsx's TypeScript loader in this thread (execArgv
// --import does not reach worker entry points in Node 20), then runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./core_pool_worker_node.ts');
