/**
 * The page's inference, one entry for every view that predicts (the Prediction view's image set, the Correlations
 * evaluation, the inspector's comparison): on the WASM backend with more than one core, and a job large enough to
 * pay for starting them (POOL_MIN_IMAGES), the core runs on a pool of Web Workers (the training's pool code,
 * core_pool_browser.ts) and the readout here (pool_predict.ts); otherwise Encoder.predict on the page's backend
 * (WebGPU or WebGL: the GPU already does the core). The pool is started once per loaded model and closed with it
 * (disposeModel). `?predictPool=1` uses a pool for any job (the browser tests), `?predictPool=0` never.
 */
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../../io/host_tensor';
import type { CorePool } from '../../train/worker/core_pool';
import { poolSize, startBrowserCorePool } from '../../train/worker/core_pool_browser';
import { POOL_MIN_IMAGES, predictOnPool } from '../../train/worker/pool_predict';
import type { LoadedModel } from './model_service';

export interface PageInference {
  /** (images, neurons) eval-mode responses. */
  y: HostTensor<'float32'>;
  /** Where the core ran: 'this page' or the pool's description; and why not on a pool when one was meant to. */
  where: string;
}

type PoolChoice = 'auto' | 'always' | 'never';

function poolChoiceFromQuery(search: string): PoolChoice {
  const v = new URLSearchParams(search).get('predictPool');
  return v === '1' ? 'always' : v === '0' ? 'never' : 'auto';
}

/** The running pool (or its start, or why it could not start) of the model it was started for. */
let current: { model: LoadedModel; pool: Promise<CorePool> } | null = null;

/**
 * Eval-mode responses of the model's current readout to normalized images (B, C, H, W). `jobImages`: how many
 * images the whole job predicts, when this call is one step of it (the pool's start pays off over the job).
 */
export async function predictInPage(
  model: LoadedModel,
  images: Float32Array,
  jobImages?: number,
): Promise<PageInference> {
  const [c, h, w] = model.inputShape;
  const B = images.length / (c * h * w);
  const choice = poolChoiceFromQuery(globalThis.location?.search ?? '');
  const cores = poolSize(globalThis.navigator?.hardwareConcurrency);
  const wanted =
    tf.getBackend() === 'wasm' &&
    cores > 1 &&
    choice !== 'never' &&
    (choice === 'always' || (jobImages ?? B) >= POOL_MIN_IMAGES || current?.model === model);
  let note = '';
  if (wanted) {
    try {
      const pool = await poolFor(model);
      const y = await predictOnPool(model.encoder, pool, images, { readout: model.readoutKey });
      return { y, where: `the core on ${pool.threads} Web Workers` };
    } catch (e) {
      // a pool that failed is not tried again for this model; the page's backend does the work
      note = `; the core workers failed (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  const y = await model.encoder.predict(images, { readout: model.readoutKey, batchSize: 8 });
  return { y, where: `this page${note}` };
}

function poolFor(model: LoadedModel): Promise<CorePool> {
  if (current?.model === model) return current.pool;
  closePagePool();
  const pool = model.source.checkpointFile.arrayBuffer().then(async (bytes) => {
    const p = await startBrowserCorePool({
      checkpoint: new Uint8Array(bytes),
      name: model.source.checkpointName,
      config: model.source.configJson,
      inputShape: model.inputShape,
    });
    if (!p) throw new Error('this machine has one core');
    return p;
  });
  current = { model, pool };
  return pool;
}

/** Closes the pool (when `model` is given: only if it is that model's). */
export function closePagePool(model?: LoadedModel): void {
  if (!current || (model && current.model !== model)) return;
  const { pool } = current;
  current = null;
  pool.then(
    (p) => p.close(),
    () => {},
  );
}
