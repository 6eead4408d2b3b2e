/**
 * Starting the training Web Worker and talking to it. Vite bundles src/train/worker.ts as its own module
 * worker (the `new URL(..., import.meta.url)` form is what it recognizes).
 */
import type { ControlMessage, FromWorker, StartMessage } from '../../train/worker/protocol';

export interface TrainingWorker {
  post(m: ControlMessage): void;
  terminate(): void;
}

export function startTrainingWorker(start: StartMessage, onMessage: (m: FromWorker) => void, onFailure: (message: string) => void): TrainingWorker {
  const w = new Worker(new URL('../../train/worker/worker.ts', import.meta.url), { type: 'module', name: 'v1x-training' });
  w.onmessage = (ev: MessageEvent<FromWorker>) => onMessage(ev.data);
  w.onerror = (ev: ErrorEvent) => {
    ev.preventDefault();
    onFailure(`the training worker failed: ${ev.message || 'could not start'}`);
  };
  w.onmessageerror = () => onFailure('a message from the training worker could not be read');
  // The checkpoint bytes are a fresh copy: transfer them instead of cloning again.
  w.postMessage(start, [start.checkpoint.bytes.buffer as ArrayBuffer]);
  return {
    post: (m) => w.postMessage(m),
    terminate: () => w.terminate(),
  };
}
