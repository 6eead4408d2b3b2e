/**
 * Eigenvalues and eigenvectors of a real symmetric matrix by the cyclic Jacobi method (Golub & Van Loan,
 * Matrix Computations, 8.5): plane rotations zero the off-diagonal entries one by one until their norm is
 * negligible. O(d^3) per sweep and a handful of sweeps, which is instant for the d = 16..128 channels of a
 * core (a 128 x 128 covariance in a few ms), accurate to machine precision, and simple enough to check by hand;
 * no library needed.
 */

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Unit eigenvectors as rows, in the order of `values`: vector k is vectors[k * d .. (k + 1) * d). */
  vectors: Float64Array;
}

const MAX_SWEEPS = 100;

/** `a`: a d x d symmetric matrix, row-major (only read; symmetry is assumed, the upper triangle is used). */
export function symmetricEigen(a: ArrayLike<number>, d: number): SymmetricEigen {
  if (a.length !== d * d) throw new Error(`a ${d} x ${d} matrix needs ${d * d} values, got ${a.length}`);
  const A = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      A[i * d + j] = a[i * d + j];
      A[j * d + i] = a[i * d + j];
    }
  }
  // V accumulates the rotations: A_original = V diag(A_final) V^T, eigenvectors in V's columns.
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;

  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += A[i] * A[i];
  const tolerance = 1e-30 * Math.max(scale, Number.MIN_VALUE);
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let off = 0;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) off += A[i * d + j] ** 2;
    if (off <= tolerance) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q];
        if (apq === 0) continue;
        // The rotation that zeroes A[p, q]: tan(theta) = t, the smaller root of t^2 + 2 tau t - 1 = 0.
        const tau = (A[q * d + q] - A[p * d + p]) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A <- J^T A J with J the rotation in the (p, q) plane: columns, then rows.
        for (let k = 0; k < d; k++) {
          const akp = A[k * d + p];
          const akq = A[k * d + q];
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = A[p * d + k];
          const aqk = A[q * d + k];
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p];
          const vkq = V[k * d + q];
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_v, i) => i).sort((i, j) => A[j * d + j] - A[i * d + i] || i - j);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((col, k) => {
    values[k] = A[col * d + col];
    for (let i = 0; i < d; i++) vectors[k * d + i] = V[i * d + col];
  });
  return { values, vectors };
}
