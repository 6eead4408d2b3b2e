/**
 * The hand-written pieces checked against independent references on small random inputs (cpu backend):
 * grid_sample (host loops and tfjs ops) vs a float64 transcription of the PyTorch formula and its
 * finite-difference gradients. (The wasm conv gradient kernels are checked in test/backend.)
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { gridSample, setGridSampleMode } from '../../src/model/grid_sample';
import { Rng } from '../../src/util/rng';
import { expectClose } from './fixture';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

/** float64 grid_sample(align_corners=True, zeros) of one image (H, W, C) at (x, y), straight from the PyTorch docs. */
function refSample(fm: Float64Array, H: number, W: number, C: number, x: number, y: number): Float64Array {
  const ix = ((x + 1) / 2) * (W - 1);
  const iy = ((y + 1) / 2) * (H - 1);
  const x0 = Math.floor(ix);
  const y0 = Math.floor(iy);
  const out = new Float64Array(C);
  const px = (r: number, q: number, c: number): number =>
    r >= 0 && r < H && q >= 0 && q < W ? fm[(r * W + q) * C + c] : 0;
  for (let c = 0; c < C; c++) {
    const nw = px(y0, x0, c),
      ne = px(y0, x0 + 1, c),
      sw = px(y0 + 1, x0, c),
      se = px(y0 + 1, x0 + 1, c);
    out[c] =
      nw * (x0 + 1 - ix) * (y0 + 1 - iy) +
      ne * (ix - x0) * (y0 + 1 - iy) +
      sw * (x0 + 1 - ix) * (iy - y0) +
      se * (ix - x0) * (iy - y0);
  }
  return out;
}

describe.each(['host', 'ops'] as const)('grid_sample (%s) against a float64 reference', (mode) => {
  const B = 2,
    H = 5,
    W = 7,
    C = 3;
  const rng = new Rng(11);
  const fmData = rng.normalArray(B * H * W * C);
  // Interior points, exact pixel centres, the corners +-1, and edges.
  const pts: [number, number][] = [
    [0.13, -0.41],
    [-0.77, 0.62],
    [1, 1],
    [-1, -1],
    [1, -0.3],
    [-0.2, 1],
    [0, 0],
    [2 / 6 - 1, 0.5],
  ];
  const N = pts.length;

  it('forward, shared grid and per-image grid', async () => {
    setGridSampleMode(mode);
    const fm = tf.tensor4d(fmData, [B, H, W, C]);
    const shared = tf.tensor2d(pts.flat(), [N, 2]);
    const perImage = tf.tensor3d([...pts.flat(), ...pts.flatMap(([x, y]) => [-y * 0.9, x * 0.8])], [B, N, 2]);
    const a = await gridSample(fm, shared).data();
    const b = await gridSample(fm, perImage).data();
    const pi = await perImage.data();
    const refA: number[] = [];
    const refB: number[] = [];
    for (let bb = 0; bb < B; bb++) {
      const img = Float64Array.from(fmData.subarray(bb * H * W * C, (bb + 1) * H * W * C));
      for (let n = 0; n < N; n++) {
        refA.push(...refSample(img, H, W, C, pts[n][0], pts[n][1]));
        refB.push(...refSample(img, H, W, C, pi[(bb * N + n) * 2], pi[(bb * N + n) * 2 + 1]));
      }
    }
    expectClose('shared', a, refA, 1e-6, 1e-6);
    expectClose('per image', b, refB, 1e-6, 1e-6);
    tf.dispose([fm, shared, perImage]);
    setGridSampleMode('auto');
  });

  it('gradients: feature map exact, grid by central differences', async () => {
    setGridSampleMode(mode);
    const inner: [number, number][] = [
      [0.13, -0.41],
      [-0.77, 0.62],
      [0.55, 0.05],
      [-0.3, -0.9],
    ]; // off the pixel lattice
    const M = inner.length;
    const fm = tf.tensor4d(fmData, [B, H, W, C]);
    const gridT = tf.tensor3d([...inner.flat(), ...inner.flatMap(([x, y]) => [y, x])], [B, M, 2]);
    const r = rng.normalArray(B * M * C);
    const rT = tf.tensor3d(r, [B, M, C]);
    const [dFm, dGrid] = tf.grads((f: tf.Tensor, g: tf.Tensor) =>
      gridSample(f as tf.Tensor4D, g as tf.Tensor3D)
        .mul(rT)
        .sum(),
    )([fm, gridT]);
    const gData = Float64Array.from(await gridT.data());
    const loss = (g: Float64Array, f: Float64Array): number => {
      let s = 0;
      for (let bb = 0; bb < B; bb++) {
        const img = f.subarray(bb * H * W * C, (bb + 1) * H * W * C);
        for (let m = 0; m < M; m++) {
          const v = refSample(img, H, W, C, g[(bb * M + m) * 2], g[(bb * M + m) * 2 + 1]);
          for (let c = 0; c < C; c++) s += v[c] * r[(bb * M + m) * C + c];
        }
      }
      return s;
    };
    const f64 = Float64Array.from(fmData);
    const numGrid: number[] = [];
    const eps = 1e-6;
    for (let i = 0; i < gData.length; i++) {
      const p = Float64Array.from(gData);
      p[i] += eps;
      const q = Float64Array.from(gData);
      q[i] -= eps;
      numGrid.push((loss(p, f64) - loss(q, f64)) / (2 * eps));
    }
    expectClose('d grid', await dGrid.data(), numGrid, 1e-4, 1e-4);
    // The output is linear in the feature map, so one-hot perturbations give its gradient exactly.
    const numFm: number[] = [];
    const base = loss(gData, f64);
    for (let i = 0; i < f64.length; i++) {
      const p = Float64Array.from(f64);
      p[i] += 1;
      numFm.push(loss(gData, p) - base);
    }
    expectClose('d feature map', await dFm.data(), numFm, 1e-5, 1e-5);
    tf.dispose([fm, gridT, rT, dFm, dGrid]);
    setGridSampleMode('auto');
  });
});

describe('Rng', () => {
  it('is reproducible for a seed and roughly standard normal', () => {
    const a = new Rng(3).normalArray(20000);
    expect(Array.from(new Rng(3).normalArray(5))).toEqual(Array.from(a.subarray(0, 5)));
    expect(Array.from(new Rng(4).normalArray(5))).not.toEqual(Array.from(a.subarray(0, 5)));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });
});
