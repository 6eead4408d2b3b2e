/** Test data: well-separated Gaussian blobs with known labels, reproducible by seed. */

import type { Matrix } from '../../src/analysis/matrix';
import { Rng } from '../../src/util/rng';

/**
 * `k` blobs of `perBlob` rows in `dims` dimensions: centres drawn uniformly in a box of half-width
 * `spread` and kept at least `minGap` apart, rows N(centre, noise^2 I). Rows are shuffled.
 */
export function blobs(
  k: number,
  perBlob: number,
  dims: number,
  seed: number,
  { spread = 10, minGap = 6, noise = 0.5 } = {},
): { m: Matrix; labels: Int32Array; centres: Float64Array } {
  const rng = new Rng(seed);
  const centres = new Float64Array(k * dims);
  for (let j = 0; j < k; j++) {
    for (let tries = 0; ; tries++) {
      if (tries > 10_000) throw new Error('cannot place the blobs that far apart');
      for (let c = 0; c < dims; c++) centres[j * dims + c] = rng.range(-spread, spread);
      let ok = true;
      for (let i = 0; i < j && ok; i++) {
        let q = 0;
        for (let c = 0; c < dims; c++) q += (centres[i * dims + c] - centres[j * dims + c]) ** 2;
        ok = Math.sqrt(q) >= minGap;
      }
      if (ok) break;
    }
  }
  const n = k * perBlob;
  const order = rng.permutation(n);
  const data = new Float64Array(n * dims);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const j = Math.floor(r / perBlob);
    const i = order[r];
    labels[i] = j;
    for (let c = 0; c < dims; c++) data[i * dims + c] = centres[j * dims + c] + noise * rng.normal();
  }
  return { m: { data, rows: n, cols: dims }, labels, centres };
}
