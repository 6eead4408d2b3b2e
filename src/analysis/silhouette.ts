/**
 * Silhouette of a clustering (Rousseeuw 1987), with Euclidean distances: for row i, a(i) is its mean distance
 * to the other rows of its cluster, b(i) the smallest mean distance to the rows of another cluster, and
 * s(i) = (b - a) / max(a, b), in [-1, 1] (1: well inside its cluster, 0: on a border, < 0: closer to another
 * cluster). A row alone in its cluster gets 0, as in scikit-learn. The score is the mean of s(i).
 * O(n^2 * cols): for large n, `sampleSize` scores a seeded random subset of the rows against each other (as
 * scikit-learn's silhouette_score(sample_size=...)), which estimates the same mean. Scoring many labelings of
 * the same rows (choose_k.ts) computes their distances once (`distanceMatrix`, `silhouetteFromDistances`).
 */
import { Rng } from '../util/rng';
import { type Matrix, takeRows } from './matrix';

/** Labels renumbered 0..k-1 (by first appearance) and the cluster sizes. */
function clusterIds(labels: ArrayLike<number>): { cluster: Int32Array; size: Int32Array } {
  const ids = new Map<number, number>();
  const cluster = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    let id = ids.get(labels[i]);
    if (id === undefined) {
      id = ids.size;
      ids.set(labels[i], id);
    }
    cluster[i] = id;
  }
  const size = new Int32Array(ids.size);
  for (const c of cluster) size[c]++;
  return { cluster, size };
}

/** s(i) from the row's summed distances to every cluster (`sums`, its own distance 0 included). */
function rowSilhouette(sums: Float64Array, own: number, size: Int32Array): number {
  if (size[own] === 1) return 0;
  const a = sums[own] / (size[own] - 1);
  let b = Infinity;
  for (let c = 0; c < size.length; c++) if (c !== own && size[c] > 0) b = Math.min(b, sums[c] / size[c]);
  const denom = Math.max(a, b);
  return denom > 0 ? (b - a) / denom : 0;
}

function checkClusters(k: number, n: number): void {
  if (k < 2 || k > n - 1) throw new Error(`the silhouette needs 2 to ${n - 1} clusters, got ${k}`);
}

/** s(i) for every row. Needs 2 <= number of clusters <= rows - 1. */
export function silhouetteSamples(m: Matrix, labels: ArrayLike<number>): Float64Array {
  const { rows: n, cols: d } = m;
  if (labels.length !== n) throw new Error(`${labels.length} labels for ${n} rows`);
  const data = Float64Array.from(m.data);
  const { cluster, size } = clusterIds(labels);
  checkClusters(size.length, n);
  const s = new Float64Array(n);
  const sums = new Float64Array(size.length);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    const oi = i * d;
    for (let j = 0; j < n; j++) {
      const oj = j * d;
      let q = 0;
      for (let c = 0; c < d; c++) {
        const t = data[oi + c] - data[oj + c];
        q += t * t;
      }
      sums[cluster[j]] += Math.sqrt(q);
    }
    s[i] = rowSilhouette(sums, cluster[i], size);
  }
  return s;
}

/** All pairwise Euclidean distances, (rows, rows) row-major, float32 (2000 rows: 16 MB). */
export function distanceMatrix(m: Matrix): Float32Array {
  const { rows: n, cols: d } = m;
  const data = Float64Array.from(m.data);
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * d;
    for (let j = i + 1; j < n; j++) {
      const oj = j * d;
      let q = 0;
      for (let c = 0; c < d; c++) {
        const t = data[oi + c] - data[oj + c];
        q += t * t;
      }
      out[i * n + j] = out[j * n + i] = Math.sqrt(q);
    }
  }
  return out;
}

/** Mean silhouette from precomputed distances (`distanceMatrix`). NaN unless 2 <= clusters <= n - 1. */
export function silhouetteFromDistances(dist: Float32Array, n: number, labels: ArrayLike<number>): number {
  if (dist.length !== n * n || labels.length !== n) {
    throw new Error(`distances for ${Math.sqrt(dist.length)} rows, ${labels.length} labels, n = ${n}`);
  }
  const { cluster, size } = clusterIds(labels);
  if (size.length < 2 || size.length > n - 1) return NaN;
  const sums = new Float64Array(size.length);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    const oi = i * n;
    for (let j = 0; j < n; j++) sums[cluster[j]] += dist[oi + j];
    total += rowSilhouette(sums, cluster[i], size);
  }
  return total / n;
}

export interface SilhouetteOptions {
  /** Score only this many rows, drawn without replacement (default: all). */
  sampleSize?: number;
  /** Seed of the draw (default 0). */
  seed?: number;
}

/** The rows a silhouette with `sampleSize` scores: all of them, or a seeded draw (sorted). */
export function silhouetteRows(rows: number, opts: SilhouetteOptions = {}): Int32Array | null {
  if (opts.sampleSize === undefined || opts.sampleSize >= rows) return null;
  return new Rng(opts.seed ?? 0).sample(rows, opts.sampleSize).sort();
}

/**
 * Mean silhouette; with `sampleSize` < rows, over a seeded random subset (scored among themselves). NaN when the
 * subset holds fewer than 2 clusters (a tiny cluster may be missed by the draw); on all rows that is an error.
 */
export function silhouetteScore(m: Matrix, labels: ArrayLike<number>, opts: SilhouetteOptions = {}): number {
  const pick = silhouetteRows(m.rows, opts);
  if (pick) {
    const subLabels = Array.from(pick, (i) => labels[i]);
    const k = new Set(subLabels).size;
    if (k < 2 || k > pick.length - 1) return NaN;
    const s = silhouetteSamples(takeRows(m, pick), subLabels);
    return s.reduce((a, b) => a + b, 0) / s.length;
  }
  const s = silhouetteSamples(m, labels);
  return s.reduce((a, b) => a + b, 0) / s.length;
}
