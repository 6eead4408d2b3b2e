/**
 * What the views compute for a factorized readout (FullFactorized2d, Klindt et al. 2017), on the neuralpredictors-
 * saved model of test/fixtures/factorized/model (12 neurons, 8 channels, masks 16x28 on a 20x32 input): the readout
 * geometry (mask peaks / centres of mass as positions, in input pixels), the inspector's barcode and masked sums
 * (which rebuild neuralpredictors' responses), the Cell types feature matrix, the mask outlines and the parameter
 * table. Expectations are computed here from the checkpoint's arrays, not through the code under test.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import type { HostTensor } from '../../../src/io/host_tensor';
import { parseNumericNpy } from '../../../src/io/npy';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { maskGeometry } from '../../../src/model/factorized_masks';
import { readoutFeatureMatrix } from '../../../src/state/derived/cell_types';
import { maskOutlines, maskRingsInFeaturePixels, outlinePath } from '../../../src/state/derived/mask_contours';
import { modelParamRows } from '../../../src/state/derived/model_params';
import {
  type FactorizedMasks,
  type ReadoutGeometry,
  readoutGeometry,
  withMaskPosition,
} from '../../../src/state/derived/readout_geometry';
import type { ImageSet } from '../../../src/state/derived/test_images';
import {
  coreFeatureMaps,
  maskedSum,
  neuronFeatures,
  readoutFeatures,
} from '../../../src/state/services/inspector_service';
import { buildModel, disposeModel, type LoadedModel, openCheckpoint } from '../../../src/state/services/model_service';
import { FIXTURES, SOTA } from '../../fixtures/paths';

const DIR = join(FIXTURES, 'factorized', 'model');
const N = 12,
  C = 8,
  H = 16,
  W = 28,
  HW = H * W;

function npy(name: string): HostTensor<'float32'> {
  return parseNumericNpy(new Uint8Array(readFileSync(join(DIR, name))), name) as HostTensor<'float32'>;
}

async function load(dir: string, pth = 'model.pth'): Promise<LoadedModel> {
  const file = async (p: string, name: string) => new File([await openAsBlob(p)], name);
  return buildModel(
    await openCheckpoint(await file(join(dir, pth), pth), await file(join(dir, 'config.json'), 'config.json')),
  );
}

let model: LoadedModel;
let geometry: ReadoutGeometry;
/** The checkpoint's arrays, and the masks normalized here as neuralpredictors does. */
let features: Float32Array, spatial: Float32Array, bias: Float32Array;
const masks = new Float64Array(N * HW);

beforeAll(async () => {
  await initNodeBackend('wasm');
  model = await load(DIR);
  geometry = await readoutGeometry(model);
  const sd = await readCheckpoint(new Uint8Array(readFileSync(join(DIR, 'model.pth'))), 'model.pth');
  features = sd.get('readout.fx._features')!.data as Float32Array;
  spatial = sd.get('readout.fx.spatial')!.data as Float32Array;
  bias = sd.get('readout.fx.bias')!.data as Float32Array;
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let p = 0; p < HW; p++) ss += spatial[n * HW + p] ** 2;
    for (let p = 0; p < HW; p++) masks[n * HW + p] = spatial[n * HW + p] / (Math.sqrt(ss) + 1e-6);
  }
});

afterAll(() => disposeModel(model));

describe('readout geometry of a factorized readout', () => {
  it('has the masks the forward pass uses, and the neurons at their peaks in input pixels', () => {
    expect(geometry.kind).toBe('factorized');
    expect(geometry.position).toBe('peak');
    const f = geometry.factorized!;
    expect([f.height, f.width, geometry.neurons]).toEqual([H, W, N]);
    for (let i = 0; i < N * HW; i++) expect(Math.abs(f.masks[i] - masks[i])).toBeLessThan(1e-6);
    expect(geometry.cortex).toBeNull();
    expect(geometry.retinotopy).toBeNull();
    for (let n = 0; n < N; n++) {
      let best = 0,
        arg = 0,
        count = 0;
      for (let p = 0; p < HW; p++)
        if (Math.abs(masks[n * HW + p]) > best) {
          best = Math.abs(masks[n * HW + p]);
          arg = p;
        }
      for (let p = 0; p < HW; p++) if (Math.abs(masks[n * HW + p]) >= best / 2) count++;
      expect(f.maxAbs[n]).toBeCloseTo(best, 6);
      expect(f.peakSign[n]).toBe(Math.sign(masks[n * HW + arg]));
      expect(f.geometry.halfMaxPixels[n]).toBe(count);
      // grid units -> feature pixel: within half a pixel of the largest |m| (refined over its 3x3 neighbourhood)
      const fx = ((geometry.grid[2 * n] + 1) / 2) * (W - 1),
        fy = ((geometry.grid[2 * n + 1] + 1) / 2) * (H - 1);
      expect(Math.abs(fx - (arg % W))).toBeLessThan(0.5);
      expect(Math.abs(fy - Math.floor(arg / W))).toBeLessThan(0.5);
      // a valid 5x5 first conv, then same-padded 3x3s: feature pixel i sits over input pixel i + 2
      expect(geometry.pixels[2 * n]).toBeCloseTo(fx + 2, 4);
      expect(geometry.pixels[2 * n + 1]).toBeCloseTo(fy + 2, 4);
      // the spread as an uncorrelated sigma in grid units
      expect(geometry.sigma[2 * n]).toBeCloseTo((f.geometry.spread[n] * 2) / (W - 1), 6);
      expect(geometry.sigma[2 * n + 1]).toBeCloseTo((f.geometry.spread[n] * 2) / (H - 1), 6);
    }
  });

  it("moves the neurons to the masks' centres of mass on request, and back", () => {
    const c = withMaskPosition(geometry, 'centroid');
    expect(c.position).toBe('centroid');
    for (let n = 0; n < N; n++) {
      let t = 0,
        sx = 0,
        sy = 0;
      for (let p = 0; p < HW; p++) {
        const e = masks[n * HW + p] ** 2;
        t += e;
        sx += e * (p % W);
        sy += e * Math.floor(p / W);
      }
      expect(c.pixels[2 * n]).toBeCloseTo(sx / t + 2, 4);
      expect(c.pixels[2 * n + 1]).toBeCloseTo(sy / t + 2, 4);
    }
    expect(withMaskPosition(c, 'peak').pixels).toEqual(geometry.pixels);
    expect(withMaskPosition(geometry, 'peak')).toBe(geometry);
    // A Gaussian readout (no masks) has no choice.
    const gaussian = { ...geometry, kind: 'gaussian', position: 'mean', factorized: null } as ReadoutGeometry;
    expect(withMaskPosition(gaussian, 'centroid')).toBe(gaussian);
  });
});

describe('the inspector on a factorized readout', () => {
  it('shows _features[n] as the barcode', async () => {
    const f = await readoutFeatures(model);
    expect([f.channels, f.neurons]).toEqual([C, N]);
    for (const n of [0, 5, 11])
      expect(Array.from(neuronFeatures(f, n))).toEqual(Array.from(features.subarray(n * C, (n + 1) * C)));
  });

  it("rebuilds neuralpredictors' responses from its masked sums: elu(sum_c f_nc sum_hw m x + b) + 1", async () => {
    const x = npy('images.npy');
    const images: ImageSet = {
      name: 'images.npy',
      source: 'file',
      data: x.data,
      shape: x.shape as [number, number, number, number],
      labels: ['a', 'b', 'c'],
    };
    const responses = npy('responses.npy').data;
    const f = geometry.factorized!;
    for (let i = 0; i < 3; i++) {
      const maps = await coreFeatureMaps(model, images, i);
      for (let n = 0; n < N; n++) {
        let y = bias[n];
        for (let c = 0; c < C; c++) y += features[n * C + c] * maskedSum(maps, c, f.masks, n * HW);
        const r = y > 0 ? y + 1 : Math.exp(y);
        expect(Math.abs(r - responses[i * N + n])).toBeLessThan(1e-5);
      }
    }
  });
});

describe("the Cell types view's feature matrix of a factorized readout", () => {
  it("is _features (N, C), each row times the sign of its mask's largest weight", async () => {
    const fm = await readoutFeatureMatrix(model);
    expect([fm.neurons, fm.channels, fm.readoutKind]).toEqual([N, C, 'factorized']);
    let flipped = 0;
    for (let n = 0; n < N; n++) {
      let extreme = 0;
      for (let p = 0; p < HW; p++) if (Math.abs(masks[n * HW + p]) > Math.abs(extreme)) extreme = masks[n * HW + p];
      const s = Math.sign(extreme);
      if (s < 0) flipped++;
      expect(Array.from(fm.features.subarray(n * C, (n + 1) * C))).toEqual(
        Array.from(features.subarray(n * C, (n + 1) * C), (v) => s * v),
      );
    }
    expect(fm.signFlipped).toBe(flipped);
    // the fixture's random masks peak negative for some neurons and positive for others
    expect(flipped).toBeGreaterThan(0);
    expect(flipped).toBeLessThan(N);
  });
});

describe('mask outlines', () => {
  /** One mask on a 5x6 map. */
  function single(values: number[]): FactorizedMasks {
    const m = Float32Array.from(values);
    const maxAbs = Float32Array.of(Math.max(...values.map(Math.abs)));
    return {
      height: 5,
      width: 6,
      masks: m,
      geometry: maskGeometry(m, 1, 5, 6),
      maxAbs,
      peakSign: Int8Array.of(1),
      options: {} as FactorizedMasks['options'],
    };
  }

  it('encloses the pixels above the level, in feature pixels (centres at integers)', () => {
    const v = new Array(30).fill(0);
    v[2 * 6 + 3] = -1; // row 2, column 3: |m| counts, not its sign
    const rings = maskRingsInFeaturePixels(single(v), 0, 0.5);
    expect(rings).toHaveLength(1);
    const xs = rings[0].map((p) => p[0]),
      ys = rings[0].map((p) => p[1]);
    // halfway to the neighbours (value 0 against 1 at level 0.5)
    expect([Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)]).toEqual([2.5, 3.5, 1.5, 2.5]);
    // a lower level reaches further towards a weaker neighbour
    v[2 * 6 + 4] = 0.4;
    const lower = maskRingsInFeaturePixels(single(v), 0, 0.25)[0];
    expect(Math.max(...lower.map((p) => p[0]))).toBeGreaterThan(4);
    expect(maskRingsInFeaturePixels(single(new Array(30).fill(0)), 0)).toEqual([]);
    expect(() => maskRingsInFeaturePixels(single(v), 0, 1)).toThrow(RangeError);
  });

  it("puts each fixture neuron's peak inside its outline, in input pixels", () => {
    const outlines = maskOutlines(geometry, 0.5)!;
    expect(outlines).toHaveLength(N);
    for (let n = 0; n < N; n++) {
      const pts = outlines[n].flat();
      const [px, py] = [geometry.pixels[2 * n], geometry.pixels[2 * n + 1]];
      expect(px).toBeGreaterThanOrEqual(Math.min(...pts.map((p) => p[0])));
      expect(px).toBeLessThanOrEqual(Math.max(...pts.map((p) => p[0])));
      expect(py).toBeGreaterThanOrEqual(Math.min(...pts.map((p) => p[1])));
      expect(py).toBeLessThanOrEqual(Math.max(...pts.map((p) => p[1])));
      expect(
        outlinePath(
          outlines[n],
          (a) => a,
          (b) => b,
        ),
      ).toMatch(/^M[\d.,L]+Z/);
    }
    expect(maskOutlines({ ...geometry, factorized: null })).toBeNull();
  });
});

describe("the Architecture view's parameter table", () => {
  it('counts the factorized readout as n(c + hw) + n and the core as the rest', () => {
    const rows = modelParamRows(model.architecture, 'fx', model.parameters);
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId.fx.parameters).toBe(N * (C + HW) + N);
    expect(byId.fx.worked).toBe('12·(8 + 16·28) + 12');
    // the core's learned numbers (keys.txt): conv 8x1x5x5 + scale 8; 2 depth-separable layers (3 convs, biases, scale)
    expect(byId.core.parameters).toBe(200 + 8 + 2 * (64 + 8 + 72 + 8 + 64 + 8 + 8));
    expect(byId.total.parameters).toBe(byId.core.parameters + byId.fx.parameters);
  });

  it('counts a Gaussian readout with a position network as the architecture does', async () => {
    const sota = await load(SOTA);
    try {
      const r = sota.architecture.readouts[0];
      const rows = modelParamRows(sota.architecture, r.key, sota.parameters);
      const row = rows.find((x) => x.id === r.key)!;
      const net = r.positionNetwork!.linears.reduce((a, l) => a + l.outFeatures * (l.inFeatures + 1), 0);
      expect(row.parameters).toBe(r.neurons * (r.channels + 4) + r.neurons + net);
      expect(row.formula).toBe('n·(c + s) + n + position network');
      expect(rows.at(-1)!.parameters).toBe(sota.parameters);
    } finally {
      disposeModel(sota);
    }
  });

  it('reads the legacy-format file the same', async () => {
    const legacy = await load(DIR, 'model_legacy.pth');
    try {
      expect(modelParamRows(legacy.architecture, 'fx', legacy.parameters)).toEqual(
        modelParamRows(model.architecture, 'fx', model.parameters),
      );
      const g = await readoutGeometry(legacy);
      expect(Array.from(g.pixels)).toEqual(Array.from(geometry.pixels));
    } finally {
      disposeModel(legacy);
    }
  });
});
