/**
 * Every core and readout the runner offers, on a tiny simulated scan (fast): a loaded core (an initialized core's
 * state_dict standing in for a checkpoint) with free positions, a random core (BatchNorm fitted per cell) with
 * retinotopy, direct training with free positions; and the errors that stop a spec the scan cannot serve.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { runExperiment } from '../../src/experiments/runner';
import type { Scan } from '../../src/io/scan';
import { tinyInputs, tinyScan } from './tiny_scan';

const SPEC = {
  scan: 'tiny.zip',
  model: { checkpoint: 'core.pth' },
  conditions: [
    { core: 'loaded', readout: { kind: 'gaussian', positions: 'free' } },
    { core: 'random', readout: 'gaussian' },
    { core: 'direct', readout: { kind: 'gaussian', positions: 'free' } },
  ],
  sizes: [30, 60],
  seeds: [4],
  protocol: { max_epochs: 2, batch_size: 16 },
};

describe('runner conditions', () => {
  let scan: Scan;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    scan = await tinyScan(21, 10);
  });

  const inputs = (spec: unknown) => tinyInputs(spec, [scan]);

  it('runs loaded-free, random and direct-free cells and leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const r = await runExperiment(inputs(SPEC));
    expect(r.cells.map((c) => `${c.condition}:${c.size}`)).toEqual([
      'loaded-free:30',
      'loaded-free:60',
      'random:30',
      'random:60',
      'direct-free:30',
      'direct-free:60',
    ]);
    for (const c of r.cells) {
      expect(Number.isFinite(c.test_correlation)).toBe(true);
      expect(c.epochs).toBe(2);
    }
    expect(r.cells[2].readout).toEqual({ kind: 'gaussian', positions: 'retinotopy' });
    expect(r.summaries[0].fraction_oracle).toMatchObject({ n: 1, low: null, high: null });
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('with maxCells runs only that many new cells and still reports cells finished before', async () => {
    const full = await runExperiment(inputs(SPEC));
    const later = full.cells.filter((c) => c.condition === 'direct-free');
    const ran: string[] = [];
    const r = await runExperiment(inputs(SPEC), {
      done: later,
      maxCells: 1,
      onCell: (c) => {
        ran.push(c.key);
      },
    });
    expect(ran).toEqual([full.cells[0].key]);
    expect(r.complete).toBe(false);
    expect(r.cells.map((c) => c.key)).toEqual([full.cells[0].key, ...later.map((c) => c.key)]);
    expect(r.cells[0]).toEqual({ ...full.cells[0], seconds: r.cells[0].seconds });
  }, 120_000);

  it('refuses sizes the train tier cannot give, naming the key', async () => {
    await expect(runExperiment(inputs({ ...SPEC, sizes: [30, 81] }))).rejects.toThrow(
      /spec key 'sizes\[1\]': 81 images, but the train tier of static-tiny-21 has 80/,
    );
  });
});
