/** Color maps for values in [0, 1]: perceptually uniform and readable with color-vision deficiencies. */
import * as d3 from 'd3';
import type { ColorMapName } from '../state/slices/view_slice';

export const COLOR_MAPS: Record<ColorMapName, { label: string; interpolate: (t: number) => string }> = {
  viridis: { label: 'viridis', interpolate: d3.interpolateViridis },
  cividis: { label: 'cividis (optimized for color-vision deficiency)', interpolate: d3.interpolateCividis },
};

/** CSS linear-gradient of a color map, for legends. */
export function gradientCss(name: ColorMapName, steps = 12): string {
  const f = COLOR_MAPS[name].interpolate;
  return `linear-gradient(to right, ${d3
    .range(steps + 1)
    .map((i) => f(i / steps))
    .join(', ')})`;
}
