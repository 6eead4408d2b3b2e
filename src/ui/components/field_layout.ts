/**
 * Scales of a plot of the visual field in input pixels (pixel centres at integers), as the receptive-field and
 * Gaussians views draw it: a fixed-width SVG whose frame keeps the stimulus's aspect ratio.
 */
import * as d3 from 'd3';

/** viewBox width of a field plot; its height follows the image's aspect ratio. */
export const FIELD_PLOT_WIDTH = 560;
/** Margins around the frame: room for the axes and the x-axis label. */
export const FIELD_PLOT_MARGIN = { top: 8, right: 8, bottom: 38, left: 36 };

/** A frame on the stimulus in input pixels: [x0, x1, y0, y1]. */
export type FieldExtent = [number, number, number, number];

export interface FieldLayout {
  x: d3.ScaleLinear<number, number>;
  y: d3.ScaleLinear<number, number>;
  /** Screen units per image pixel (the same along x and y: the frame keeps the image's aspect). */
  k: number;
  /** viewBox height. */
  height: number;
  plotW: number;
  plotH: number;
}

/** Bounding box [x0, x1, y0, y1] of interleaved (x, y) points, grown from `box` (default: empty). */
export function boundingBox(
  xy: ArrayLike<number>,
  box: FieldExtent = [Infinity, -Infinity, Infinity, -Infinity],
): FieldExtent {
  let [x0, x1, y0, y1] = box;
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const px = xy[i],
      py = xy[i + 1];
    x0 = Math.min(x0, px);
    x1 = Math.max(x1, px);
    y0 = Math.min(y0, py);
    y1 = Math.max(y1, py);
  }
  return [x0, x1, y0, y1];
}

/**
 * A frame around `box` at the plot's aspect ratio (width / height), centred on it: each side at least 2 pixels,
 * widened by `pad` pixels on every side, then by the factor `grow`, then stretched along one axis to the aspect.
 */
export function frameAround([x0, x1, y0, y1]: FieldExtent, aspect: number, pad: number, grow: number): FieldExtent {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  let w = (Math.max(x1 - x0, 2) + 2 * pad) * grow;
  let h = (Math.max(y1 - y0, 2) + 2 * pad) * grow;
  if (w / h > aspect) h = w / aspect;
  else w = h * aspect;
  return [cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2];
}

/**
 * Scales for an image of imageSize [height, width]: the whole image, or the frame `zoom` picks for the plot's
 * aspect ratio (width / height).
 */
export function fieldLayout(imageSize: readonly [number, number], zoom?: (aspect: number) => FieldExtent): FieldLayout {
  const [ih, iw] = imageSize;
  const M = FIELD_PLOT_MARGIN;
  const plotW = FIELD_PLOT_WIDTH - M.left - M.right;
  const plotH = (plotW * ih) / iw;
  // Pixel centres at integers: the image spans [-0.5, size - 0.5].
  const [x0, x1, y0, y1] = zoom ? zoom(plotW / plotH) : [-0.5, iw - 0.5, -0.5, ih - 0.5];
  const x = d3
    .scaleLinear()
    .domain([x0, x1])
    .range([M.left, M.left + plotW]);
  const y = d3
    .scaleLinear()
    .domain([y0, y1])
    .range([M.top, M.top + plotH]);
  return { x, y, k: plotW / (x1 - x0), height: M.top + plotH + M.bottom, plotW, plotH };
}
