/**
 * Inference with the core on 2 Node worker threads and the readout in this thread (src/train/worker/pool_predict.ts)
 * on the Sensorium SOTA checkpoint: the same responses as Encoder.predict in this thread (the workers run the fast
 * core with BatchNorm folded, this thread tfjs's ops: float32 rounding apart, 1e-5 relative to the responses' scale)
 * and as neuralpredictors (the parity tests' tolerance, 1e-4 + 1e-4 |ref|), in chunks of 2 images so that the
 * pipeline (the next chunk's core while this one is read out) runs; no tensor is left behind. The Gaussian readout
 * is read out by the fused WebAssembly kernel, a factorized one (test/fixtures/factorized/model) by tfjs ops: both
 * paths against neuralpredictors.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { toFloat32 } from '../../../src/io/host_tensor';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { parseModelConfig } from '../../../src/model/config';
import type { Encoder } from '../../../src/model/encoder';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import type { CorePool } from '../../../src/train/worker/core_pool';
import { NodeCorePool } from '../../../src/train/worker/core_pool_node';
import { predictOnPool } from '../../../src/train/worker/pool_predict';
import { FIXTURES } from '../../fixtures/paths';
import { maxRelDiff, npy, SOTA, sotaStateDict } from '../helpers';

/** The largest |a - ref| - rtol |ref| (below atol: within the parity tests' tolerance). */
function excess(a: ArrayLike<number>, ref: ArrayLike<number>, rtol = 1e-4): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(a[i] - ref[i]) - rtol * Math.abs(ref[i]));
  return worst;
}

describe('inference with the core on the pool', () => {
  let encoder: Encoder;
  let pool: CorePool;
  let images: Float32Array;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    const configJson = JSON.parse(readFileSync(`${SOTA}/config.json`, 'utf8'));
    encoder = encoderFromStateDict(await sotaStateDict(), parseModelConfig(configJson, 'config.json'), 'model.pth');
    images = toFloat32(npy(`${SOTA}/inputs.npy`));
    pool = await NodeCorePool.create(readFileSync(`${SOTA}/model.pth`), 'model.pth', configJson, [1, 36, 64], 2);
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
    encoder?.dispose();
  });

  it('gives the responses of Encoder.predict and of neuralpredictors', async () => {
    const here = await encoder.predict(images, { batchSize: 8 });
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const there = await predictOnPool(encoder, pool, images, { perWorker: 1, onProgress: (d) => progress.push(d) });
    expect(tf.memory().numTensors).toBe(before);
    expect(there.shape).toEqual(here.shape);
    expect(progress).toEqual([2, 4, 6, 8]);
    const rel = maxRelDiff(there.data as Float32Array, here.data as Float32Array);
    console.log(`8 images, 7776 neurons: pool vs this thread, max relative difference ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-5);
    expect(excess(there.data, toFloat32(npy(`${SOTA}/responses.npy`)))).toBeLessThan(1e-4);
  }, 120_000);

  it("a factorized readout (tfjs ops): neuralpredictors' responses", async () => {
    const dir = `${FIXTURES}/factorized/model`;
    const configJson = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
    const bytes = readFileSync(`${dir}/model.pth`);
    const sd = await readCheckpoint(new Uint8Array(bytes), 'model.pth');
    const enc = encoderFromStateDict(sd, parseModelConfig(configJson, 'config.json'), 'model.pth');
    const small = await NodeCorePool.create(bytes, 'model.pth', configJson, [1, 20, 32], 2);
    try {
      const x = toFloat32(npy(`${dir}/images.npy`));
      const y = await predictOnPool(enc, small, x, { perWorker: 1 });
      expect(y.shape).toEqual([3, 12]);
      expect(excess(y.data, toFloat32(npy(`${dir}/responses.npy`)))).toBeLessThan(1e-4);
    } finally {
      await small.close();
      enc.dispose();
    }
  }, 120_000);

  it('refuses images that are not whole and a pool whose maps the readout cannot read', async () => {
    await expect(predictOnPool(encoder, pool, new Float32Array(100))).rejects.toThrow(/not a whole number of 1x36x64/);
    const wrong = { outputShape: [32, 28, 56] as const, threads: 2, runSplit: pool.runSplit.bind(pool) };
    await expect(predictOnPool(encoder, wrong, images)).rejects.toThrow(/gives 32x28x56 maps.*reads 64x28x56/);
  });
});
