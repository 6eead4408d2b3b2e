/**
 * The core pool (src/train/worker/core_pool.ts) on Node worker threads: 2 workers, each its own tfjs-wasm,
 * give the same core outputs as the fast core in this thread (the same code on the same backend: equal up to
 * float32 rounding, tolerance 1e-5 relative to the output's scale), for chunks routed to the least busy worker
 * and for one batch split across both; a bad request is an error, not a hang. The page's Web Worker transport
 * is tested in the browser (test/e2e/core_pool.e2e.mjs).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { toFloat32 } from '../../src/io/host_tensor';
import { type LoadedCore, loadCoreFromFiles } from '../../src/train/frozen_core_files';
import type { CorePool } from '../../src/train/worker/core_pool';
import { NodeCorePool } from '../../src/train/worker/core_pool_node';
import { maxRelDiff, npy, SOTA } from './helpers';

describe('core pool on worker threads', () => {
  let loaded: LoadedCore;
  let pool: CorePool;
  let images: Float32Array;
  let expected: Float32Array;
  const n = 8;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    loaded = await loadCoreFromFiles(`${SOTA}/model.pth`, `${SOTA}/config.json`);
    images = toFloat32(npy(`${SOTA}/inputs.npy`));
    expect(images.length).toBe(n * 36 * 64);
    const y = tf.tidy(() => loaded.core(tf.tensor4d(images, [n, 1, 36, 64])));
    expected = y.dataSync() as Float32Array;
    y.dispose();
    pool = await NodeCorePool.create(
      loaded.bytes,
      'model.pth',
      JSON.parse(readFileSync(`${SOTA}/config.json`, 'utf8')),
      [1, 36, 64],
      2,
    );
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
    loaded?.dispose();
  });

  const close = (got: Float32Array, want: Float32Array): void => {
    expect(maxRelDiff(got, want)).toBeLessThanOrEqual(1e-5);
  };

  it('describes its workers and the output shape', () => {
    expect(pool.threads).toBe(2);
    expect(pool.description).toMatch(/^2 worker threads: /);
    expect(pool.outputShape).toEqual([64, 28, 56]);
  });

  it('chunks in flight on both workers give the in-thread outputs', async () => {
    const per = 36 * 64,
      m = 64 * 28 * 56;
    const outs = await Promise.all(
      [0, 3, 5].map((s, i, a) => {
        const e = i + 1 < a.length ? a[i + 1] : n;
        return pool.runHost(images.slice(s * per, e * per), e - s).then((o) => ({ s, o }));
      }),
    );
    for (const { s, o } of outs) close(o, expected.subarray(s * m, s * m + o.length));
  }, 60_000);

  it('one batch split across the workers gives the in-thread outputs', async () => {
    close(await pool.runSplit(images, n), expected);
  }, 60_000);

  it('a malformed request is reported as an error', async () => {
    await expect(pool.runHost(new Float32Array(10), 1)).rejects.toThrow(/core worker/);
  }, 60_000);
});
