/** Legend of the cortical-position colors of the field views: the axis, its range and the color bar. */
import type { ReactNode } from 'react';
import type { ColorMapName, CorticalColorAxis } from '../../state/slices/view_slice';
import { gradientCss } from '../colormaps';

export function CorticalLegend({
  colors,
  axis,
  colorMap,
  cortexDims,
  unitsNote = '',
  noColors,
  children,
}: {
  /** The range the colors span (from corticalColorValues), or null for a readout without cortical coordinates. */
  colors: { lo: number; hi: number } | null;
  axis: CorticalColorAxis;
  colorMap: ColorMapName;
  cortexDims: number;
  /** Appended to the units in parentheses. */
  unitsNote?: string;
  /** What shows instead when there is nothing to color by. */
  noColors: string;
  /** More of the legend, after the colors. */
  children?: ReactNode;
}) {
  return (
    <div className="legend small">
      {colors ? (
        <>
          <span>
            cortical {axis} {colors.lo.toFixed(2)}
          </span>
          <span className="legend-bar" style={{ background: gradientCss(colorMap) }} />
          <span>{colors.hi.toFixed(2)}</span>
          <span className="muted">
            ({cortexDims === 3 ? 'cell_motor_coordinates, µm' : 'source_grid units'}
            {unitsNote})
          </span>
        </>
      ) : (
        <span className="muted">{noColors}</span>
      )}
      {children}
    </div>
  );
}
