/**
 * The experiment runner's pieces that need no training: spec validation (every error names its key), the 95%
 * t-interval against a hand computation, the CSV, and the random core's BatchNorm statistics fitted to images.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { fitBatchNormStatistics } from '../../src/experiments/batchnorm_fit';
import { studentTQuantile, summarizeSeeds } from '../../src/experiments/interval';
import { type CellResult, cellsCsv, summarize } from '../../src/experiments/runner';
import { canonicalJson, conditionHash, parseExperimentSpec } from '../../src/experiments/spec';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../src/model/config';
import { nchwToNhwc } from '../../src/model/encoder';
import { newEncoder } from '../../src/train/end_to_end/new_model';
import { Rng } from '../../src/util/rng';

const OK = {
  scan: 'scan.zip',
  model: { checkpoint: 'model.pth', config: 'config.json' },
  conditions: [
    { name: 'transfer', core: 'loaded', readout: 'gaussian' },
    { core: 'direct', readout: { kind: 'gaussian', positions: 'free' } },
  ],
  sizes: [50, 100],
  seeds: [1, 2],
  protocol: { lr: 0.01, max_epochs: 3 },
};

function withKey(patch: Record<string, unknown>): unknown {
  return { ...structuredClone(OK), ...patch };
}

describe('experiment spec', () => {
  it('fills in defaults and names conditions', () => {
    const s = parseExperimentSpec(OK);
    expect(s.conditions.map((c) => c.name)).toEqual(['transfer', 'direct-free']);
    expect(s.conditions[0].readout).toEqual({ kind: 'gaussian', positions: 'retinotopy' });
    expect(s.protocol).toMatchObject({ lr: 0.01, max_epochs: 3, batch_size: 64, patience: 5, subset_seed: 0 });
  });

  it.each([
    [{ sizes: [100, 50] }, /'sizes\[1\]' must be larger than sizes\[0\]/],
    [{ sizes: [0] }, /'sizes\[0\]' must be an integer >= 1/],
    [{ sizes: [] }, /'sizes' must be a non-empty list/],
    [{ seeds: [1, 1] }, /'seeds' must not repeat/],
    [{ seeds: [1.5] }, /'seeds\[0\]' must be an integer/],
    [{ scan: '' }, /'scan' must be a non-empty string/],
    [{ conditions: [{ core: 'pretrained' }] }, /'conditions\[0\]\.core' must be one of loaded, random, direct, split/],
    [
      { conditions: [{ core: 'vgg' }] },
      /spec key 'model\.vgg16' is needed: conditions\[0\] uses the pretrained VGG16 core/,
    ],
    [
      { conditions: [{ core: 'direct', readout: { kind: 'linear' } }] },
      /'conditions\[0\]\.readout\.kind' must be one of gaussian, factorized/,
    ],
    [
      { conditions: [{ core: 'direct', readout: { kind: 'gaussian', positions: 'fixed' } }] },
      /'conditions\[0\]\.readout\.positions'/,
    ],
    [{ conditions: [{ core: 'direct' }, { core: 'direct' }] }, /'conditions\[1\]\.name': 'direct' names two/],
    [
      { conditions: [{ core: 'loaded' }], model: { config: 'c.json' } },
      /'model\.checkpoint' is needed: conditions\[0\]/,
    ],
    [{ protocol: { lr: -1 } }, /'protocol\.lr' must be a positive number/],
    [{ protocol: { max_epoch: 3 } }, /'protocol\.max_epoch' is not known/],
    [{ extra: 1 }, /'extra' is not known/],
    [{ scans: ['a.zip', 'b.zip'] }, /needs 'scan' \(one scan\) or 'scans' \(a list\), not both/],
    [{ scans: ['a.zip', 'a.zip'], scan: undefined }, /'scans' must not name a scan twice/],
    [{ scans: [], scan: undefined }, /'scans' must be a non-empty list/],
    [
      { conditions: [{ core: 'random', share_features: true }] },
      /'conditions\[0\]\.share_features' needs core 'direct'/,
    ],
    [
      { conditions: [{ core: 'direct', share_features: true }] },
      /'conditions\[0\]\.share_features' needs several scans/,
    ],
    [
      { scans: ['a.zip', 'b.zip'], scan: undefined, neurons: { count: 3 } },
      /'neurons' takes one scan, 'scans' has several/,
    ],
    [
      { scans: ['a.zip', 'b.zip'], scan: undefined, conditions: [{ core: 'vgg_random' }] },
      /'conditions\[0\]\.core' takes one scan/,
    ],
  ])('refuses %j naming the key', (patch, message) => {
    expect(() => parseExperimentSpec(withKey(patch))).toThrow(message);
  });

  it('hashes what determines a cell, not the list of sizes and seeds', async () => {
    const a = parseExperimentSpec(OK);
    const b = parseExperimentSpec(withKey({ seeds: [1, 2, 3], sizes: [50, 100, 200] }));
    const c = parseExperimentSpec(withKey({ protocol: { lr: 0.02, max_epochs: 3 } }));
    expect(await conditionHash(a, a.conditions[0])).toBe(await conditionHash(b, b.conditions[0]));
    expect(await conditionHash(a, a.conditions[0])).not.toBe(await conditionHash(c, c.conditions[0]));
    expect(await conditionHash(a, a.conditions[0])).not.toBe(await conditionHash(a, a.conditions[1]));
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });

  it('takes several scans; one scan in a list hashes as `scan`; sharing features is a condition of its own', async () => {
    const one = parseExperimentSpec(OK);
    const listed = parseExperimentSpec(withKey({ scan: undefined, scans: ['scan.zip'] }));
    expect(listed.scans).toEqual(['scan.zip']);
    expect(await conditionHash(listed, listed.conditions[0])).toBe(await conditionHash(one, one.conditions[0]));
    const two = parseExperimentSpec(
      withKey({
        scan: undefined,
        scans: ['m-1.zip', 'm-2.zip'],
        conditions: [
          { core: 'direct' },
          { core: 'direct', share_features: true },
          { name: 'plain', core: 'direct', share_features: false },
        ],
      }),
    );
    expect(two.scans).toEqual(['m-1.zip', 'm-2.zip']);
    expect(two.conditions.map((c) => c.name)).toEqual(['direct', 'direct-shared', 'plain']);
    // unset and false are the same condition (they hash alike); true is another
    const [plain, shared, unset] = await Promise.all(two.conditions.map((c) => conditionHash(two, c)));
    expect(plain).toBe(unset);
    expect(shared).not.toBe(plain);
  });
});

describe('interval over seeds', () => {
  it('t quantiles match the tables', () => {
    // t(0.975, df) from any statistics table
    const table: [number, number][] = [
      [1, 12.7062],
      [2, 4.3027],
      [4, 2.7764],
      [9, 2.2622],
      [29, 2.0452],
    ];
    for (const [df, t] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(t, 4);
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.7764, 4);
  });

  it('matches a hand computation', () => {
    // values 0.5, 0.6, 0.7: mean 0.6, sd 0.1, se 0.1 / sqrt(3) = 0.057735, t(0.975, 2) = 4.302653:
    // half-width 0.248414, interval [0.351586, 0.848414]
    const s = summarizeSeeds([0.5, 0.6, 0.7]);
    expect(s.n).toBe(3);
    expect(s.mean).toBeCloseTo(0.6, 12);
    expect(s.sd).toBeCloseTo(0.1, 12);
    expect(s.low).toBeCloseTo(0.351586, 6);
    expect(s.high).toBeCloseTo(0.848414, 6);
    // two seeds 0.2, 0.4: sd 0.141421, se 0.1, t(0.975, 1) = 12.706205: [-0.970620, 1.570620]
    const two = summarizeSeeds([0.2, 0.4]);
    expect(two.low).toBeCloseTo(-0.97062, 5);
    expect(two.high).toBeCloseTo(1.57062, 5);
    expect(summarizeSeeds([0.3])).toMatchObject({ n: 1, mean: 0.3, low: null, high: null });
    expect(summarizeSeeds([0.3, Number.NaN, 0.5])).toMatchObject({ n: 2, missing: 1, mean: 0.4 });
  });

  it('summarizes every seed and flags cells at the cap', () => {
    const spec = parseExperimentSpec(OK);
    const cell = (seed: number, f: number, cap: boolean): CellResult => ({
      key: `h:transfer:50:${seed}`,
      hash: 'h',
      condition: 'transfer',
      core: 'loaded',
      readout: spec.conditions[0].readout,
      size: 50,
      seed,
      test_correlation: f / 2,
      correlation_to_average: null,
      oracle: 0.5,
      fraction_oracle: f,
      feve: null,
      best_val_correlation: 0.2,
      epochs: cap ? 3 : 2,
      stop_reason: cap ? 'max-epochs' : 'patience',
      hit_cap: cap,
      seconds: 1,
    });
    const cells = [cell(1, 0.5, false), cell(2, 0.7, true)];
    const [s] = summarize(spec, cells);
    expect(s).toMatchObject({
      condition: 'transfer',
      size: 50,
      seeds: [1, 2],
      hit_cap: true,
      hit_cap_seeds: [2],
      mean_epochs: 2.5,
    });
    expect(s.fraction_oracle.mean).toBeCloseTo(0.6, 12);
    const csv = cellsCsv(cells).trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[0]).toMatch(/^condition,core,readout,size,partition,seed,fraction_oracle,/);
    expect(csv[2]).toMatch(/^transfer,loaded,gaussian-retinotopy,50,,2,0\.7,.*,max-epochs,true,/);
  });
});

describe('random core BatchNorm statistics', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('are the statistics of the given images, layer by layer', () => {
    const config: ModelConfig = {
      ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
      layers: 3,
      hidden_channels: 4,
      input_kern: 5,
      hidden_kern: 3,
      input_shape: [1, 12, 16],
    };
    const enc = newEncoder(config, [], 3);
    const rng = new Rng(5);
    const B = 20;
    const images = Float32Array.from({ length: B * 12 * 16 }, () => 0.7 + 2 * rng.normal());
    const before = tf.memory().numTensors;
    expect(fitBatchNormStatistics(enc.core, images, [1, 12, 16], 6)).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    const stats = () =>
      enc.core.layers.map((l) => [...l.norm!.runningMean.dataSync(), ...l.norm!.runningVar.dataSync()]);
    const fitted = stats();
    // not the fresh core's 0 / 1
    expect(fitted[0].slice(4).some((v) => Math.abs(v - 1) > 0.1)).toBe(true);
    // BatchNorm in training mode on all the images as one batch normalizes every layer with these same statistics,
    // so its running-average update (momentum 0.1) leaves them where they are (up to n / (n - 1) and rounding)
    tf.tidy(() => {
      enc.core.forward(nchwToNhwc(tf.tensor4d(images, [B, 1, 12, 16])), { training: true });
    });
    const after = stats();
    for (let l = 0; l < 3; l++) {
      for (let c = 0; c < fitted[l].length; c++) expect(after[l][c]).toBeCloseTo(fitted[l][c], 4);
    }
    enc.dispose();
  });
});
