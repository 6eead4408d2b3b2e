/**
 * A feature cache without a host copy (hostCopy: false, for a WebGPU readout engine that keeps the maps on the GPU):
 * every chunk's core output goes to onCoreOutput and is not read back, the cache holds no host memory and says so
 * when a map is asked for, nothing leaks; a core that runs elsewhere (host arrays) is refused.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import type { Scan } from '../../../src/io/scan/types';
import { buildFeatureCache } from '../../../src/train/readout/feature_cache';

const T = 20,
  H = 6,
  W = 9;

function fakeScan(): Scan {
  // trial t shows image t % 15: the same bytes and id, so repeats share a slot
  const images = Uint8Array.from(
    { length: T * H * W },
    (_, i) => ((Math.floor(i / (H * W)) % 15) * 7 + (i % (H * W)) * 37) % 256,
  );
  return {
    nTrials: T,
    images,
    imageShape: [1, H, W],
    frameImageId: Float64Array.from({ length: T }, (_, i) => i % 15),
    normalizer: { imageMean: 100, imageStd: 50, exclude: [] },
  } as unknown as Scan;
}

describe('feature cache without a host copy', () => {
  it('hands every chunk to onCoreOutput, keeps no host maps, and leaks no tensors', async () => {
    await initNodeBackend('cpu');
    const w = tf.randomNormal([3, 3, 1, 4]) as tf.Tensor4D;
    const core = (x: tf.Tensor4D): tf.Tensor4D =>
      tf.elu(tf.conv2d(x.transpose([0, 2, 3, 1]) as tf.Tensor4D, w, 1, 'valid'));
    const seen: Array<[number, number, number, number[]]> = [];
    const n0 = tf.memory().numTensors;
    const trials = Int32Array.from({ length: T }, (_, i) => i);
    const cache = await buildFeatureCache(core, fakeScan(), trials, {
      chunkSize: 4,
      hostCopy: false,
      onCoreOutput: async (y, start, slots) => {
        seen.push([start, y.shape[0], slots, y.shape.slice(1)]);
      },
    });
    expect(tf.memory().numTensors).toBe(n0);
    w.dispose();
    expect(cache.hostless).toBe(true);
    expect(cache.complete).toBe(true);
    expect(cache.bytes).toBe(0);
    expect(cache.slots).toBe(15);
    // the chunks cover slots 0..14 once, in order, each with the core's output shape
    expect(seen.map((s) => s[0])).toEqual([0, 4, 8, 12]);
    expect(seen.reduce((n, s) => n + s[1], 0)).toBe(15);
    for (const s of seen) expect([s[2], ...s[3]]).toEqual([15, H - 2, W - 2, 4]);
    expect(() => cache.map(0, new Float32Array(cache.mapSize))).toThrow(/GPU only/);
    expect(cache.has(3)).toBe(true);
  });

  it('refuses a core that runs elsewhere (its outputs are host arrays)', async () => {
    const hostCore = {
      outputShape: [4, H - 2, W - 2] as [number, number, number],
      threads: 1,
      runHost: async (_x: Float32Array, n: number) => new Float32Array(n * 4 * (H - 2) * (W - 2)),
    };
    await expect(buildFeatureCache(hostCore, fakeScan(), [0, 1, 2], { hostCopy: false })).rejects.toThrow(
      /needs a core on tfjs/,
    );
  });
});
