/**
 * How feature vectors are scaled before they are embedded or clustered:
 * - `none`: as they are;
 * - `unit`: each row (neuron) divided by its Euclidean length, so neurons compare by the *pattern* of their
 *   feature weights (which channels, in what proportion) and not by their overall strength, which mixes in a
 *   neuron's gain (how strongly it responds at all). A row of zeros stays zeros;
 * - `standardize`: each column (channel) centred and divided by its standard deviation (population, ddof 0,
 *   as scikit-learn's StandardScaler; a constant column is only centred), so every channel counts the same.
 */
import type { Matrix } from './matrix';

export type FeatureScaling = 'none' | 'unit' | 'standardize';

export const FEATURE_SCALINGS: readonly FeatureScaling[] = ['none', 'unit', 'standardize'];

export function scaleFeatures(m: Matrix, mode: FeatureScaling): Matrix {
  const { rows: n, cols: d } = m;
  const out = Float64Array.from(m.data);
  if (mode === 'unit') {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += out[i * d + c] ** 2;
      if (s > 0) {
        const inv = 1 / Math.sqrt(s);
        for (let c = 0; c < d; c++) out[i * d + c] *= inv;
      }
    }
  } else if (mode === 'standardize') {
    const { mean, std } = columnMoments(m);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < d; c++) out[i * d + c] = (out[i * d + c] - mean[c]) / (std[c] > 0 ? std[c] : 1);
    }
  } else if (mode !== 'none') {
    throw new Error(`unknown feature scaling '${String(mode)}' (none, unit or standardize)`);
  }
  return { data: out, rows: n, cols: d };
}

/** Column means and population standard deviations (ddof 0). */
export function columnMoments(m: Matrix): { mean: Float64Array; std: Float64Array } {
  const { rows: n, cols: d, data } = m;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c] += data[i * d + c];
  for (let c = 0; c < d; c++) mean[c] /= Math.max(1, n);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) std[c] += (data[i * d + c] - mean[c]) ** 2;
  for (let c = 0; c < d; c++) std[c] = Math.sqrt(std[c] / Math.max(1, n));
  return { mean, std };
}
