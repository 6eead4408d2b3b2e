/**
 * The ground-truth simulator with a small linear-nonlinear model standing in for a network: calibration of
 * the oracle, reproducibility, the truth beside the scan, and simulate -> write -> load (with the scan loader)
 * giving back the same arrays.
 */
import { describe, expect, it } from 'vitest';
import { loadScan, normalizedImages, openZipScan, tierIndices } from '../../src/io/scan';
import { groupByImage, oracleJackknife, selectTrials } from '../../src/metrics';
import { writeScanZip } from '../../src/sim/scan_writer';
import { chooseNeurons, type Predict, simulateScan } from '../../src/sim/simulate_scan';
import { Rng } from '../../src/util/rng';

const H = 18,
  W = 32,
  N = 30;

/** Each neuron: softplus of a random smooth filter applied to the image, plus a baseline. */
function lnModel(seed: number): { predict: Predict; seen: Float32Array[] } {
  const r = new Rng(seed);
  const filters = new Float32Array(N * H * W);
  for (let n = 0; n < N; n++) {
    const cx = r.range(0, W),
      cy = r.range(0, H),
      s = r.range(2, 5),
      th = r.range(0, Math.PI),
      f = r.range(0.1, 0.4);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const u = (x - cx) * Math.cos(th) + (y - cy) * Math.sin(th);
        filters[n * H * W + y * W + x] =
          (Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s)) * Math.cos(2 * Math.PI * f * u)) / (s * s);
      }
  }
  const seen: Float32Array[] = [];
  const predict: Predict = async (images, count) => {
    seen.push(images.slice());
    const out = new Float32Array(count * N);
    for (let b = 0; b < count; b++)
      for (let n = 0; n < N; n++) {
        let a = 0;
        for (let p = 0; p < H * W; p++) a += filters[n * H * W + p] * images[b * H * W + p];
        out[b * N + n] = Math.log1p(Math.exp(a - 0.5)) + 0.05;
      }
    return out;
  };
  return { predict, seen };
}

const trials = { train: 200, validation: 40, testImages: 30, testRepeats: 8 };

describe('simulateScan', () => {
  it('chooses distinct, sorted neurons reproducibly', () => {
    const a = chooseNeurons(7776, 100, 3);
    expect(Array.from(a)).toEqual(Array.from(chooseNeurons(7776, 100, 3)));
    expect(new Set(a).size).toBe(100);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]);
    expect(() => chooseNeurons(10, 11, 1)).toThrow(/choose/);
  });

  it('calibrates the median oracle, is reproducible, and writes -> loads back to the same arrays', async () => {
    const model = lnModel(1);
    const grid = Float32Array.from({ length: 2 * N }, (_, i) => Math.sin(i));
    const sim = await simulateScan({
      name: 'sim-t',
      seed: 5,
      neurons: N,
      predict: model.predict,
      imageShape: [1, H, W],
      trials,
      targetOracle: 0.5,
      corticalGrid: grid,
      batchSize: 64,
    });
    const { scan, truth } = sim;
    const T = trials.train + trials.validation + trials.testImages * trials.testRepeats;
    expect(scan.tiers.length).toBe(T);
    expect(Math.abs(truth.medianOracle - 0.5)).toBeLessThan(0.002);

    // stored responses = integer counts / scale_n; their mean follows the true rates
    let worst = 0,
      sumR = 0,
      sumT = 0;
    for (let i = 0; i < scan.responses.length; i++) {
      const k = scan.responses[i] * truth.responseScale[i % N];
      worst = Math.max(worst, Math.abs(k - Math.round(k)));
      sumR += scan.responses[i];
      sumT += truth.trueRates[i];
    }
    expect(worst).toBeLessThan(1e-3);
    expect(Math.abs(sumR / sumT - 1)).toBeLessThan(0.05);

    // the same seed gives the same scan; another seed another one
    const again = await simulateScan({
      name: 'sim-t',
      seed: 5,
      neurons: N,
      predict: lnModel(1).predict,
      imageShape: [1, H, W],
      trials,
      targetOracle: 0.5,
      corticalGrid: grid,
    });
    expect(again.scan.responses).toEqual(scan.responses);
    expect(again.scan.images).toEqual(scan.images);
    expect(again.truth.gain).toBe(truth.gain);

    // write, load with the scan loader: the same arrays
    const bytes = await writeScanZip(scan);
    const loaded = await loadScan(await openZipScan(bytes, 'sim-t.zip'));
    expect(loaded.name).toBe('sim-t');
    expect(loaded.nTrials).toBe(T);
    expect(loaded.nNeurons).toBe(N);
    expect(loaded.imageShape).toEqual([1, H, W]);
    expect(loaded.images).toEqual(scan.images);
    expect(loaded.responses).toEqual(scan.responses);
    expect(loaded.tiers).toEqual(scan.tiers);
    expect(Array.from(loaded.frameImageId)).toEqual(Array.from(scan.frameImageId));
    expect(Array.from(loaded.trialIdx!)).toEqual(Array.from(scan.trialIdx!));
    expect(Array.from(loaded.unitIds)).toEqual(Array.from(scan.unitIds));
    expect(Array.from(loaded.cellMotorCoordinates!)).toEqual(Array.from(Float32Array.from(scan.cellMotorCoordinates)));
    for (let n = 0; n < N; n++)
      expect(loaded.cellMotorCoordinates![3 * n]).toBeCloseTo(300 * grid[2 * n] + truth.offsetUm[0], 3);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.neurons.animalIds![0]).toBe(90005);

    // the model saw exactly what the loader's normalization gives for those images
    expect(loaded.normalizer.imageMean).toBe(truth.imageMean);
    expect(loaded.normalizer.imageStd).toBe(truth.imageStd);
    const seen = new Float32Array(model.seen.reduce((s, a) => s + a.length, 0));
    let off = 0;
    for (const a of model.seen) {
      seen.set(a, off);
      off += a.length;
    }
    for (const t of [0, 17, T - 1]) {
      const u = truth.imageOfTrial[t];
      expect(normalizedImages(loaded, [t])).toEqual(seen.subarray(u * H * W, (u + 1) * H * W));
    }

    // the truth's oracle is the oracle of the stored test responses
    const test = Array.from(tierIndices(loaded, 'test'));
    const oracle = oracleJackknife(
      selectTrials(loaded.responses, N, test),
      N,
      groupByImage(test.map((i) => loaded.frameImageId[i])),
    );
    for (let n = 0; n < N; n++) expect(oracle[n]).toBeCloseTo(truth.oracle[n], 6);
    // and the true rates of repeated trials agree
    for (const g of groupByImage(test.map((i) => loaded.frameImageId[i]))) {
      const first = test[g.trials[0]];
      for (const k of g.trials)
        expect(truth.trueRates.subarray(test[k] * N, test[k] * N + N)).toEqual(
          truth.trueRates.subarray(first * N, first * N + N),
        );
    }
  });

  it('supports Gamma noise and a fixed gain, and refuses rates a model should never give', async () => {
    const g = await simulateScan({
      name: 'sim-g',
      seed: 2,
      neurons: N,
      predict: lnModel(2).predict,
      imageShape: [1, H, W],
      trials,
      noise: 'gamma',
      targetOracle: 0.4,
    });
    expect(Math.abs(g.truth.medianOracle - 0.4)).toBeLessThan(0.005);
    expect(
      g.scan.responses.some(
        (v, i) => Math.abs(v * g.truth.responseScale[i % N] - Math.round(v * g.truth.responseScale[i % N])) > 0.01,
      ),
    ).toBe(true);
    const fixed = await simulateScan({
      name: 'sim-f',
      seed: 2,
      neurons: N,
      predict: lnModel(2).predict,
      imageShape: [1, H, W],
      trials,
      gain: 3,
    });
    expect(fixed.truth.gain).toBe(3);
    const bad: Predict = async (_x, count) => new Float32Array(count * N).fill(-1);
    await expect(
      simulateScan({ name: 'x', seed: 1, neurons: N, predict: bad, imageShape: [1, H, W], trials }),
    ).rejects.toThrow(/>= 0/);
    await expect(
      simulateScan({
        name: 'x',
        seed: 1,
        neurons: N,
        predict: lnModel(1).predict,
        imageShape: [1, H, W],
        trials: { ...trials, testRepeats: 1 },
      }),
    ).rejects.toThrow(/repeats/);
  });
});
