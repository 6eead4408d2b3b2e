/**
 * Principal component analysis to a few dimensions (2 for the Cell types view's scatter): the eigenvectors of
 * the C x C covariance of the rows (symmetric_eigen.ts), the data centred and projected onto the first ones.
 * Like scikit-learn's PCA: covariance with n - 1, explained variance ratios over the total variance, and each
 * component's sign fixed so that its largest-magnitude loading is positive (svd_flip on the components, as
 * scikit-learn >= 1.5 does), so results are deterministic. `standardize` first z-scores every column (scaling.ts).
 */
import type { Matrix } from './matrix';
import { scaleFeatures } from './scaling';
import { symmetricEigen } from './symmetric_eigen';

export interface Pca {
  /** Projected rows, (rows, components) row-major: the coordinates of the scatter. */
  coords: Float64Array;
  components: number;
  /** Principal axes as rows, (components, cols) row-major: component k's loading on every column. */
  axes: Float64Array;
  /** Variance along each axis (eigenvalues of the covariance, n - 1 normalization). */
  variance: Float64Array;
  /** variance / total variance: the share of the data's spread each axis shows. */
  explainedRatio: Float64Array;
  /** Column means that were subtracted (of the standardized data when `standardize`). */
  mean: Float64Array;
}

export interface PcaOptions {
  /** How many principal components (default 2, at most the column count). */
  components?: number;
  /** z-score every column first (correlation instead of covariance PCA). Default false. */
  standardize?: boolean;
}

export function pca(input: Matrix, opts: PcaOptions = {}): Pca {
  const m = opts.standardize ? scaleFeatures(input, 'standardize') : input;
  const { rows: n, cols: d, data } = m;
  const k = Math.min(opts.components ?? 2, d);
  if (n < 2) throw new Error(`PCA needs at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c] += data[i * d + c];
  for (let c = 0; c < d; c++) mean[c] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) row[c] = data[i * d + c] - mean[c];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] /= n - 1;
      cov[b * d + a] = cov[a * d + b];
    }
  }
  const eig = symmetricEigen(cov, d);
  let total = 0;
  for (let c = 0; c < d; c++) total += cov[c * d + c];

  const axes = new Float64Array(k * d);
  const variance = new Float64Array(k);
  const explainedRatio = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let big = 0;
    for (let c = 0; c < d; c++) if (Math.abs(eig.vectors[j * d + c]) > Math.abs(eig.vectors[j * d + big])) big = c;
    const sign = eig.vectors[j * d + big] < 0 ? -1 : 1;
    for (let c = 0; c < d; c++) axes[j * d + c] = sign * eig.vectors[j * d + c];
    // Round-off can leave a tiny negative eigenvalue for rank-deficient data.
    variance[j] = Math.max(0, eig.values[j]);
    explainedRatio[j] = total > 0 ? variance[j] / total : 0;
  }
  const coords = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (data[i * d + c] - mean[c]) * axes[j * d + c];
      coords[i * k + j] = s;
    }
  }
  return { coords, components: k, axes, variance, explainedRatio, mean };
}
