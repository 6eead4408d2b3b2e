/**
 * Fine-tuning the core too (src/train/finetune_core.ts) on the bundled demo core (3 layers, 16 channels) with a
 * tiny simulated scan: the core's weights and BatchNorm running statistics move, the tensor count stays flat
 * across epochs, and the exported full model, read back by our checkpoint reader and model loader, predicts what
 * the trained model predicted (and the pretrained core with the same readout would not).
 */

import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import type { HostTensor, StateDict } from '../../../src/io/host_tensor';
import { loadScan, normalizedImages, openZipScan, type Scan } from '../../../src/io/scan';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { type ModelConfig, parseModelConfig } from '../../../src/model/config';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import { coreToStateDict } from '../../../src/model/to_state_dict';
import { writeScanZip } from '../../../src/sim/scan_writer';
import { simulateV1Scan } from '../../../src/sim/v1_scan';
import { type CoreFineTuneOutcome, fineTuneCoreAndReadout } from '../../../src/train/end_to_end/finetune_core';
import { exportFullModelPth } from '../../../src/train/export';

const DEMO = new URL('../../../public/demo/', import.meta.url).pathname;

function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  const x = a.data as ArrayLike<number>,
    y = b.data as ArrayLike<number>;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(Number(x[i]) - Number(y[i])));
  return m;
}

async function predictWith(
  sd: StateDict,
  config: ModelConfig,
  scan: Scan,
  trials: Int32Array,
  key: string,
): Promise<Float32Array> {
  const enc = encoderFromStateDict(sd, config, 'full.pth', { trainable: false });
  try {
    return (await enc.predict(normalizedImages(scan, trials), { readout: key })).data;
  } finally {
    enc.dispose();
  }
}

describe('fine-tuning the core too', () => {
  let scan: Scan;
  let pretrained: StateDict;
  let config: ModelConfig;
  let outcome: CoreFineTuneOutcome;
  const tensorsAtEpoch: number[] = [];

  beforeAll(async () => {
    await initNodeBackend('wasm');
    const v = simulateV1Scan({
      animalSeed: 21,
      nNeurons: 24,
      nTrain: 96,
      nValidation: 32,
      nTest: 6,
      testRepeats: 4,
      name: 'static-tiny-21',
    });
    scan = await loadScan(await openZipScan(await writeScanZip(v.scan), 'static-tiny-21.zip'));
    pretrained = await readCheckpoint(readFileSync(`${DEMO}model.pth`), 'model.pth');
    config = parseModelConfig(JSON.parse(readFileSync(`${DEMO}config.json`, 'utf8')), 'config.json');
    outcome = await fineTuneCoreAndReadout({
      stateDict: pretrained,
      config,
      file: 'model.pth',
      scan,
      train: { seed: 3, batchSize: 32, schedule: { maxEpochs: 3, restoreBest: false } },
      onEvent: (e) => {
        if (e.kind === 'epoch') tensorsAtEpoch.push(tf.memory().numTensors);
      },
    });
  }, 120_000);

  it('trains three epochs with the core in training mode', () => {
    expect(outcome.result.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
    expect(outcome.result.steps).toBe(3 * 3); // 96 images in batches of 32, one step per batch
    expect(outcome.timings.cacheS).toBe(0);
    expect(outcome.test?.evaluation.summary.neurons).toBe(24);
    expect(outcome.test?.evaluation.summary.trials).toBe(24);
  });

  it('changes the core weights and the BatchNorm running statistics', async () => {
    const tuned = await coreToStateDict(outcome.encoder.core);
    const keys = [...tuned.keys()];
    expect(keys.filter((k) => k.endsWith('running_mean')).length).toBe(3);
    for (const k of keys) {
      const before = pretrained.get(k)!;
      expect(before, k).toBeDefined();
      const after = tuned.get(k)!;
      if (k.endsWith('num_batches_tracked')) {
        // one training-mode forward per batch: 9 batches on top of the pretrained count
        expect(Number((after.data as BigInt64Array)[0]) - Number((before.data as BigInt64Array)[0]), k).toBe(9);
      } else {
        expect(maxAbsDiff(after, before), k).toBeGreaterThan(1e-6);
      }
    }
  });

  it('keeps the tensor count flat across epochs', () => {
    expect(tensorsAtEpoch).toHaveLength(4);
    expect(new Set(tensorsAtEpoch).size).toBe(1); // the same count after the evaluation before training and after every epoch
  });

  it('exports a full model that our loader reads back to the same predictions, fine-tuned core included', async () => {
    const { encoder, readout, dataKey, test } = outcome;
    const sd = await readCheckpoint(await exportFullModelPth(encoder, readout, dataKey), 'full.pth');
    const ref = test!.predictions;
    const y = await predictWith(sd, config, scan, test!.trials, dataKey);
    let worst = 0;
    for (let i = 0; i < ref.length; i++)
      worst = Math.max(worst, Math.abs(y[i] - ref[i]) - (1e-4 + 1e-4 * Math.abs(ref[i])));
    expect(worst).toBeLessThanOrEqual(0);
    // the same readout on the pretrained core predicts something else: the comparison above sees the core
    const mixed: StateDict = new Map([...sd].map(([k, v]) => [k, k.startsWith('core.') ? pretrained.get(k)! : v]));
    const z = await predictWith(mixed, config, scan, test!.trials, dataKey);
    let differ = 0;
    for (let i = 0; i < ref.length; i++) differ = Math.max(differ, Math.abs(z[i] - ref[i]));
    expect(differ).toBeGreaterThan(1e-3);
    encoder.dispose();
    expect(tf.memory().numTensors).toBeLessThan(10);
  });
});
