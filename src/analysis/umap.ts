/**
 * A non-linear 2-D embedding: UMAP (McInnes, Healy & Melville 2018) through umap-js, the PAIR-code (Google)
 * TypeScript port of the reference implementation. Why it: it is the usual choice in JavaScript, MIT, with one
 * small dependency (ml-levenberg-marquardt), its latest release 1.4.0 (Dec 2024) widely used; it runs unchanged
 * in Node, the page and a Web Worker, and takes its random source as a parameter, so with the project's seeded
 * Rng the embedding is reproducible bit for bit (umap-js draws from nothing else; its Math.random default is
 * replaced). The t-SNE packages on npm are older and little maintained, and plain t-SNE is O(n^2) per iteration,
 * too slow for 8000 neurons in a browser.
 *
 * UMAP on 8000 x 16 features takes seconds (neighbour graph, then ~200-500 epochs of layout), so the page
 * runs it in a worker through `startUmap`, which exposes the epochs one step at a time for progress.
 */
import { UMAP } from 'umap-js';
import { Rng } from '../util/rng';
import type { Matrix } from './matrix';

export interface UmapOptions {
  /** Seed of the Rng that umap-js draws from (default 0). */
  seed?: number;
  /** Neighbours of the graph (default 15, at most rows - 1): larger keeps more global structure. */
  nNeighbors?: number;
  /** Minimum distance of embedded points (default 0.1): smaller packs clusters tighter. */
  minDist?: number;
  /** Layout epochs (default: umap-js's, 500 below 10,000 rows and 200 above). */
  nEpochs?: number;
}

/** A UMAP being laid out: `step` runs epochs, `embedding` reads the current layout. */
export interface UmapRun {
  /** Epochs in all. */
  epochs: number;
  /** Runs up to `count` more epochs; returns how many are done. */
  step(count?: number): number;
  /** The layout now, (rows, 2) row-major. */
  embedding(): Float64Array;
}

/** Builds the neighbour graph (the slow first part) and returns the layout to step through. */
export function startUmap(m: Matrix, opts: UmapOptions = {}): UmapRun {
  const { rows: n, cols: d, data } = m;
  if (n < 3) throw new Error(`UMAP needs at least 3 rows, got ${n}`);
  const rng = new Rng(opts.seed ?? 0);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(opts.nNeighbors ?? 15, n - 1),
    minDist: opts.minDist ?? 0.1,
    nEpochs: opts.nEpochs,
    random: () => rng.uniform(),
  });
  const rows = Array.from({ length: n }, (_v, i) => Array.from(data.subarray(i * d, (i + 1) * d)));
  const epochs = umap.initializeFit(rows);
  let done = 0;
  return {
    epochs,
    step(count = epochs) {
      const until = Math.min(epochs, done + count);
      while (done < until) done = umap.step();
      return done;
    },
    embedding() {
      const e = umap.getEmbedding();
      const out = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) {
        out[2 * i] = e[i][0];
        out[2 * i + 1] = e[i][1];
      }
      return out;
    },
  };
}

/** UMAP to 2-D in one call: (rows, 2) row-major. */
export function umap2d(m: Matrix, opts: UmapOptions = {}): Float64Array {
  const run = startUmap(m, opts);
  run.step();
  return run.embedding();
}
