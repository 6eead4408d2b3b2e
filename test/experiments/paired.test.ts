/**
 * Paired differences between two conditions (src/experiments/paired.ts) against a hand computation: only the seeds
 * both conditions finished are paired, the interval is the t-interval of the differences (not of either condition),
 * and an unknown condition is an error naming the spec's conditions.
 */
import { describe, expect, it } from 'vitest';
import { pairedDifferences } from '../../src/experiments/paired';
import type { CellResult } from '../../src/experiments/runner';
import { parseExperimentSpec } from '../../src/experiments/spec';

const spec = parseExperimentSpec({
  scan: 's.zip',
  conditions: [{ core: 'direct' }, { core: 'random' }],
  sizes: [10, 20],
  seeds: [1, 2, 3, 4],
});

function cell(condition: string, size: number, seed: number, f: number): CellResult {
  return {
    key: `h:${condition}:${size}:${seed}`,
    hash: 'h',
    condition,
    core: condition === 'direct' ? 'direct' : 'random',
    readout: { kind: 'gaussian', positions: 'retinotopy' },
    size,
    seed,
    test_correlation: f / 2,
    correlation_to_average: null,
    oracle: null,
    fraction_oracle: f,
    feve: null,
    best_val_correlation: 0,
    epochs: 1,
    stop_reason: 'patience',
    hit_cap: false,
    seconds: 0,
  };
}

describe('pairedDifferences', () => {
  it('pairs seeds both conditions have and gives the t-interval of the differences', () => {
    // size 10: direct 0.5, 0.6, 0.7 (+ seed 4 without a partner), random 0.4, 0.4, 0.5: differences 0.1, 0.2, 0.2
    const cells = [
      cell('direct', 10, 1, 0.5),
      cell('direct', 10, 2, 0.6),
      cell('direct', 10, 3, 0.7),
      cell('direct', 10, 4, 0.9),
      cell('random', 10, 1, 0.4),
      cell('random', 10, 2, 0.4),
      cell('random', 10, 3, 0.5),
      cell('random', 20, 1, 0.1),
    ];
    const [d] = pairedDifferences(spec, cells, 'direct', 'random');
    expect(d.size).toBe(10);
    expect(d.runs).toEqual(['1', '2', '3']);
    d.differences.forEach((x, i) => expect(x).toBeCloseTo([0.1, 0.2, 0.2][i], 12));
    // mean 0.166667, sd 0.057735, se 0.033333, t(0.975, 2) = 4.302653: half-width 0.143422
    expect(d.summary.mean).toBeCloseTo(0.166667, 6);
    expect(d.summary.low).toBeCloseTo(0.023245, 5);
    expect(d.summary.high).toBeCloseTo(0.310088, 5);
    expect(d.a_better).toBe(3);
    // size 20 has no pair; the test correlation is another metric
    expect(pairedDifferences(spec, cells, 'direct', 'random')).toHaveLength(1);
    expect(pairedDifferences(spec, cells, 'direct', 'random', 'test_correlation')[0].summary.mean).toBeCloseTo(
      0.083333,
      6,
    );
    expect(() => pairedDifferences(spec, cells, 'direct', 'shared')).toThrow(/no condition 'shared'.*direct, random/);
  });
});
