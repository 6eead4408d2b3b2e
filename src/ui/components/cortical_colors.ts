/**
 * Each neuron's color from its cortical position (the readout's source_grid or the scan's
 * cell_motor_coordinates), as the receptive-field view colors it, so the views read alike.
 */
import type { ReadoutGeometry } from '../../state/derived/readout_geometry';
import type { CorticalColorAxis } from '../../state/slices/view_slice';

/** Per-neuron value in [0, 1] along one cortical axis, and the range it came from; null without coordinates. */
export function corticalColorValues(
  g: ReadoutGeometry,
  axis: CorticalColorAxis,
): { t: Float32Array; lo: number; hi: number } | null {
  const { cortex, cortexDims, neurons } = g;
  if (!cortex || cortexDims < 2) return null;
  const k = axis === 'x' ? 0 : 1;
  let lo = Infinity;
  let hi = -Infinity;
  for (let n = 0; n < neurons; n++) {
    const v = cortex[n * cortexDims + k];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const t = new Float32Array(neurons);
  for (let n = 0; n < neurons; n++) t[n] = hi > lo ? (cortex[n * cortexDims + k] - lo) / (hi - lo) : 0.5;
  return { t, lo, hi };
}
