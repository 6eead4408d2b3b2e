/**
 * Cell types on a given core (src/sim/core_cell_types.ts), on the bundled demo core: K types reading K channels,
 * reproducible by seed, and their rates are exactly what the project's model predicts for the construction: a
 * FullGaussian2d readout with features one-hot at the type's channel times the gain, mu at the position and the
 * bias, on the same core, written to a .pth and read back (the truth_model.pth of `v1x simulate --cell-types`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import type { StateDict } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { saveCheckpoint } from '../../src/io/torch_save';
import { defaultParsedConfig } from '../../src/model/config';
import type { Encoder } from '../../src/model/encoder';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import {
  type CoreCellTypes,
  type CoreFunction,
  chooseTypeChannels,
  coreCellTypeFeatures,
  coreCellTypePredict,
  coreCellTypeRates,
  coreCellTypeReadoutStateDict,
  makeCoreCellTypes,
} from '../../src/sim/core_cell_types';
import { simulateScan } from '../../src/sim/simulate_scan';

const DEMO = join(__dirname, '../../public/demo/model.pth');
const N = 200,
  K = 4;
let sd: StateDict;
let encoder: Encoder;
let core: CoreFunction;
const imageShape: [number, number, number] = [1, 36, 64];
let coreShape: [number, number, number];

beforeAll(async () => {
  await initNodeBackend('wasm');
  sd = await readCheckpoint(new Uint8Array(readFileSync(DEMO)), 'model.pth');
  encoder = encoderFromStateDict(sd, defaultParsedConfig().config, DEMO, { readouts: [], trainable: false });
  coreShape = encoder.architecture.core.outputShape;
  core = async (images) => (await encoder.coreOutput(images, { batchSize: 32 })).data;
});

const make = (seed: number, extra: object = {}) =>
  makeCoreCellTypes(core, {
    neurons: N,
    seed,
    types: K,
    imageShape,
    coreShape,
    probeImages: 48,
    ...extra,
  });

describe('core cell types', () => {
  it('deals K types evenly over distinct, responsive channels at positions in range; reproducible', async () => {
    const pop = await make(7);
    expect(coreShape).toEqual([16, 28, 56]);
    expect(pop.channels).toHaveLength(K);
    expect(new Set(pop.channels).size).toBe(K);
    // the chosen channels vary across images more than the median channel, and are not near-copies of each other
    const median = Array.from(pop.channelScore).sort((a, b) => a - b)[8];
    for (const c of pop.channels) expect(pop.channelScore[c]).toBeGreaterThan(median);
    expect(pop.maxCorrelation).toBeLessThan(0.5);
    expect(Array.from({ length: K }, (_, k) => pop.cellTypes.filter((t) => t === k).length)).toEqual([50, 50, 50, 50]);
    for (let n = 0; n < N; n += K) expect(new Set(pop.cellTypes.subarray(n, n + K)).size).toBe(K);
    expect(Math.max(...Array.from(pop.grid, Math.abs))).toBeLessThanOrEqual(0.9);
    expect(Math.max(...Array.from(pop.grid, Math.abs))).toBeGreaterThan(0.8);
    for (let n = 0; n < N; n++) expect(pop.gain[n]).toBeGreaterThan(0);

    // features: one-hot at the type's channel times the gain
    const f = coreCellTypeFeatures(pop);
    for (let n = 0; n < N; n++) {
      const row = Array.from(f.subarray(n * 16, (n + 1) * 16));
      expect(row.filter((v) => v !== 0)).toEqual([pop.gain[n]]);
      expect(row.indexOf(pop.gain[n])).toBe(pop.channels[pop.cellTypes[n]]);
    }

    const again = await make(7);
    expect(again).toEqual(pop);
    const other = await make(8);
    expect(other.grid).not.toEqual(pop.grid);
    expect(other.cellTypes).not.toEqual(pop.cellTypes);
  });

  it('takes given channels and refuses impossible ones', async () => {
    const pop = await make(1, { channels: [3, 0, 9, 12] });
    expect(pop.channels).toEqual([3, 0, 9, 12]);
    await expect(make(1, { channels: [3, 0, 9] })).rejects.toThrow(/4 distinct integers in 0\.\.15/);
    await expect(make(1, { channels: [3, 3, 9, 1] })).rejects.toThrow(/distinct/);
    await expect(make(1, { channels: [3, 0, 9, 16] })).rejects.toThrow(/0\.\.15/);
    await expect(make(1, { types: 17 })).rejects.toThrow(/17 cell types need 17 distinct channels/);
    expect(() => chooseTypeChannels(new Float32Array(2 * 3 * 4), [2, 3, 2, 2], 4)).toThrow(/the core has 3/);
  });

  it('bilinear sampling follows grid_sample (align_corners=True): corners, edges and midpoints', () => {
    // one image, one channel, 2 x 3 map; five neurons at known points
    const maps = Float32Array.of(1, 2, 3, 10, 20, 30);
    const pop: CoreCellTypes = {
      neurons: 5,
      types: 1,
      channels: [0],
      cellTypes: new Int32Array(5),
      grid: Float32Array.of(-1, -1, 1, 1, 0, -1, -0.5, 0, 1, 0),
      gain: new Float32Array(5).fill(1),
      bias: new Float32Array(5),
      eluOffset: 0,
      coreShape: [1, 2, 3],
      channelMean: [0],
      channelSd: [1],
      channelScore: Float64Array.of(1),
      maxCorrelation: 0,
      positionRange: 1,
      gainLogSd: 0,
      driveSd: 1,
    };
    const r = coreCellTypeRates(pop, maps, 1);
    // elu(v) + 1 = v + 1 for v > 0
    const expected = [1, 30, 2, 0.5 * (1.5 + 15), 0.5 * (3 + 30)];
    expect(Array.from(r, (v) => v - 1)).toEqual(expected.map((v) => Math.fround(v)));
  });

  it('simulated rates equal the prediction of the one-hot Gaussian readout (truth_model.pth) to 1e-5', async () => {
    const pop = await make(3);
    const trials = { train: 40, validation: 10, testImages: 10, testRepeats: 4 };
    const sim = await simulateScan({
      name: 'static-ct',
      seed: 3,
      neurons: N,
      predict: coreCellTypePredict(core, pop),
      imageShape,
      trials,
      corticalGrid: pop.grid,
      cellTypes: pop.cellTypes,
      targetOracle: 0.5,
    });
    expect(sim.scan.cellTypes).toEqual(Array.from(pop.cellTypes));

    // the ground-truth model: the demo core with the types' readout, through a .pth file
    const truthSd: StateDict = new Map([...sd].filter(([k]) => !k.startsWith('readout.')));
    for (const [k, v] of coreCellTypeReadoutStateDict(pop, '90003-1-1')) truthSd.set(k, v);
    const bytes = await saveCheckpoint(truthSd, { prefix: 'truth_model' });
    const truthSdRead = await readCheckpoint(bytes, 'truth_model.pth');
    const truthModel = encoderFromStateDict(truthSdRead, defaultParsedConfig().config, 'truth_model.pth');
    try {
      expect([...truthModel.readouts.keys()]).toEqual(['90003-1-1']);
      const U = trials.train + trials.validation + trials.testImages;
      const [, H, W] = imageShape;
      const x = new Float32Array(U * H * W);
      // each unique image from the scan's stored trials, z-scored as the simulator (and the loader) does
      sim.truth.imageOfTrial.forEach((u, t) => {
        const { imageMean, imageStd } = sim.truth;
        for (let p = 0; p < H * W; p++) x[u * H * W + p] = (sim.scan.images[t * H * W + p] - imageMean) / imageStd;
      });
      const y = await truthModel.predict(x, { batchSize: 20 });
      expect(y.shape).toEqual([U, N]);
      let worst = 0;
      for (let k = 0; k < U * N; k++) {
        const err = Math.abs(y.data[k] - sim.truth.rates[k]);
        worst = Math.max(worst, err);
        const bound = 1e-5 + 1e-5 * Math.abs(sim.truth.rates[k]);
        expect(err, `image ${Math.floor(k / N)}, neuron ${k % N}`).toBeLessThanOrEqual(bound);
      }
      expect(worst).toBeGreaterThan(0); // two implementations (ours in float64, tfjs in float32), not one
      // the rates vary: each type is driven by the images
      const sd0 = stdOf(Array.from({ length: U }, (_, u) => sim.truth.rates[u * N]));
      expect(sd0).toBeGreaterThan(0.1);
      // and the stored expected responses are gain * rate / scale
      for (const t of [0, 5, 77]) {
        const u = sim.truth.imageOfTrial[t];
        for (const n of [0, 1, 199]) {
          const expected = (sim.truth.gain * y.data[u * N + n]) / sim.truth.responseScale[n];
          expect(sim.truth.trueRates[t * N + n]).toBeCloseTo(expected, 4);
        }
      }
    } finally {
      truthModel.dispose();
    }
  });
});

function stdOf(x: number[]): number {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / x.length);
}
