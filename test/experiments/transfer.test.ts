/**
 * The transfer experiment's cells (src/train/end_to_end_transfer.ts) on a tiny simulated scan: nested training
 * subsets inside the train tier, and one frozen-core cell and one direct cell that train, score on the test tier
 * and leave no tensors behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { cacheForTransfer, directCell, frozenCoreCell, trainingSubset } from '../../src/experiments/transfer';
import { loadScan, openZipScan, type Scan, tierIndices } from '../../src/io/scan';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../src/model/config';
import { writeScanZip } from '../../src/sim/scan_writer';
import { simulateV1Scan } from '../../src/sim/v1_scan';
import { newEncoder } from '../../src/train/end_to_end/new_model';

const CONFIG: ModelConfig = {
  ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
  layers: 2,
  hidden_channels: 4,
  input_kern: 5,
  hidden_kern: 3,
  input_shape: [1, 18, 32],
  grid_mean_predictor: { type: 'cortex', input_dimensions: 2, hidden_layers: 1, hidden_features: 8, final_tanh: true },
};

describe('transfer experiment cells', () => {
  let scan: Scan;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    const v = simulateV1Scan({
      animalSeed: 21,
      nNeurons: 10,
      imageShape: [1, 18, 32],
      nTrain: 80,
      nValidation: 24,
      nTest: 6,
      testRepeats: 4,
      name: 'static-tiny-21',
    });
    scan = await loadScan(await openZipScan(await writeScanZip(v.scan), 'static-tiny-21.zip'));
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
    const core = newEncoder(CONFIG, [], 5);
    const cache = await cacheForTransfer((x) => core.coreForward(x), scan);
    core.dispose();
    const frozen = await frozenCoreCell(cache, scan, trials, {
      condition: 'random',
      config: CONFIG,
      train: { seed: 3, batchSize: 16, schedule: { maxEpochs: 3 } },
    });
    const direct = await directCell(scan, trials, {
      config: CONFIG,
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
