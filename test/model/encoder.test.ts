/** Encoder bookkeeping on the fixture (wasm): no tensor leaks, state_dict round trip, host parameter view, readout variants. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import type { StateDict } from '../../src/io/host_tensor';
import { DEFAULT_MODEL_CONFIG } from '../../src/model/config';
import type { Encoder } from '../../src/model/encoder';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { FullGaussian2d } from '../../src/model/gaussian_readout';
import { readoutHostParams } from '../../src/model/host_params';
import { encoderToStateDict } from '../../src/model/to_state_dict';
import { Rng } from '../../src/util/rng';
import { expectClose, fixtureStateDict, npy } from './fixture';

/** Bitwise equality of two typed arrays (fast on 500k elements, unlike a deep equal). */
function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

let sd: StateDict;
let enc: Encoder;
beforeAll(async () => {
  await initNodeBackend('wasm');
  sd = await fixtureStateDict();
  enc = encoderFromStateDict(sd, DEFAULT_MODEL_CONFIG, 'model.pth');
});
afterAll(() => enc?.dispose());

describe('tensor bookkeeping', () => {
  it('repeated predict / coreOutput / grid / gradient steps leave tf.memory().numTensors unchanged', async () => {
    const images = npy('inputs.npy');
    const x = tf.tensor4d(images.data.subarray(0, 2 * 36 * 64), [2, 1, 36, 64]);
    const r = enc.readout();
    const round = async (): Promise<void> => {
      await enc.predict(images, { batchSize: 3 });
      await enc.coreOutput(images.data.subarray(0, 36 * 64));
      r.grid().dispose();
      r.sampleGrid(2).dispose();
      const { value, grads } = tf.variableGrads(
        () => enc.forward(x, { sample: true }).sum() as tf.Scalar,
        r.variables(),
      );
      value.dispose();
      tf.dispose(Object.values(grads));
    };
    await round();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await round();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('dispose() releases every tensor the model made', async () => {
    const before = tf.memory().numTensors;
    const e = encoderFromStateDict(sd, DEFAULT_MODEL_CONFIG, 'model.pth');
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    e.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('state_dict mapping', () => {
  it('encoderToStateDict(encoderFromStateDict(sd)) gives back the same keys, order, shapes and values', async () => {
    const back = await encoderToStateDict(enc);
    expect([...back.keys()]).toEqual([...sd.keys()]);
    for (const [k, v] of sd) {
      const w = back.get(k)!;
      expect(w.shape, k).toEqual(v.shape);
      expect(w.dtype, k).toBe(v.dtype);
      expect(sameBits(w.data, v.data), `${k} values`).toBe(true);
    }
  });

  it('readoutHostParams: PyTorch layouts of the stored tensors', async () => {
    const p = await readoutHostParams(enc.readout());
    const R = 'readout.26872-17-20.';
    expect(p).toMatchObject({ neurons: 7776, channels: 64, gaussType: 'full', hasBias: true, sourceDims: 2 });
    expect(sameBits(p.features, sd.get(`${R}_features`)!.data)).toBe(true);
    expect(sameBits(p.bias, sd.get(`${R}bias`)!.data)).toBe(true);
    expect(sameBits(p.sigma, sd.get(`${R}sigma`)!.data)).toBe(true);
    expect(sameBits(p.sourceGrid!, sd.get(`${R}source_grid`)!.data)).toBe(true);
    expect(p.positionNetwork!.layers.map((l) => [l.outFeatures, l.inFeatures])).toEqual([
      [30, 2],
      [2, 30],
    ]);
    expect(sameBits(p.positionNetwork!.layers[1].weight, sd.get(`${R}mu_transform.2.weight`)!.data)).toBe(true);
    expectClose('grid', p.grid, npy('grid.npy').data, 1e-6, 0);
  });
});

describe('FullGaussian2d variants (neuralpredictors sample_grid formulas)', () => {
  const N = 5;
  const rng = new Rng(5);
  const mu = Float32Array.from([0.1, -0.2, 0.95, 0.3, -0.5, 0.5, 1.4, -1.2, 0, 0]); // neuron 3 outside [-1, 1]
  const noise = rng.normalArray(2 * N * 2);
  const make = (gaussType: 'full' | 'uncorrelated' | 'isotropic', sigma: Float32Array): FullGaussian2d =>
    new FullGaussian2d({
      neurons: N,
      channels: 2,
      gaussType,
      features: rng.normalArray(2 * N),
      bias: null,
      sigma,
      mu: Float32Array.from(mu),
    });
  const clamp = (v: number): number => Math.max(-1, Math.min(1, v));

  it('uncorrelated: clamp(noise * sigma + mu), free mu clamped in place first', async () => {
    const sigma = Float32Array.from([0.1, 0.2, 0.3, 0.05, 0.2, 0.2, 0.4, 0.1, 0.01, 0.5]);
    const r = make('uncorrelated', sigma);
    const g = await r.sampleGrid(2, noise).data();
    const want: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let n = 0; n < N; n++)
        for (let c = 0; c < 2; c++) {
          want.push(clamp(noise[(b * N + n) * 2 + c] * sigma[n * 2 + c] + clamp(mu[n * 2 + c])));
        }
    expectClose('uncorrelated', g, want, 1e-6, 0);
    expect(Array.from(await r.mu!.data())).toEqual(Array.from(mu, clamp)); // neuralpredictors' self.mu.clamp_
    r.dispose();
  });

  it('isotropic: one sigma for x and y', async () => {
    const sigma = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5]);
    const r = make('isotropic', sigma);
    const g = await r.sampleGrid(2, noise).data();
    const want: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let n = 0; n < N; n++)
        for (let c = 0; c < 2; c++) {
          want.push(clamp(noise[(b * N + n) * 2 + c] * sigma[n] + clamp(mu[n * 2 + c])));
        }
    expectClose('isotropic', g, want, 1e-6, 0);
    r.dispose();
  });

  it('full: row = output coordinate, column = noise component; eval grid = clamp(mu)', async () => {
    const sigma = rng.normalArray(N * 4).map((v) => v * 0.3);
    const r = make('full', sigma);
    const g = await r.sampleGrid(2, noise).data();
    const want: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let n = 0; n < N; n++)
        for (let c = 0; c < 2; c++) {
          const z = noise.subarray((b * N + n) * 2, (b * N + n) * 2 + 2);
          want.push(clamp(sigma[n * 4 + c * 2] * z[0] + sigma[n * 4 + c * 2 + 1] * z[1] + clamp(mu[n * 2 + c])));
        }
    expectClose('full', g, want, 1e-6, 0);
    expect(Array.from(await r.grid().data())).toEqual(Array.from(mu, clamp));
    // Noise drawn inside is reproducible from the readout's seed.
    r.rng = new Rng(9);
    const a = await r.sampleGrid(3).data();
    r.rng = new Rng(9);
    expect(Array.from(await r.sampleGrid(3).data())).toEqual(Array.from(a));
    r.dispose();
  });
});
