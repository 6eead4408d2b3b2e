/**
 * The contingency table of two labelings of the same items: how many items have label r in the first and label
 * c in the second (a confusion matrix when one labeling is the truth). Labels are any integers; rows and
 * columns follow the sorted distinct labels.
 */

export interface Contingency {
  /** Distinct labels of the first labeling (rows) and of the second (columns), ascending. */
  rowLabels: number[];
  colLabels: number[];
  /** (rowLabels.length, colLabels.length) row-major counts. */
  counts: Int32Array;
  /** Items per row and per column, and in all. */
  rowSums: Int32Array;
  colSums: Int32Array;
  total: number;
}

export function contingency(a: ArrayLike<number>, b: ArrayLike<number>): Contingency {
  if (a.length !== b.length) throw new Error(`labelings of different lengths: ${a.length} and ${b.length}`);
  const distinct = (x: ArrayLike<number>) => [...new Set(Array.from(x))].sort((p, q) => p - q);
  const rowLabels = distinct(a);
  const colLabels = distinct(b);
  const ri = new Map(rowLabels.map((l, i) => [l, i]));
  const ci = new Map(colLabels.map((l, i) => [l, i]));
  const R = rowLabels.length;
  const C = colLabels.length;
  const counts = new Int32Array(R * C);
  const rowSums = new Int32Array(R);
  const colSums = new Int32Array(C);
  for (let i = 0; i < a.length; i++) {
    const r = ri.get(a[i])!;
    const c = ci.get(b[i])!;
    counts[r * C + c]++;
    rowSums[r]++;
    colSums[c]++;
  }
  return { rowLabels, colLabels, counts, rowSums, colSums, total: a.length };
}
