/**
 * The runner's neuron split (Lurz Fig. 4), data partitions and the factorized readout on a tiny simulated scan:
 * the split core trains on the core set and is scored through the transfer set; each partition gets its own
 * nested training sets; factorized readouts train on frozen and direct cores; the neuron subset keeps every
 * per-neuron array aligned with the original scan.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { cellKey, experimentScans, runExperiment } from '../../src/experiments/runner';
import { parseExperimentSpec } from '../../src/experiments/spec';
import { trainingSubset } from '../../src/experiments/transfer';
import type { Scan } from '../../src/io/scan';
import { drawNeurons, scanWithNeurons } from '../../src/io/scan/neuron_subset';
import { normalizedResponses } from '../../src/io/scan/normalize';
import { TINY_CONFIG, tinyScan } from './tiny_scan';

describe('neuron split, partitions, factorized readout', () => {
  let scan: Scan;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    scan = await tinyScan(22, 14);
  });

  it('a neuron subset keeps responses, normalization, coordinates and ids of exactly those neurons', () => {
    const rows = [9, 2, 5];
    const sub = scanWithNeurons(scan, rows);
    expect(sub.nNeurons).toBe(3);
    const trials = Int32Array.from([0, 7, 50]);
    const a = normalizedResponses(scan, trials);
    const b = normalizedResponses(sub, trials);
    trials.forEach((_, t) => {
      rows.forEach((r, j) => {
        expect(b[t * 3 + j]).toBe(a[t * scan.nNeurons + r]);
      });
    });
    rows.forEach((r, j) => {
      expect(sub.unitIds[j]).toBe(scan.unitIds[r]);
      expect(Array.from(sub.cellMotorCoordinates!.subarray(3 * j, 3 * j + 3))).toEqual(
        Array.from(scan.cellMotorCoordinates!.subarray(3 * r, 3 * r + 3)),
      );
    });
    expect(sub.images).toBe(scan.images); // trials are shared, not copied
    expect(() => scanWithNeurons(scan, [1, 1])).toThrow(/listed twice/);
    expect(() => scanWithNeurons(scan, [14])).toThrow(/not one of its 14 neurons/);
  });

  it('draws disjoint seeded neuron sets; a smaller later set keeps the earlier ones', () => {
    const [a, b] = drawNeurons(14, [6, 8], 3);
    expect(new Set([...a, ...b]).size).toBe(14);
    const [a2, b2] = drawNeurons(14, [6, 4], 3);
    expect(Array.from(a2)).toEqual(Array.from(a));
    for (const x of b2) expect(Array.from(b)).toContain(x);
    expect(Array.from(drawNeurons(14, [6], 4)[0])).not.toEqual(Array.from(a));
    expect(() => drawNeurons(14, [10, 5], 1)).toThrow(/15 neurons asked, the scan has 14/);
  });

  it('partitions give different nested training sets', () => {
    const p0 = trainingSubset(scan, 30, 0);
    const p1 = trainingSubset(scan, 30, 1);
    expect(Array.from(p0)).not.toEqual(Array.from(p1));
    const big = new Set(trainingSubset(scan, 60, 1));
    for (const t of p1) expect(big.has(t)).toBe(true);
  });

  it('runs a split core, direct and factorized cells over two partitions, tensors freed', async () => {
    const spec = parseExperimentSpec({
      scan: 'tiny.zip',
      conditions: [
        { name: 'split', core: 'split', readout: { kind: 'gaussian', positions: 'free' } },
        { name: 'direct', core: 'direct', readout: { kind: 'gaussian', positions: 'free' } },
        { core: 'split', readout: 'factorized' },
        { core: 'direct', readout: 'factorized' },
      ],
      split: { seed: 5, core_neurons: 8, transfer_neurons: 6, core_images: 60 },
      sizes: [30],
      seeds: [4],
      partitions: [0, 1],
      protocol: { max_epochs: 2, batch_size: 16 },
    });
    expect(spec.conditions.map((c) => c.name)).toEqual(['split', 'direct', 'split-factorized', 'direct-factorized']);
    const {
      scans: [transferSet],
      coreScan,
    } = experimentScans(spec, [scan]);
    expect(transferSet.nNeurons).toBe(6);
    expect(coreScan!.nNeurons).toBe(8);
    const before = tf.memory().numTensors;
    const r = await runExperiment({ spec, scans: [scan], config: { config: TINY_CONFIG, given: [], ignored: [] } });
    expect(r.neurons).toBe(6);
    expect(r.split_core).toMatchObject({ core_neurons: 8, transfer_neurons: 6, images: 60, epochs: 2, hit_cap: true });
    expect(r.cells.map((c) => `${c.condition}:p${c.partition}`)).toEqual([
      'split:p0',
      'split:p1',
      'direct:p0',
      'direct:p1',
      'split-factorized:p0',
      'split-factorized:p1',
      'direct-factorized:p0',
      'direct-factorized:p1',
    ]);
    for (const c of r.cells) {
      expect(Number.isFinite(c.test_correlation)).toBe(true);
      expect(c.key).toBe(cellKey(spec, c.hash, c.condition, c.partition!, 30, 4));
    }
    // the two partitions' cells differ (different training images), and each summary pools them
    expect(r.cells[0].test_correlation).not.toBe(r.cells[1].test_correlation);
    expect(r.summaries[0]).toMatchObject({ runs: 2, partitions: [0, 1], seeds: [4] });
    expect(r.summaries[0].fraction_oracle.n).toBe(2);
    expect(r.cells[4].readout).toEqual({ kind: 'factorized' });
    expect(tf.memory().numTensors).toBe(before);
    // resumed with every cell done: the split core is not trained again, and the earlier training is reported
    const events: string[] = [];
    const again = await runExperiment(
      { spec, scans: [scan], config: { config: TINY_CONFIG, given: [], ignored: [] } },
      { done: r.cells, splitCore: r.split_core, onEvent: (e) => events.push(e.kind === 'status' ? e.message : e.kind) },
    );
    expect(events.some((e) => e.startsWith('training the split core'))).toBe(false);
    expect(again.split_core).toEqual(r.split_core);
    expect(again.summaries).toEqual(r.summaries);
  }, 180_000);

  it('spec errors for the new keys name them', () => {
    const base = { scan: 's.zip', conditions: [{ core: 'direct' }], sizes: [10], seeds: [1] };
    expect(() => parseExperimentSpec({ ...base, conditions: [{ core: 'split' }] })).toThrow(
      /spec key 'split' is needed/,
    );
    expect(() => parseExperimentSpec({ ...base, partitions: [1, 1] })).toThrow(/'partitions' must not repeat/);
    expect(() => parseExperimentSpec({ ...base, split: { core_neurons: 0, transfer_neurons: 3 } })).toThrow(
      /'split.core_neurons' must be an integer >= 1/,
    );
    expect(() => parseExperimentSpec({ ...base, neurons: { count: 5, seed: 1, x: 1 } })).toThrow(
      /'neurons.x' is not known/,
    );
    expect(() =>
      parseExperimentSpec({
        ...base,
        conditions: [{ core: 'direct', readout: { kind: 'factorized', positions: 'free' } }],
      }),
    ).toThrow(/'conditions\[0\].readout.positions' is not known/);
  });
});
