import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fromRows, type Matrix } from '../../src/analysis/matrix';
import { pca } from '../../src/analysis/pca';
import { columnMoments, scaleFeatures } from '../../src/analysis/scaling';
import { symmetricEigen } from '../../src/analysis/symmetric_eigen';
import { Rng } from '../../src/util/rng';
import { findNumpyPython } from '../metrics/reference_python';

/** n rows: t * u (t ~ N(0, 3^2)) + N(0, 0.1^2) noise, plus an offset: one dominant axis u. */
function alongAxis(u: number[], n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const d = u.length;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const t = 3 * rng.normal();
    for (let c = 0; c < d; c++) data[i * d + c] = 5 + t * u[c] + 0.1 * rng.normal();
  }
  return { data, rows: n, cols: d };
}

describe('symmetric eigensolver', () => {
  it('diagonalizes a random symmetric matrix: A v = lambda v, orthonormal vectors, descending values', () => {
    const rng = new Rng(1);
    for (const d of [1, 2, 5, 16, 64]) {
      const a = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = i; j < d; j++) a[i * d + j] = a[j * d + i] = rng.normal();
      const { values, vectors } = symmetricEigen(a, d);
      for (let k = 0; k < d; k++) {
        if (k > 0) expect(values[k]).toBeLessThanOrEqual(values[k - 1]);
        for (let i = 0; i < d; i++) {
          let av = 0;
          for (let j = 0; j < d; j++) av += a[i * d + j] * vectors[k * d + j];
          expect(Math.abs(av - values[k] * vectors[k * d + i])).toBeLessThan(1e-10);
        }
        for (let l = 0; l < d; l++) {
          let dot = 0;
          for (let j = 0; j < d; j++) dot += vectors[k * d + j] * vectors[l * d + j];
          expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
      let trace = 0;
      let sum = 0;
      for (let i = 0; i < d; i++) {
        trace += a[i * d + i];
        sum += values[i];
      }
      expect(sum).toBeCloseTo(trace, 10);
    }
  });

  it('knows a 2 x 2 by hand: [[2, 1], [1, 2]] has 3 along (1, 1)/sqrt 2 and 1 along (1, -1)/sqrt 2', () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    expect(values[0]).toBeCloseTo(3, 14);
    expect(values[1]).toBeCloseTo(1, 14);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 14);
    expect(vectors[0] * vectors[1]).toBeCloseTo(0.5, 14);
    expect(vectors[2] * vectors[3]).toBeCloseTo(-0.5, 14);
  });
});

describe('PCA', () => {
  it('recovers a known dominant axis, with its sign fixed and the variance it explains', () => {
    const u = [1 / 3, 2 / 3, -2 / 3, 0];
    const m = alongAxis(u, 2000, 2);
    const p = pca(m);
    // Sign rule: the largest-magnitude loading (2/3 and -2/3 tie up to noise) is positive.
    const axis = Array.from(p.axes.subarray(0, 4));
    const dot = axis.reduce((s, a, c) => s + a * u[c], 0);
    expect(Math.abs(dot)).toBeGreaterThan(0.999);
    const big = axis.reduce((b, a, c) => (Math.abs(a) > Math.abs(axis[b]) ? c : b), 0);
    expect(axis[big]).toBeGreaterThan(0);
    // Variance along u is 9 (+ 0.01 of noise), across it 0.01 per direction: ratio 9.01 / 9.04.
    expect(p.variance[0]).toBeGreaterThan(8.3);
    expect(p.variance[0]).toBeLessThan(9.7);
    expect(p.explainedRatio[0]).toBeGreaterThan(0.995);
    expect(p.variance[1]).toBeLessThan(0.012);
    // The coordinates are the centred rows projected: mean 0, variance = the axis variance.
    let s = 0;
    let ss = 0;
    for (let i = 0; i < m.rows; i++) {
      s += p.coords[2 * i];
      ss += p.coords[2 * i] ** 2;
    }
    expect(Math.abs(s / m.rows)).toBeLessThan(1e-9);
    expect(ss / (m.rows - 1)).toBeCloseTo(p.variance[0], 9);
  });

  it('matches a hand computation on four points', () => {
    // (±2, 0) and (0, ±1): covariance diag(8/3, 2/3); axes x then y; coords are the points themselves.
    const p = pca(
      fromRows([
        [2, 0],
        [-2, 0],
        [0, 1],
        [0, -1],
      ]),
    );
    expect(Array.from(p.variance)).toEqual([expect.closeTo(8 / 3, 14), expect.closeTo(2 / 3, 14)]);
    expect(Array.from(p.explainedRatio)).toEqual([expect.closeTo(0.8, 14), expect.closeTo(0.2, 14)]);
    expect(Array.from(p.coords)).toEqual([2, 0, -2, 0, 0, 1, 0, -1].map((v) => expect.closeTo(v, 14)));
  });

  it('standardize gives the correlation PCA: a large-unit column no longer dominates', () => {
    const rng = new Rng(5);
    const rows = Array.from({ length: 500 }, () => {
      const a = rng.normal();
      return [1000 * rng.normal(), a, a + 0.3 * rng.normal()];
    });
    const raw = pca(fromRows(rows));
    expect(Math.abs(raw.axes[0])).toBeGreaterThan(0.9999); // the 1000x column
    const z = pca(fromRows(rows), { standardize: true });
    // The two correlated columns make the first axis: loadings ~ (0, 1, 1)/sqrt 2.
    expect(Math.abs(z.axes[0])).toBeLessThan(0.15);
    expect(z.axes[1]).toBeCloseTo(Math.SQRT1_2, 1);
    expect(z.axes[2]).toBeCloseTo(Math.SQRT1_2, 1);
  });

  it('agrees with NumPy (SVD of the centred data)', (ctx) => {
    const py = findNumpyPython();
    if ('reason' in py) {
      console.log(`skipping the NumPy PCA check: ${py.reason}`);
      ctx.skip();
      return;
    }
    const rng = new Rng(7);
    const n = 300;
    const d = 24;
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const f = [rng.normal() * 3, rng.normal() * 2];
      for (let c = 0; c < d; c++) data[i * d + c] = f[0] * Math.sin(c) + f[1] * Math.cos(2 * c) + 0.2 * rng.normal();
    }
    const ours = pca({ data, rows: n, cols: d });
    const script = `
import json, sys, numpy as np
x = np.array(json.load(sys.stdin), dtype=np.float64).reshape(${n}, ${d})
xc = x - x.mean(0)
u, s, vt = np.linalg.svd(xc, full_matrices=False)
vt = vt[:2]
vt *= np.sign(vt[np.arange(2), np.abs(vt).argmax(1)])[:, None]
print(json.dumps({"axes": vt.ravel().tolist(), "coords": (xc @ vt.T).ravel().tolist(),
                  "ratio": (s[:2] ** 2 / (s ** 2).sum()).tolist()}))`;
    const r = spawnSync(py.python!, ['-c', script], { input: JSON.stringify(Array.from(data)), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(r.stdout) as { axes: number[]; coords: number[]; ratio: number[] };
    ref.axes.forEach((v, i) => expect(Math.abs(ours.axes[i] - v)).toBeLessThan(1e-10));
    ref.coords.forEach((v, i) => expect(Math.abs(ours.coords[i] - v)).toBeLessThan(1e-9));
    ref.ratio.forEach((v, i) => expect(Math.abs(ours.explainedRatio[i] - v)).toBeLessThan(1e-12));
  });
});

describe('feature scaling', () => {
  const m = fromRows([
    [3, 4, 0],
    [0, 0, 0],
    [1, 0, 5],
    [-2, 2, 5],
  ]);
  it('unit: every non-zero row has length 1 and keeps its direction; a zero row stays zero', () => {
    const u = scaleFeatures(m, 'unit');
    expect(Array.from(u.data.subarray(0, 3))).toEqual([0.6, 0.8, 0].map((v) => expect.closeTo(v, 15)));
    expect(Array.from(u.data.subarray(3, 6))).toEqual([0, 0, 0]);
    for (const r of [2, 3]) {
      let s = 0;
      for (let c = 0; c < 3; c++) s += u.data[r * 3 + c] ** 2;
      expect(s).toBeCloseTo(1, 14);
    }
  });
  it('standardize: columns of mean 0 and population std 1; a constant column is only centred', () => {
    const z = scaleFeatures(
      fromRows([
        [1, 7],
        [2, 7],
        [3, 7],
        [6, 7],
      ]),
      'standardize',
    );
    const { mean, std } = columnMoments(z);
    expect(mean[0]).toBeCloseTo(0, 14);
    expect(std[0]).toBeCloseTo(1, 14);
    expect(Array.from(z.data.filter((_v, i) => i % 2 === 1))).toEqual([0, 0, 0, 0]);
  });
  it('none copies; an unknown mode is refused', () => {
    const n = scaleFeatures(m, 'none');
    expect(Array.from(n.data)).toEqual(Array.from(m.data));
    expect(n.data).not.toBe(m.data);
    expect(() => scaleFeatures(m, 'log' as never)).toThrow(/unknown feature scaling/);
  });
});
