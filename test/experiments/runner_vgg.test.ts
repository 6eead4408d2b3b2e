/**
 * The runner's task-driven cores (issue 14) on a tiny simulated scan (18x32 images): `vgg_random` (VGG16 to conv2_2
 * with torchvision's init from the cell's seed) and `vgg` (the weights of a torchvision-layout VGG16 state_dict,
 * here one with only the kept convs, made in memory), each cell's BatchNorm fitted to its own training images
 * (experiments/vgg_core.ts: the convs once per weights, the normalization per cell). Cells finish with finite
 * scores and no tensors are left; the pretrained cells of both seeds share one set of weights; a spec with a
 * `vgg` core and no model.vgg16 is refused naming the key.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { runExperiment } from '../../src/experiments/runner';
import { parseExperimentSpec } from '../../src/experiments/spec';
import type { StateDict } from '../../src/io/host_tensor';
import { loadScan, openZipScan, type Scan } from '../../src/io/scan';
import { saveCheckpoint } from '../../src/io/torch_save';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../src/model/config';
import { randomTransferLearningStateDict } from '../../src/model/vgg_weights';
import { writeScanZip } from '../../src/sim/scan_writer';
import { simulateV1Scan } from '../../src/sim/v1_scan';

const CONFIG: ModelConfig = { ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig), input_shape: [1, 18, 32] };

describe('runner: vgg and vgg_random cores', () => {
  let scan: Scan;
  let vgg16: Uint8Array;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    const v = simulateV1Scan({
      animalSeed: 21,
      nNeurons: 8,
      imageShape: [1, 18, 32],
      nTrain: 60,
      nValidation: 16,
      nTest: 5,
      testRepeats: 2,
      name: 'static-vgg-21',
    });
    scan = await loadScan(await openZipScan(await writeScanZip(v.scan), 'static-vgg-21.zip'));
    // torchvision's layout: features.<i>.weight / .bias (only the kept convs; the reader needs no more)
    const tv: StateDict = new Map();
    for (const [k, t] of randomTransferLearningStateDict(77)) {
      const m = /TransferLearning\.(\d+)\.(weight|bias)$/.exec(k);
      if (m) tv.set(`features.${m[1]}.${m[2]}`, t);
    }
    vgg16 = await saveCheckpoint(tv);
  });

  it('runs vgg_random and vgg cells and leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const statuses: string[] = [];
    const spec = parseExperimentSpec({
      scan: 'tiny.zip',
      model: { vgg16: 'vgg16-test.pth' },
      conditions: [
        { core: 'vgg_random', readout: { kind: 'gaussian', positions: 'free' } },
        { core: 'vgg', readout: { kind: 'gaussian', positions: 'free' } },
      ],
      sizes: [30, 60],
      seeds: [4, 5],
      protocol: { max_epochs: 2, batch_size: 16 },
    });
    const r = await runExperiment(
      {
        spec,
        scans: [scan],
        config: { config: CONFIG, given: [], ignored: [] },
        vgg16: { source: vgg16, file: 'vgg16-test.pth' },
      },
      { onEvent: (e) => e.kind === 'status' && statuses.push(e.message) },
    );
    expect(r.cells.map((c) => `${c.condition}:${c.seed}:${c.size}`)).toEqual([
      'vgg_random-free:4:30',
      'vgg_random-free:4:60',
      'vgg_random-free:5:30',
      'vgg_random-free:5:60',
      'vgg-free:4:30',
      'vgg-free:4:60',
      'vgg-free:5:30',
      'vgg-free:5:60',
    ]);
    for (const c of r.cells) expect(Number.isFinite(c.test_correlation)).toBe(true);
    // the convs run once per weights: per seed for the random VGG, once for the file
    expect(statuses.filter((s) => s.startsWith('VGG16 to conv2_2'))).toEqual([
      "VGG16 to conv2_2 (random, seed 4) over the scan's images",
      "VGG16 to conv2_2 (random, seed 5) over the scan's images",
      "VGG16 to conv2_2 (vgg16-test.pth) over the scan's images",
    ]);
    expect(tf.memory().numTensors).toBe(before);
  }, 600_000);

  it('refuses a vgg core without model.vgg16', () => {
    expect(() =>
      parseExperimentSpec({ scan: 's.zip', conditions: [{ core: 'vgg' }], sizes: [10], seeds: [1] }),
    ).toThrow(/spec key 'model.vgg16' is needed: conditions\[0\] uses the pretrained VGG16 core/);
  });
});
