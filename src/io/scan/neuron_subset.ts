/**
 * A loaded scan restricted to some of its neurons, and seeded neuron draws: what an experiment needs to train on
 * fewer neurons, or to split one scan's neurons into a set that trains a core and a disjoint set the core is then
 * transferred to (Lurz et al. 2021, Fig. 4). Trials, images and tiers are shared with the original (not copied);
 * every per-neuron array (responses' columns, ids and labels, cortical coordinates, response statistics, the
 * normalizer's precisions) is taken in the order given, so normalization is exactly the original's per neuron.
 */
import { Rng } from '../../util/rng';
import type { Scan } from './types';

/** `scan` with only the neurons at `rows` (0-based columns of its responses, in this order, no repeats). */
export function scanWithNeurons(scan: Scan, rows: ArrayLike<number>, name = scan.name): Scan {
  const N = scan.nNeurons;
  const n = rows.length;
  if (n === 0) throw new Error(`scan ${scan.name}: a neuron subset needs at least one neuron`);
  const seen = new Uint8Array(N);
  for (let j = 0; j < n; j++) {
    const r = rows[j];
    if (!Number.isInteger(r) || r < 0 || r >= N) {
      throw new Error(`scan ${scan.name}: neuron ${r} is not one of its ${N} neurons (0..${N - 1})`);
    }
    if (seen[r]) throw new Error(`scan ${scan.name}: neuron ${r} is listed twice in a subset`);
    seen[r] = 1;
  }
  const idx = Array.from(rows);
  const T = scan.nTrials;
  const responses = new Float32Array(T * n);
  for (let t = 0; t < T; t++) {
    const src = t * N;
    const dst = t * n;
    for (let j = 0; j < n; j++) responses[dst + j] = scan.responses[src + idx[j]];
  }
  const pick = <X>(xs: X[] | undefined): X[] | undefined => xs && idx.map((r) => xs[r]);
  const pickF = (a: Float32Array | undefined): Float32Array | undefined => a && Float32Array.from(idx, (r) => a[r]);
  const pickRows = (a: Float32Array | undefined, cols: number): Float32Array | undefined => {
    if (!a || cols === 0) return undefined;
    const out = new Float32Array(n * cols);
    idx.forEach((r, j) => out.set(a.subarray(cols * r, cols * r + cols), cols * j));
    return out;
  };
  const s = scan.statistics.responses;
  const unitIds = pick(scan.neurons.unitIds)!;
  return {
    ...scan,
    name,
    nNeurons: n,
    responses,
    neurons: {
      index: Int32Array.from(idx, (r) => scan.neurons.index[r]),
      unitIds,
      animalIds: pick(scan.neurons.animalIds),
      sessions: pick(scan.neurons.sessions),
      scanIdx: pick(scan.neurons.scanIdx),
      area: pick(scan.neurons.area),
      layer: pick(scan.neurons.layer),
      cellTypes: pick(scan.neurons.cellTypes),
    },
    unitIds,
    cellMotorCoordinates: pickRows(
      scan.cellMotorCoordinates,
      scan.cellMotorCoordinates ? scan.cellMotorCoordinates.length / N : 0,
    ),
    statistics: {
      ...scan.statistics,
      responses: {
        mean: pickF(s.mean)!,
        std: pickF(s.std)!,
        min: pickF(s.min),
        max: pickF(s.max),
        median: pickF(s.median),
      },
    },
    normalizer: { ...scan.normalizer, responsePrecision: pickF(scan.normalizer.responsePrecision)! },
    warnings: [...scan.warnings],
  };
}

/**
 * Disjoint seeded draws of `counts[k]` neurons out of `total`: one permutation of 0..total-1 by `seed`, cut into
 * consecutive pieces, each sorted. A draw of fewer neurons with the same seed is a prefix of the same order, so
 * a split's sets stay the same when only a later set's size changes.
 */
export function drawNeurons(total: number, counts: readonly number[], seed: number): Int32Array[] {
  const need = counts.reduce((a, b) => a + b, 0);
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`neuron counts must be >= 1: ${counts}`);
  if (need > total) throw new Error(`${counts.join(' + ')} = ${need} neurons asked, the scan has ${total}`);
  const order = new Rng(seed).permutation(total);
  const out: Int32Array[] = [];
  let at = 0;
  for (const c of counts) {
    out.push(Int32Array.from(order.subarray(at, at + c)).sort());
    at += c;
  }
  return out;
}
