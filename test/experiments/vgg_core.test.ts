/**
 * The VGG core for experiment cells (experiments/vgg_core.ts) on a tiny simulated scan (18x32 images, 110 trials):
 * a cell's cache made from the shared pre-BatchNorm cache (`vggPreNormCache(...).cellCache(trials)`) holds the same
 * numbers as the direct path (the BatchNorm fitted to the cell's training images, the frozen core run over every
 * image: `vggFrozenCore` + `cacheForTransfer`), within 1e-4 + 1e-4|ref|, for two training sets; and a random core's
 * seed changes the maps. No tensors are left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { cacheForTransfer, trainingSubset } from '../../src/experiments/transfer';
import { vggFrozenCore, vggPreNormCache } from '../../src/experiments/vgg_core';
import { loadScan, openZipScan, type Scan } from '../../src/io/scan';
import { normalizedImages } from '../../src/io/scan/normalize';
import { tierIndices } from '../../src/io/scan/tiers';
import { writeScanZip } from '../../src/sim/scan_writer';
import { simulateV1Scan } from '../../src/sim/v1_scan';
import { expectClose } from '../model/fixture';

describe('VGG core caches for experiment cells', () => {
  let scan: Scan;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    const v = simulateV1Scan({
      animalSeed: 21,
      nNeurons: 6,
      imageShape: [1, 18, 32],
      nTrain: 80,
      nValidation: 20,
      nTest: 5,
      testRepeats: 2,
      name: 'static-vgg-21',
    });
    scan = await loadScan(await openZipScan(await writeScanZip(v.scan), 'static-vgg-21.zip'));
  });

  it('a cell cache from the shared pre-BatchNorm maps equals fitting the BatchNorm and running the core', async () => {
    const before = tf.memory().numTensors;
    const pre = await vggPreNormCache({ weights: { kind: 'random', seed: 3 }, scan });
    expect(pre.preNorm.geometry).toEqual({ height: 9, width: 16, channels: 128 });
    const trialsOf = [trainingSubset(scan, 30, 0), trainingSubset(scan, 80, 0)];
    const all = ['train', 'validation', 'test'].flatMap((t) => Array.from(tierIndices(scan, t)));
    for (const trials of trialsOf) {
      const fast = pre.cellCache(trials);
      const core = await vggFrozenCore({
        weights: { kind: 'random', seed: 3 },
        images: normalizedImages(scan, trials),
        imageShape: scan.imageShape,
      });
      const direct = await cacheForTransfer(core.run, scan);
      core.dispose();
      let worst = 0;
      let positive = 0;
      for (const t of all) {
        const a = fast.map(t);
        const b = direct.map(t);
        worst = Math.max(worst, expectClose(`trial ${t}`, a, b, 1e-4, 1e-4));
        positive += b.filter((v) => v > 0).length / b.length / all.length;
      }
      console.log(
        `${trials.length} training images: cell cache vs fitted core, max |diff| ${worst.toExponential(2)}; ${(100 * positive).toFixed(0)}% of values > 0`,
      );
      expect(positive).toBeGreaterThan(0.2);
    }
    const other = await vggPreNormCache({ weights: { kind: 'random', seed: 4 }, scan });
    expect(other.preNorm.map(all[0])[0]).not.toBe(pre.preNorm.map(all[0])[0]);
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);
});
