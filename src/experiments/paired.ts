/**
 * Two conditions of one experiment compared seed by seed: a cell of condition `a` and one of `b` with the same size,
 * partition and seed had the same training images and the same initialization seed, so their difference removes
 * what the seed and the data share (e.g. feature sharing on vs off from the same start). Per size: the mean of the
 * per-seed differences a - b with its 95% Student t-interval (interval.ts), over the seeds both conditions have.
 */
import { type SeedSummary, summarizeSeeds } from './interval';
import type { CellResult } from './runner';
import type { ExperimentSpec } from './spec';

export type PairedMetric = 'fraction_oracle' | 'test_correlation';

export interface PairedDifference {
  size: number;
  /** The `${partition}:${seed}` runs present in both conditions (partition omitted without `partitions`). */
  runs: string[];
  /** a - b per run, in `runs` order. */
  differences: number[];
  summary: SeedSummary;
  /** Runs where a is larger. */
  a_better: number;
}

/** Per size of the spec, a - b over the runs both conditions finished (sizes without any pair are left out). */
export function pairedDifferences(
  spec: ExperimentSpec,
  cells: readonly CellResult[],
  a: string,
  b: string,
  metric: PairedMetric = 'fraction_oracle',
): PairedDifference[] {
  for (const name of [a, b]) {
    if (!spec.conditions.some((c) => c.name === name))
      throw new Error(`no condition '${name}' in the spec (${spec.conditions.map((c) => c.name).join(', ')})`);
  }
  const run = (c: CellResult) => (c.partition === undefined ? `${c.seed}` : `${c.partition}:${c.seed}`);
  const out: PairedDifference[] = [];
  for (const size of spec.sizes) {
    const of = (name: string) =>
      new Map(cells.filter((c) => c.condition === name && c.size === size).map((c) => [run(c), c[metric]]));
    const [ma, mb] = [of(a), of(b)];
    const runs = [...ma.keys()].filter((k) => mb.has(k)).sort();
    if (runs.length === 0) continue;
    const differences = runs.map((k) => (ma.get(k) ?? Number.NaN) - (mb.get(k) ?? Number.NaN));
    out.push({
      size,
      runs,
      differences,
      summary: summarizeSeeds(differences),
      a_better: differences.filter((d) => d > 0).length,
    });
  }
  return out;
}
