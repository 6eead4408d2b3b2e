/**
 * k-means clustering (Lloyd's algorithm) with k-means++ initialization (Arthur & Vassilvitskii 2007), seeded by
 * the project's Rng, restarted several times from different seeds; the run with the lowest inertia (sum of
 * squared distances of the rows to their cluster's centroid) wins, as in scikit-learn's KMeans(n_init=...).
 * An emptied cluster is restarted at the row farthest from its centroid. Labels are numbered by cluster size,
 * largest first (ties: the cluster whose first row comes first), so the same partition always gets the same
 * labels and colors.
 */
import { Rng } from '../util/rng';
import { type Matrix, squaredDistance } from './matrix';
import { columnMoments } from './scaling';

export interface KMeansOptions {
  /** Seed of the Rng that draws the initial centroids (default 0); or a generator to draw from. */
  seed?: number;
  rng?: Rng;
  /** Independent k-means++ starts; the lowest inertia is kept (default 4). */
  restarts?: number;
  /** Lloyd iterations per start at most (default 300). */
  maxIterations?: number;
  /**
   * A start stops when no label changes, or when the centroids moved less than this times the columns' mean
   * variance (summed squared shift; default 1e-4, scikit-learn's tol). 0: only when no label changes.
   */
  tolerance?: number;
}

export interface KMeansResult {
  k: number;
  /** Cluster of each row, 0..k-1, numbered by cluster size (largest first). */
  labels: Int32Array;
  /** Cluster means, (k, cols) row-major, in label order. */
  centroids: Float64Array;
  /** Sum over rows of the squared distance to their centroid. */
  inertia: number;
  /** Lloyd iterations of the winning start. */
  iterations: number;
}

/**
 * k-means++ seeding: the first centroid a uniformly drawn row, each next one a row drawn with probability
 * proportional to D(x)^2, its squared distance to the nearest centroid so far.
 */
export function kmeansPlusPlus(m: Matrix, k: number, rng: Rng): Float64Array {
  const { rows: n, cols: d, data } = m;
  const centroids = new Float64Array(k * d);
  const nearest = new Float64Array(n).fill(Infinity);
  let pick = rng.int(n);
  for (let j = 0; j < k; j++) {
    for (let c = 0; c < d; c++) centroids[j * d + c] = data[pick * d + c];
    if (j === k - 1) break;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dist = squaredDistance(data, i, centroids, j, d);
      if (dist < nearest[i]) nearest[i] = dist;
      total += nearest[i];
    }
    if (total === 0) {
      // Fewer distinct rows than k: any row will do; Lloyd's step empties and reseeds the duplicates.
      pick = rng.int(n);
      continue;
    }
    let u = rng.uniform() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      u -= nearest[i];
      if (u < 0) {
        pick = i;
        break;
      }
    }
  }
  return centroids;
}

function lloyd(
  m: Matrix,
  k: number,
  centroids: Float64Array,
  maxIterations: number,
  shiftTolerance: number,
): Omit<KMeansResult, 'k'> {
  const { rows: n, cols: d } = m;
  const data = Float64Array.from(m.data);
  const labels = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  const counts = new Int32Array(k);
  const previous = new Float64Array(k * d);
  let iterations = 0;
  let converged = false;
  for (;;) {
    // Assignment: each row to its nearest centroid (the distance loop inlined: this is the hot path).
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const oi = i * d;
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < k; j++) {
        const oj = j * d;
        // Partial distance search: stop summing once this centroid is already farther than the best one.
        let q = 0;
        for (let c0 = 0; c0 < d && q < bestD; c0 += 8) {
          const c1 = Math.min(d, c0 + 8);
          for (let c = c0; c < c1; c++) {
            const t = data[oi + c] - centroids[oj + c];
            q += t * t;
          }
        }
        if (q < bestD) {
          bestD = q;
          best = j;
        }
      }
      dist[i] = bestD;
      if (labels[i] !== best) {
        labels[i] = best;
        changed++;
      }
    }
    if (changed === 0 || converged || iterations >= maxIterations) break;
    iterations++;
    // Update: each centroid to its rows' mean.
    previous.set(centroids);
    centroids.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const j = labels[i];
      counts[j]++;
      for (let c = 0; c < d; c++) centroids[j * d + c] += data[i * d + c];
    }
    for (let j = 0; j < k; j++) {
      if (counts[j] > 0) {
        for (let c = 0; c < d; c++) centroids[j * d + c] /= counts[j];
        continue;
      }
      // Empty cluster: move it to the row worst served by its current centroid (and stop that row being picked again).
      let far = 0;
      for (let i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
      for (let c = 0; c < d; c++) centroids[j * d + c] = data[far * d + c];
      dist[far] = 0;
    }
    // Converged when the centroids barely moved (scikit-learn's tol rule); one more assignment makes the labels
    // those of the final centroids.
    let shift = 0;
    for (let i = 0; i < k * d; i++) shift += (centroids[i] - previous[i]) ** 2;
    converged = shift <= shiftTolerance;
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += dist[i];
  return { labels, centroids, inertia, iterations };
}

/** Renumber clusters by size (largest first; ties by first row) and reorder the centroids to match. */
function canonical(r: Omit<KMeansResult, 'k'>, k: number, d: number): Omit<KMeansResult, 'k'> {
  const counts = new Int32Array(k);
  const first = new Int32Array(k).fill(r.labels.length);
  r.labels.forEach((l, i) => {
    counts[l]++;
    if (i < first[l]) first[l] = i;
  });
  const order = Array.from({ length: k }, (_v, j) => j).sort((a, b) => counts[b] - counts[a] || first[a] - first[b]);
  const rename = new Int32Array(k);
  order.forEach((old, j) => {
    rename[old] = j;
  });
  const labels = r.labels.map((l) => rename[l]);
  const centroids = new Float64Array(k * d);
  order.forEach((old, j) => centroids.set(r.centroids.subarray(old * d, (old + 1) * d), j * d));
  return { ...r, labels, centroids };
}

export function kmeans(m: Matrix, k: number, opts: KMeansOptions = {}): KMeansResult {
  const { rows: n, cols: d } = m;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`k-means needs 1 <= k <= ${n} rows, got k = ${k}`);
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const restarts = Math.max(1, opts.restarts ?? 4);
  const maxIterations = opts.maxIterations ?? 300;
  // scikit-learn's tolerance: tol times the mean variance of the columns, on the summed squared centroid shift.
  const { std } = columnMoments(m);
  let meanVariance = 0;
  for (const s of std) meanVariance += (s * s) / Math.max(1, d);
  const shiftTolerance = (opts.tolerance ?? 1e-4) * meanVariance;
  let best: Omit<KMeansResult, 'k'> | null = null;
  for (let r = 0; r < restarts; r++) {
    const run = lloyd(m, k, kmeansPlusPlus(m, k, rng), maxIterations, shiftTolerance);
    if (!best || run.inertia < best.inertia) best = run;
  }
  return { k, ...canonical(best!, k, d) };
}
