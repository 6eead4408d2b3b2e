/**
 * End-to-end training (src/train/end_to_end.ts) on two tiny simulated scans, on the wasm backend with the
 * registered gradient kernels: the loss goes down, a run is bit-for-bit reproducible from its seed, no tensors
 * leak across epochs, batches alternate between scans as neuralpredictors' LongCycler, the returned model is the
 * best one (parameters and BatchNorm statistics), a frozen core stays frozen, and the trained model survives a
 * .pth round trip. The core regularizers are checked against PyTorch in end_to_end_regularizers.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { loadScan, openZipScan } from '../../../src/io/scan';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { saveCheckpoint } from '../../../src/io/torch_save';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../src/model/config';
import type { Encoder } from '../../../src/model/encoder';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import { encoderToStateDict } from '../../../src/model/to_state_dict';
import { writeScanZip } from '../../../src/sim/scan_writer';
import { simulateV1Scan } from '../../../src/sim/v1_scan';
import { initCoreStateDict, newEncoder, xavierNormal } from '../../../src/train/end_to_end/new_model';
import { type EndToEndScan, endToEndScan } from '../../../src/train/end_to_end/scan_data';
import {
  type EndToEndEvent,
  type EndToEndOptionsInput,
  predictTierE2E,
  trainEndToEnd,
} from '../../../src/train/end_to_end/trainer';
import { meanCorrelation } from '../../../src/train/optim/losses';
import { Rng } from '../../../src/util/rng';

const IMAGE: [1, number, number] = [1, 18, 32];
const CONFIG: ModelConfig = {
  ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
  layers: 2,
  hidden_channels: 4,
  input_kern: 5,
  hidden_kern: 3,
  input_shape: [...IMAGE],
  grid_mean_predictor: { type: 'cortex', input_dimensions: 2, hidden_layers: 1, hidden_features: 8, final_tanh: true },
};
const OPTIONS: EndToEndOptionsInput = { seed: 3, batchSize: 32, lr: 0.01, schedule: { maxEpochs: 3 } };

async function tinyScan(seed: number, nTrain: number): Promise<EndToEndScan> {
  const v = simulateV1Scan({
    animalSeed: seed,
    nNeurons: 12,
    imageShape: IMAGE,
    nTrain,
    nValidation: 32,
    nTest: 6,
    testRepeats: 4,
    name: `static-tiny-${seed}`,
  });
  const source = await openZipScan(await writeScanZip(v.scan), `static-tiny-${seed}.zip`);
  return endToEndScan(await loadScan(source));
}

function fresh(scans: readonly EndToEndScan[], seed = 1): Encoder {
  return newEncoder(
    CONFIG,
    scans.map((s) => ({
      key: s.key,
      neurons: s.neurons,
      meanActivity: s.meanActivity,
      cellMotorCoordinates: s.cellMotorCoordinates,
    })),
    seed,
  );
}

async function weights(e: Encoder): Promise<Map<string, Float32Array>> {
  const sd = await encoderToStateDict(e);
  return new Map([...sd].filter(([, t]) => t.dtype === 'float32').map(([k, t]) => [k, t.data as Float32Array]));
}

describe('end-to-end training', () => {
  let scans: EndToEndScan[];
  beforeAll(async () => {
    await initNodeBackend('wasm');
    // different train sizes: 3 and 2 batches of 32, so the LongCycler repeats the smaller scan's first batch
    scans = [await tinyScan(11, 96), await tinyScan(12, 64)];
  });

  it('builds the model neuralpredictors would: xavier-normal convs, unit BatchNorm, the Laplace buffer', async () => {
    const sd = initCoreStateDict({ ...CONFIG, hidden_channels: 64, input_kern: 9, hidden_kern: 7 }, 5);
    expect([...sd.keys()]).toEqual([
      'core._input_weights_regularizer.laplace.filter',
      'core.features.layer0.conv.weight',
      ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map(
        (k) => `core.features.layer0.norm.${k}`,
      ),
      'core.features.layer1.ds_conv.in_depth_conv.weight',
      'core.features.layer1.ds_conv.spatial_conv.weight',
      'core.features.layer1.ds_conv.out_depth_conv.weight',
      ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map(
        (k) => `core.features.layer1.norm.${k}`,
      ),
    ]);
    const std = (a: Float32Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    // torch.nn.init.xavier_normal_: std = sqrt(2 / (fan_in + fan_out)), fan = channels x kernel area
    expect(
      std(sd.get('core.features.layer0.conv.weight')!.data as Float32Array) / Math.sqrt(2 / (81 + 64 * 81)),
    ).toBeCloseTo(1, 1);
    expect(
      std(sd.get('core.features.layer1.ds_conv.spatial_conv.weight')!.data as Float32Array) /
        Math.sqrt(2 / (49 + 64 * 49)),
    ).toBeCloseTo(1, 1);
    expect(std(xavierNormal([200, 100, 1, 1], new Rng(1))) / Math.sqrt(2 / 300)).toBeCloseTo(1, 1);
    expect(Array.from(sd.get('core._input_weights_regularizer.laplace.filter')!.data as Float32Array)).toEqual([
      0, -1, 0, -1, 4, -1, 0, -1, 0,
    ]);
  });

  it('lowers the loss, keeps the tensor count flat, cycles over the scans, and is reproducible', async () => {
    const run = async (): Promise<{
      events: EndToEndEvent[];
      counts: number[];
      w: Map<string, Float32Array>;
      before: number;
      after: number;
    }> => {
      const before = tf.memory().numTensors;
      const enc = fresh(scans);
      const withModel = tf.memory().numTensors;
      const events: EndToEndEvent[] = [];
      const counts: number[] = [];
      await trainEndToEnd(enc, scans, OPTIONS, (e) => {
        events.push(e);
        if (e.kind === 'epoch') counts.push(tf.memory().numTensors);
      });
      const after = tf.memory().numTensors;
      const w = await weights(enc);
      enc.dispose();
      expect(tf.memory().numTensors).toBe(before);
      return { events, counts, w, before: withModel, after };
    };
    const a = await run();
    const epochs = a.events.filter((e) => e.kind === 'epoch');
    expect(epochs.length).toBeGreaterThanOrEqual(2);
    const losses = epochs.slice(1).map((e) => e.loss);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(new Set(a.counts).size).toBe(1); // no tensor leaks from epoch to epoch
    expect(a.after).toBe(a.before);
    const batches = a.events.filter((e) => e.kind === 'batch');
    const first = batches.filter((e) => e.epoch === 1);
    // LongCycler: 2 scans x max(3, 2) batches, alternating
    expect(first.map((e) => e.scan)).toEqual([
      'static-tiny-11',
      'static-tiny-12',
      'static-tiny-11',
      'static-tiny-12',
      'static-tiny-11',
      'static-tiny-12',
    ]);
    const b = await run();
    expect(b.events.map((e) => ('loss' in e ? e.loss : e.kind))).toEqual(
      a.events.map((e) => ('loss' in e ? e.loss : e.kind)),
    );
    for (const [k, v] of a.w) expect(b.w.get(k), k).toEqual(v);
  }, 120_000);

  it('returns the best state: its validation correlation is the best one reported (parameters and BatchNorm statistics)', async () => {
    const enc = fresh(scans, 2);
    const res = await trainEndToEnd(enc, scans, { ...OPTIONS, lr: 0.03, schedule: { maxEpochs: 4 } });
    let sum = 0,
      n = 0;
    for (const s of scans) {
      const p = await predictTierE2E(enc, s.key, s.validation, s.imageShape);
      sum += meanCorrelation(p, s.validation.responses, s.neurons) * s.neurons;
      n += s.neurons;
    }
    expect(sum / n).toBeCloseTo(res.bestValCorrelation, 6);
    expect(res.bestValCorrelation).toBe(Math.max(...res.history.map((e) => e.valCorrelation)));
    enc.dispose();
  }, 120_000);

  it('with trainCore false, trains the readouts only and leaves the core (and its statistics) untouched', async () => {
    const enc = fresh(scans, 4);
    const before = await weights(enc);
    await trainEndToEnd(enc, scans, { ...OPTIONS, trainCore: false, schedule: { maxEpochs: 1 } });
    const after = await weights(enc);
    let readoutChanged = false;
    for (const [k, v] of before) {
      if (k.startsWith('core.')) expect(after.get(k), k).toEqual(v);
      else if (after.get(k)!.some((x, i) => x !== v[i])) readoutChanged = true;
    }
    expect(readoutChanged).toBe(true);
    enc.dispose();
  }, 60_000);

  it('writes a .pth that reads back to the same predictions', async () => {
    const enc = fresh(scans, 6);
    await trainEndToEnd(enc, scans, { ...OPTIONS, schedule: { maxEpochs: 1, restoreBest: false } });
    const bytes = await saveCheckpoint(await encoderToStateDict(enc));
    const back = encoderFromStateDict(await readCheckpoint(bytes, 'model.pth'), CONFIG, 'model.pth');
    for (const s of scans) {
      const p = await predictTierE2E(enc, s.key, s.validation, s.imageShape);
      const q = await predictTierE2E(back, s.key, s.validation, s.imageShape);
      expect(q).toEqual(p);
    }
    expect(back.core.layers[0].norm!.numBatchesTracked).toBe(enc.core.layers[0].norm!.numBatchesTracked);
    expect(enc.core.layers[0].norm!.numBatchesTracked).toBe(6); // 1 epoch = 6 batches of training-mode BatchNorm
    enc.dispose();
    back.dispose();
  }, 60_000);
});
