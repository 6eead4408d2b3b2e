/**
 * The transfer experiment's cells (src/train/end_to_end_transfer.ts) on a tiny simulated scan: nested training
 * subsets inside the train tier, and one frozen-core cell and one direct cell that train, score on the test tier
 * and leave no tensors behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { cacheForTransfer, directCell, frozenCoreCell, trainingSubset } from '../../src/experiments/transfer';
import { type Scan, tierIndices } from '../../src/io/scan';
import { newEncoder } from '../../src/train/end_to_end/new_model';
import { TINY_CONFIG, tinyScan } from './tiny_scan';

describe('transfer experiment cells', () => {
  let scan: Scan;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    scan = await tinyScan(21, 10);
  });

  it('draws nested subsets of the train tier', () => {
    const train = new Set(tierIndices(scan, 'train'));
    const small = trainingSubset(scan, 20, 7);
    const large = trainingSubset(scan, 50, 7);
    expect(small.length).toBe(20);
    expect(new Set(large).size).toBe(50);
    for (const t of large) expect(train.has(t)).toBe(true);
    for (const t of small) expect(large.includes(t)).toBe(true);
    expect(trainingSubset(scan, 20, 8)).not.toEqual(small);
    expect(() => trainingSubset(scan, 81, 7)).toThrow(/does not fit/);
  });

  it('runs a frozen-core cell and a direct cell and scores them on the test tier', async () => {
    const before = tf.memory().numTensors;
    const trials = trainingSubset(scan, 48, 7);
    const core = newEncoder(TINY_CONFIG, [], 5);
    const cache = await cacheForTransfer((x) => core.coreForward(x), scan);
    core.dispose();
    const frozen = await frozenCoreCell(cache, scan, trials, {
      condition: 'random',
      config: TINY_CONFIG,
      train: { seed: 3, batchSize: 16, schedule: { maxEpochs: 3 } },
    });
    const direct = await directCell([scan], [trials], {
      config: TINY_CONFIG,
      seed: 4,
      train: { batchSize: 16, schedule: { maxEpochs: 2 } },
    });
    for (const c of [frozen, direct]) {
      expect(c.images).toBe(48);
      expect(c.test.neurons).toBe(10);
      expect(c.test.trials).toBe(24); // 6 test images x 4 repeats
      expect(Number.isFinite(c.test.test_correlation)).toBe(true);
      expect(c.epochs).toBeGreaterThan(0);
    }
    expect(frozen.condition).toBe('random');
    expect(direct.condition).toBe('direct');
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
