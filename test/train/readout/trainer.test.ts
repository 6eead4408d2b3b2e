import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import type { Scan } from '../../../src/io/scan/types';
import { TrainingControl } from '../../../src/train/optim/control';
import { buildFeatureCache } from '../../../src/train/readout/feature_cache';
import { flattenParams, readoutParams } from '../../../src/train/readout/readout_params';
import { type TrainEvent, trainReadout } from '../../../src/train/readout/trainer';
import { syntheticProblem } from '../synthetic';

const opts = { seed: 3, lr: 0.02, batchSize: 16, schedule: { maxEpochs: 6 } } as const;

function flat(r: ReturnType<Awaited<ReturnType<typeof syntheticProblem>>['fresh']>): Float32Array {
  return flattenParams(readoutParams(r));
}

describe('trainReadout', () => {
  it('learns: validation correlation rises well above its start', async () => {
    const p = await syntheticProblem();
    const res = await trainReadout(p.data, p.fresh(), { ...opts, lr: 0.005, schedule: { maxEpochs: 15 } });
    expect(res.history[0].epoch).toBe(0);
    expect(res.bestValCorrelation).toBeGreaterThan(res.history[0].valCorrelation + 0.1);
    expect(res.epochs).toBeGreaterThan(1);
  });

  it('is deterministic for a seed, and differs for another seed', async () => {
    const p = await syntheticProblem();
    const a = await trainReadout(p.data, p.fresh(), opts);
    const b = await trainReadout(p.data, p.fresh(), opts);
    expect(flat(a.readout)).toEqual(flat(b.readout));
    expect(a.history.map((h) => h.valCorrelation)).toEqual(b.history.map((h) => h.valCorrelation));
    const c = await trainReadout(p.data, p.fresh(), { ...opts, seed: 4 });
    expect(flat(c.readout)).not.toEqual(flat(a.readout));
  });

  it('pause and resume give the same result as an uninterrupted run', async () => {
    const p = await syntheticProblem();
    const plain = await trainReadout(p.data, p.fresh(), opts);
    const control = new TrainingControl(0);
    let pauses = 0;
    const onEvent = (e: TrainEvent): void => {
      if (e.kind === 'batch' && e.batch === 3 && pauses < 4) {
        pauses++;
        control.pause();
        setTimeout(() => control.resume(), 15);
      }
    };
    const paused = await trainReadout(p.data, p.fresh(), opts, onEvent, control);
    expect(pauses).toBe(4);
    expect(flat(paused.readout)).toEqual(flat(plain.readout));
    expect(paused.history.map((h) => h.loss)).toEqual(plain.history.map((h) => h.loss));
  });

  it('stop ends after the current batch and keeps the best state', async () => {
    const p = await syntheticProblem();
    const control = new TrainingControl(0);
    const res = await trainReadout(
      p.data,
      p.fresh(),
      opts,
      (e) => {
        if (e.kind === 'batch' && e.epoch === 3 && e.batch === 2) control.stop();
      },
      control,
    );
    expect(res.stopReason).toBe('stopped');
    expect(res.history.at(-1)!.epoch).toBe(2);
    expect(res.message).toMatch(/stopped/);
  });

  it('NaN in the loss stops training, keeps the best state and says why', async () => {
    const p = await syntheticProblem();
    const r0 = p.fresh();
    const before = flat(r0);
    p.data.train.responses[5] = NaN;
    const res = await trainReadout(p.data, r0, opts);
    expect(res.stopReason).toBe('non-finite-loss');
    expect(res.message).toMatch(/NaN or infinite/);
    // nothing finished an epoch: the best state is the initial one
    expect(flat(res.readout)).toEqual(before);
    expect([...flat(res.readout)].every(Number.isFinite)).toBe(true);
  });

  it('reports batch and epoch progress with lr, elapsed and remaining time', async () => {
    const p = await syntheticProblem();
    const events: TrainEvent[] = [];
    await trainReadout(p.data, p.fresh(), opts, (e) => events.push(e));
    const batches = events.filter((e) => e.kind === 'batch');
    expect(batches.length).toBeGreaterThan(0);
    const b = batches[0];
    if (b.kind !== 'batch') throw new Error('unreachable');
    expect(b.batches).toBe(Math.ceil(150 / 16));
    expect(Number.isFinite(b.loss) && b.lr === 0.02 && b.elapsedS >= 0 && b.remainingS >= 0).toBe(true);
    const epochs = events.filter((e) => e.kind === 'epoch');
    expect(epochs.length).toBeGreaterThan(1);
  });

  it('bfloat16 cache trains close to the float32 one', async () => {
    const a = await syntheticProblem({ precision: 'float32' });
    const b = await syntheticProblem({ precision: 'bfloat16' });
    const ra = await trainReadout(a.data, a.fresh(), { ...opts, lr: 0.005, schedule: { maxEpochs: 15 } });
    const rb = await trainReadout(b.data, b.fresh(), { ...opts, lr: 0.005, schedule: { maxEpochs: 15 } });
    expect(Math.abs(ra.bestValCorrelation - rb.bestValCorrelation)).toBeLessThan(0.02);
  });
});

describe('no tensor leaks', () => {
  it('tf.memory().numTensors is unchanged by caching and across epochs', async () => {
    await initNodeBackend('cpu');
    const p = await syntheticProblem();
    // a tiny tfjs "core" over a fake scan, to exercise the cache's tensor handling
    const T = 40,
      H = 8,
      W = 12;
    const images = Uint8Array.from(
      { length: T * H * W },
      (_, i) => ((Math.floor(i / (H * W)) % 30) * 7 + (i % (H * W)) * 37) % 256,
    );
    const scan = {
      nTrials: T,
      images,
      imageShape: [1, H, W],
      frameImageId: Float64Array.from({ length: T }, (_, i) => i % 30),
      normalizer: { imageMean: 100, imageStd: 50, exclude: [] },
    } as unknown as Scan;
    const w = tf.randomNormal([3, 3, 1, 4]) as tf.Tensor4D;
    const core = (x: tf.Tensor4D): tf.Tensor4D =>
      tf.elu(tf.conv2d(x.transpose([0, 2, 3, 1]) as tf.Tensor4D, w, 1, 'valid'));
    const n0 = tf.memory().numTensors;
    const cache = await buildFeatureCache(
      core,
      scan,
      Int32Array.from({ length: T }, (_, i) => i),
      { chunkSize: 7 },
    );
    expect(cache.slots).toBe(30); // repeats of the same image (same id, same bytes) share a slot
    expect(tf.memory().numTensors).toBe(n0);
    const counts: number[] = [];
    await trainReadout(p.data, p.fresh(), opts, (e) => {
      if (e.kind === 'epoch') counts.push(tf.memory().numTensors);
    });
    expect(counts.length).toBeGreaterThan(2);
    expect(new Set(counts).size).toBe(1);
    expect(counts[0]).toBe(n0);
    w.dispose();
  });
});
