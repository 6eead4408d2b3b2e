/**
 * Pearson correlation per neuron over trials, as neuralpredictors' `measures.np_functions.corr(y1, y2, axis=0)`:
 * each variable is standardized with its population std (ddof 0) plus eps = 1e-8, and the product is averaged,
 * i.e. r = cov / ((sd1 + eps) * (sd2 + eps)). A constant variable therefore gives 0, not NaN; NaN can only come
 * from NaN input, and the Sensorium `get_correlations` sets such neurons to 0 (`nanToZero`).
 *
 * Arrays are row-major (trials, neurons); sums run in float64 whatever the input precision.
 */
export type Values = Float32Array | Float64Array;

export const CORR_EPS = 1e-8;

/** Number of trials in a row-major (trials, neurons) array, checking that the length fits. */
export function trialCount(values: Values, neurons: number, what = 'array'): number {
  if (!Number.isInteger(neurons) || neurons <= 0)
    throw new Error(`neuron count must be a positive integer, got ${neurons}`);
  if (values.length % neurons !== 0)
    throw new Error(`${what} has ${values.length} values, not a multiple of ${neurons} neurons`);
  return values.length / neurons;
}

/** Per-neuron mean over trials. */
export function columnMeans(values: Values, neurons: number): Float64Array {
  const trials = trialCount(values, neurons);
  const mean = new Float64Array(neurons);
  for (let t = 0; t < trials; t++) {
    const row = t * neurons;
    for (let n = 0; n < neurons; n++) mean[n] += values[row + n];
  }
  for (let n = 0; n < neurons; n++) mean[n] /= trials;
  return mean;
}

/**
 * Correlation of `a` and `b` (same shape, row-major (trials, neurons)) per neuron, neuralpredictors' `corr`
 * along the trial axis. Two passes (means, then centred sums) so that large offsets do not cost precision.
 */
export function correlationPerNeuron(a: Values, b: Values, neurons: number, eps = CORR_EPS): Float64Array {
  if (a.length !== b.length) throw new Error(`correlation of arrays with ${a.length} and ${b.length} values`);
  const trials = trialCount(a, neurons);
  const out = new Float64Array(neurons);
  if (trials === 0) return out.fill(NaN);
  const ma = columnMeans(a, neurons);
  const mb = columnMeans(b, neurons);
  const saa = new Float64Array(neurons);
  const sbb = new Float64Array(neurons);
  const sab = new Float64Array(neurons);
  for (let t = 0; t < trials; t++) {
    const row = t * neurons;
    for (let n = 0; n < neurons; n++) {
      const da = a[row + n] - ma[n];
      const db = b[row + n] - mb[n];
      saa[n] += da * da;
      sbb[n] += db * db;
      sab[n] += da * db;
    }
  }
  for (let n = 0; n < neurons; n++) {
    const sa = Math.sqrt(saa[n] / trials) + eps;
    const sb = Math.sqrt(sbb[n] / trials) + eps;
    out[n] = sab[n] / trials / (sa * sb);
  }
  return out;
}

/** Replaces NaN (and ±Inf) with 0 in place, as the Sensorium and Lurz code do before averaging; returns how many. */
export function nanToZero(x: Float64Array): number {
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      x[i] = 0;
      count++;
    }
  }
  return count;
}

/** Mean of a vector (NaN for an empty one). */
export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}
