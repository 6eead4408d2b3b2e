/**
 * A factorized readout's masks as outlines on the stimulus ("where", Klindt et al. 2017): for each neuron the
 * contour of its mask's |weight| at a fraction of its largest |weight| (half maximum by default), by marching
 * squares (d3-contour) on the core's output map, then mapped to input pixels with the readout geometry's maps.
 * Plain arrays; what the Learned readout positions view draws for a factorized readout.
 */
import { contours } from 'd3';
import type { FactorizedMasks, ReadoutGeometry } from './readout_geometry';

/** One neuron's outline: closed rings in input pixels (x = column, y = row); holes are rings too (even-odd). */
export type MaskOutline = Array<Array<[number, number]>>;

/**
 * Rings of neuron n's mask where |m| >= level * max|m|, in feature-map pixels (pixel centres at integers). A mask of
 * zeros has none. d3-contour puts value (x, y) at (x + 0.5, y + 0.5); the half pixel is taken off here.
 */
export function maskRingsInFeaturePixels(f: FactorizedMasks, n: number, level = 0.5): MaskOutline {
  if (!(level > 0 && level < 1)) throw new RangeError(`contour level must be in (0, 1), got ${level}`);
  const { height: H, width: W } = f;
  const HW = H * W;
  const peak = f.maxAbs[n];
  if (!(peak > 0)) return [];
  const values = new Float64Array(HW);
  for (let p = 0; p < HW; p++) values[p] = Math.abs(f.masks[n * HW + p]);
  const [shape] = contours()
    .size([W, H])
    .thresholds([level * peak])(Array.from(values));
  const rings: MaskOutline = [];
  for (const polygon of shape.coordinates) {
    for (const ring of polygon) rings.push(ring.map(([x, y]) => [x - 0.5, y - 0.5] as [number, number]));
  }
  return rings;
}

/** Every neuron's outline at `level` of its maximum, in input pixels; null without masks (Gaussian, snapshot). */
export function maskOutlines(
  g: Pick<ReadoutGeometry, 'factorized' | 'mapX' | 'mapY'>,
  level = 0.5,
): MaskOutline[] | null {
  const f = g.factorized;
  if (!f) return null;
  const N = f.geometry.neurons;
  // Feature pixel -> input pixel, the maps gridToPixel applies to the positions.
  const toX = (fx: number) => g.mapX.scale * fx + g.mapX.offset;
  const toY = (fy: number) => g.mapY.scale * fy + g.mapY.offset;
  const out: MaskOutline[] = [];
  for (let n = 0; n < N; n++) {
    out.push(
      maskRingsInFeaturePixels(f, n, level).map((ring) => ring.map(([x, y]) => [toX(x), toY(y)] as [number, number])),
    );
  }
  return out;
}

/** An outline as an SVG path (even-odd fill keeps holes open), through the plot's scales. */
export function outlinePath(outline: MaskOutline, x: (v: number) => number, y: (v: number) => number): string {
  return outline.map((ring) => `M${ring.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('L')}Z`).join('');
}
