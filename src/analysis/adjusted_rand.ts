/**
 * Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same items: the fraction of item
 * pairs on which they agree (both together or both apart), corrected for chance so that random labelings score
 * 0 on average and identical partitions 1, whatever the label names (a permutation of labels changes nothing).
 * It can be negative (less agreement than chance). From the contingency table n_ij with row sums a_i, column
 * sums b_j and n items:
 *
 *   index = sum_ij C(n_ij, 2),  expected = sum_i C(a_i, 2) * sum_j C(b_j, 2) / C(n, 2),
 *   max = (sum_i C(a_i, 2) + sum_j C(b_j, 2)) / 2,  ARI = (index - expected) / (max - expected).
 *
 * max = expected only when both labelings put every item in one cluster, or every item alone; the two
 * partitions are then identical and the ARI is 1 (as scikit-learn's adjusted_rand_score).
 */
import { contingency } from './contingency';

const pairs = (m: number): number => (m * (m - 1)) / 2;

export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const t = contingency(a, b);
  let index = 0;
  for (const v of t.counts) index += pairs(v);
  let sumA = 0;
  for (const v of t.rowSums) sumA += pairs(v);
  let sumB = 0;
  for (const v of t.colSums) sumB += pairs(v);
  const expected = t.total > 1 ? (sumA * sumB) / pairs(t.total) : 0;
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}
