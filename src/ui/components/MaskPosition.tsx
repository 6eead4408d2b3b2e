/**
 * What a neuron's position in the field views is, by readout kind: a FullGaussian2d's mean, or a FullFactorized2d
 * mask's peak or centre of mass (the user's choice, a view setting shared by the views), in words for the legends,
 * and the control that picks it.
 */
import type { ReadoutGeometry } from '../../state/derived/readout_geometry';
import type { MaskPosition } from '../../state/slices/view_slice';
import { useStore } from '../../state/store';

/** The legend's words for what the marks' positions are. */
export function positionSourceText(g: Pick<ReadoutGeometry, 'kind' | 'position' | 'factorized'>): string {
  if (g.kind === 'gaussian') return 'the Gaussian\u2019s mean \u03bc';
  if (!g.factorized) return 'the mask\u2019s peak (live from training)';
  return g.position === 'centroid'
    ? 'the mask\u2019s centre of mass (centroid of its squared weights)'
    : 'the mask\u2019s peak (its largest |weight|, refined over the 3\u00d73 pixels around it)';
}

/** Peak or centre of mass, for a factorized readout with masks (nothing otherwise). */
export function MaskPositionSelect({ geometry }: { geometry: Pick<ReadoutGeometry, 'kind' | 'factorized'> }) {
  const value = useStore((s) => s.view.maskPosition);
  const setView = useStore((s) => s.setView);
  if (geometry.kind !== 'factorized' || !geometry.factorized) return null;
  return (
    <label title="A factorized readout has a mask, not one position: each neuron at its mask's peak or centre of mass">
      position{' '}
      <select
        aria-label="Mask position"
        data-testid="mask-position"
        value={value}
        onChange={(e) => setView({ maskPosition: e.target.value as MaskPosition })}
      >
        <option value="peak">mask peak</option>
        <option value="centroid">centre of mass</option>
      </select>
    </label>
  );
}
