/**
 * The numbers the Neuron inspector and the Core view show, against data PyTorch / neuralpredictors produced:
 * feature weights (the sim-scan ground truth's true_features = SOTA `features[0, :, 0, n]`), the core output
 * (core_output.npy), the readout reassembled from the sampled feature maps (responses.npy), and the test-set
 * metrics of the ground-truth model on static-sim-a (reference_results.json's ceiling).
 */

import { openAsBlob, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { parseNumericNpy } from '../../../src/io/npy';
import { loadScan, openZipScan, type Scan } from '../../../src/io/scan';
import type { ImageSet } from '../../../src/state/derived/test_images';
import {
  coreFeatureMaps,
  firstLayerFilters,
  gridToFeaturePixel,
  mapRanges,
  neuronFeatures,
  neuronTestResponses,
  readoutFeatures,
  sampleMap,
  scanMatchesReadout,
  scanTestComparison,
  strongestChannel,
  topImages,
} from '../../../src/state/services/inspector_service';
import { buildModel, disposeModel, type LoadedModel, openCheckpoint } from '../../../src/state/services/model_service';
import { SIM as SIM_DIR } from '../../fixtures/paths';
import { expectClose, FIXTURE, npy } from '../../model/fixture';

const SIM = `${SIM_DIR}/`;

function npyAny(path: string): { shape: number[]; data: ArrayLike<number | bigint> } {
  return parseNumericNpy(new Uint8Array(readFileSync(path)), path) as {
    shape: number[];
    data: ArrayLike<number | bigint>;
  };
}

async function fileAt(path: string, name: string): Promise<File> {
  return new File([await openAsBlob(path)], name);
}

async function loadModel(pth: string, config: string | null): Promise<LoadedModel> {
  const opened = await openCheckpoint(
    await fileAt(pth, 'model.pth'),
    config ? await fileAt(config, 'config.json') : null,
  );
  return buildModel(opened);
}

let sota: LoadedModel;
let inputs: ImageSet;

beforeAll(async () => {
  await initNodeBackend('wasm');
  sota = await loadModel(FIXTURE + 'model.pth', FIXTURE + 'config.json');
  const x = npy('inputs.npy');
  inputs = {
    name: 'inputs.npy',
    source: 'file',
    data: x.data,
    shape: x.shape as [number, number, number, number],
    labels: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
  };
});

describe('readout features', () => {
  it("equal the SOTA readout's features[0, :, 0, n] (the sim-scan ground truth's true_features)", async () => {
    const f = await readoutFeatures(sota);
    expect([f.channels, f.neurons]).toEqual([64, 7776]);
    const truth = npyAny(SIM + 'static-sim-a-truth/true_features.npy');
    const selected = npyAny(SIM + 'static-sim-a-truth/selected_neurons.npy');
    for (const i of [0, 1, 500, 999]) {
      const n = Number(selected.data[i]);
      const w = neuronFeatures(f, n);
      expect(Array.from(w)).toEqual(Array.from({ length: 64 }, (_v, c) => Number(truth.data[i * 64 + c])));
    }
    expect(() => neuronFeatures(f, 7776)).toThrow(RangeError);
  });

  it('strongest channel is the largest |w|', () => {
    expect(strongestChannel([0.1, -0.5, 0.3])).toBe(1);
    expect(strongestChannel([0.2, -0.2])).toBe(0);
  });
});

describe('first-layer filters', () => {
  it("come back in PyTorch's (out, in, kh, kw) order, equal to the checkpoint's tensor", async () => {
    const f = await firstLayerFilters(sota);
    expect([f.count, f.inChannels, f.kh, f.kw]).toEqual([64, 1, 9, 9]);
    const w = sota.source.stateDict.get('core.features.layer0.conv.weight')!;
    expect(w.shape).toEqual([64, 1, 9, 9]);
    expect(Array.from(f.data)).toEqual(Array.from(w.data as Float32Array));
  });
});

describe('core feature maps', () => {
  it('match core_output.npy for fixture inputs 0 and 1 (1e-4 + 1e-4|b|), with their ranges', async () => {
    const expected = npy('core_output.npy');
    const per = 64 * 28 * 56;
    for (const i of [0, 1]) {
      const before = tf.memory().numTensors;
      const maps = await coreFeatureMaps(sota, inputs, i);
      expect(tf.memory().numTensors).toBe(before);
      expect([maps.channels, maps.height, maps.width]).toEqual([64, 28, 56]);
      const ref = expected.data.subarray(i * per, (i + 1) * per);
      expectClose(`core output ${i}`, maps.data, ref, 1e-4, 1e-4);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of ref) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expect(Math.abs(maps.min - lo)).toBeLessThan(1e-4);
      expect(Math.abs(maps.max - hi)).toBeLessThan(1e-4);
    }
    // Cached: the same promise for the same model, image set and image.
    expect(coreFeatureMaps(sota, inputs, 0)).toBe(coreFeatureMaps(sota, inputs, 0));
    expect(() => coreFeatureMaps(sota, inputs, 8)).toThrow(RangeError);
  });

  it('sampled at the readout positions and weighted, give back responses.npy (grid_sample semantics)', async () => {
    const maps = await coreFeatureMaps(sota, inputs, 0);
    const f = await readoutFeatures(sota);
    const grid = npy('grid.npy').data;
    const bias = sota.source.stateDict.get('readout.26872-17-20.bias')!.data as Float32Array;
    const responses = npy('responses.npy').data;
    const got: number[] = [];
    const want: number[] = [];
    for (const n of [0, 17, 1234, 5000, 7775]) {
      const w = neuronFeatures(f, n);
      let y = bias[n];
      for (let c = 0; c < 64; c++) y += w[c] * sampleMap(maps, c, grid[2 * n], grid[2 * n + 1]);
      got.push((y > 0 ? y : Math.expm1(y)) + 1);
      want.push(responses[n]);
    }
    expectClose('responses from sampled maps', got, want, 1e-4, 1e-4);
  });

  it('maps grid corners to the first and last feature pixels (align_corners=True)', () => {
    expect(gridToFeaturePixel(-1, -1, 56, 28)).toEqual([0, 0]);
    expect(gridToFeaturePixel(1, 1, 56, 28)).toEqual([55, 27]);
    const r = mapRanges(Float32Array.from([1, -2, 3, 4, 0, 9]), 2);
    expect([r.min, r.max, ...r.channelMin, ...r.channelMax]).toEqual([-2, 9, -2, 0, 3, 9]);
  });
});

describe('top images', () => {
  it("orders images by the neuron's predicted response, as an argsort of responses.npy", () => {
    const responses = npy('responses.npy').data;
    for (const n of [3, 4000]) {
      const order = topImages(responses, 7776, n, 8);
      const byHand = Array.from({ length: 8 }, (_v, i) => i).sort(
        (a, b) => responses[b * 7776 + n] - responses[a * 7776 + n],
      );
      expect(order).toEqual(byHand);
      expect(topImages(responses, 7776, n, 3)).toEqual(byHand.slice(0, 3));
    }
  });
});

describe('predicted vs recorded on a scan (ground-truth model on static-sim-a)', () => {
  let truth: LoadedModel;
  let scan: Scan;
  beforeAll(async () => {
    truth = await loadModel(SIM + 'static-sim-a-truth/truth_model.pth', FIXTURE + 'config.json');
    scan = await loadScan(await openZipScan(await openAsBlob(SIM + 'static-sim-a.zip'), 'static-sim-a.zip'));
  });

  it("refuses a scan whose neurons are not the readout's", () => {
    const m = scanMatchesReadout(sota, scan);
    expect(m.ok).toBe(false);
    expect(m.reason).toMatch(/1,000 neurons, this readout 7,776/);
    expect(scanMatchesReadout(truth, scan).ok).toBe(true);
  });

  it("reproduces neuralpredictors' ceiling metrics (within 0.002) and per-neuron means over repeats", async () => {
    const ref = JSON.parse(readFileSync(SIM + 'reference_results.json', 'utf8')) as { ceiling: Record<string, number> };
    const before = tf.memory().numTensors;
    const cmp = await scanTestComparison(truth, scan);
    expect(tf.memory().numTensors).toBe(before);
    expect(cmp.groups.length).toBe(100);
    expect(cmp.summary.trials).toBe(1000);
    console.log(
      `ceiling: test_correlation ${cmp.summary.test_correlation} (ref ${ref.ceiling.test_correlation}), correlation_to_average ${cmp.summary.correlation_to_average} (ref ${ref.ceiling.correlation_to_average}), ${cmp.milliseconds.toFixed(0)} ms`,
    );
    expect(Math.abs(cmp.summary.test_correlation! - ref.ceiling.test_correlation)).toBeLessThan(0.002);
    expect(Math.abs(cmp.summary.correlation_to_average! - ref.ceiling.correlation_to_average)).toBeLessThan(0.002);
    expect(Math.abs(cmp.summary.oracle! - ref.ceiling.oracle)).toBeLessThan(0.002);

    // Per neuron: the Pearson correlation of (prediction, mean over repeats) is the metric's correlation to the average.
    for (const n of [0, 321, 999]) {
      const r = neuronTestResponses(cmp, n);
      expect(Array.from(r.repeats).every((k) => k === 10)).toBe(true);
      const mp = r.predicted.reduce((a, b) => a + b) / 100;
      const mo = r.observedMean.reduce((a, b) => a + b) / 100;
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      for (let i = 0; i < 100; i++) {
        sab += (r.predicted[i] - mp) * (r.observedMean[i] - mo);
        saa += (r.predicted[i] - mp) ** 2;
        sbb += (r.observedMean[i] - mo) ** 2;
      }
      expect(sab / Math.sqrt(saa * sbb)).toBeCloseTo(cmp.perNeuron.correlationToAverage[n], 5);
      expect(Array.from(r.observedStd).every((s) => s >= 0)).toBe(true);
    }
    expect(scanTestComparison(truth, scan)).toBe(scanTestComparison(truth, scan));
    disposeModel(truth);
  });
});
