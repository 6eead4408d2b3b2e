/**
 * A suggested number of clusters: k-means for every k in kMin..kMax (default 2..10), each scored by its mean
 * silhouette (silhouette.ts). The rule: the k with the highest mean silhouette; on a tie (within 1e-9) the
 * smaller k. The silhouette compares within- and between-cluster distances, so it cannot score k = 1: a
 * population without clusters still gets a suggestion, with a low score (below ~0.25 the structure is weak, by
 * Rousseeuw's rule of thumb; the view shows the whole curve so that this can be seen). Every k's labels are
 * kept, so a user picking another k gets it at once.
 */
import { Rng } from '../util/rng';
import { kmeans } from './kmeans';
import { type Matrix, takeRows } from './matrix';
import { distanceMatrix, silhouetteFromDistances, silhouetteRows } from './silhouette';

export interface KSweepOptions {
  kMin?: number;
  kMax?: number;
  /** Seed of k-means (each k its own stream derived from it) and of the silhouette's subsample (default 0). */
  seed?: number;
  /** k-means starts per k (default 4, kmeans.ts). */
  restarts?: number;
  /** Rows the silhouette is computed on at most (a seeded subset beyond; default 2000). */
  silhouetteSample?: number;
  /** Called after each k, e.g. for a progress bar. */
  onProgress?(done: number, total: number): void;
}

export interface KSweep {
  ks: number[];
  /** Mean silhouette of each k's clustering (NaN if it could not be computed). */
  silhouette: number[];
  /** k-means inertia of each k (for an elbow plot). */
  inertia: number[];
  /** Cluster labels of each k (kmeans.ts numbering: largest cluster first). */
  labels: Int32Array[];
  /** The suggested k (see the rule above). */
  suggested: number;
}

export const SILHOUETTE_TIE = 1e-9;

/** The suggestion rule on its own: highest score, smaller k on ties; NaN scores never win. */
export function bestK(ks: readonly number[], scores: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < ks.length; i++) {
    if (!Number.isFinite(scores[i])) continue;
    if (best < 0 || scores[i] > scores[best] + SILHOUETTE_TIE) best = i;
  }
  return best < 0 ? ks[0] : ks[best];
}

export function sweepK(m: Matrix, opts: KSweepOptions = {}): KSweep {
  const kMin = Math.max(2, opts.kMin ?? 2);
  const kMax = Math.min(opts.kMax ?? 10, m.rows - 1);
  if (kMax < kMin) throw new Error(`choosing k needs at least ${kMin + 1} rows, got ${m.rows}`);
  const seed = opts.seed ?? 0;
  const sample = opts.silhouetteSample ?? 2000;
  const ks: number[] = [];
  const silhouette: number[] = [];
  const inertia: number[] = [];
  const labels: Int32Array[] = [];
  const seeds = new Rng(seed);
  // The silhouette's rows (all, or a seeded subset) and their distances, once for every k.
  const pick = silhouetteRows(m.rows, { sampleSize: sample, seed });
  const scored = pick ? takeRows(m, pick) : m;
  const dist = distanceMatrix(scored);
  const total = kMax - kMin + 1;
  for (let k = kMin; k <= kMax; k++) {
    const r = kmeans(m, k, { rng: seeds.fork(), restarts: opts.restarts });
    ks.push(k);
    inertia.push(r.inertia);
    labels.push(r.labels);
    silhouette.push(silhouetteFromDistances(dist, scored.rows, pick ? Array.from(pick, (i) => r.labels[i]) : r.labels));
    opts.onProgress?.(k - kMin + 1, total);
  }
  return { ks, silhouette, inertia, labels, suggested: bestK(ks, silhouette) };
}
