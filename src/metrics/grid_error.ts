/** How far learned readout positions are from known true ones (simulated scans): median distance in grid units. */
export function medianGridError(positions: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (positions.length !== truth.length || truth.length % 2)
    throw new Error(`positions (${positions.length / 2}) and truth (${truth.length / 2}) differ in neuron count`);
  const n = truth.length / 2;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++)
    d[i] = Math.hypot(positions[2 * i] - truth[2 * i], positions[2 * i + 1] - truth[2 * i + 1]);
  d.sort();
  return n % 2 ? d[(n - 1) / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
}
