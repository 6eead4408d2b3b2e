/**
 * Small heatmaps on canvases: lookup tables for a diverging map (signed weights, symmetric around zero) and
 * the sequential maps of the view settings, and painting one (H, W) slab of a row-major array.
 * RdBu (blue negative, red positive) is ColorBrewer's colorblind-safe diverging scheme: its two arms differ
 * in hue and lightness, so signs stay apart for deutan and protan vision, and zero is the light middle.
 */
import * as d3 from 'd3';

export type Lut = Uint8ClampedArray;

function lut(interpolate: (t: number) => string, steps = 256): Lut {
  const out = new Uint8ClampedArray(steps * 3);
  for (let i = 0; i < steps; i++) {
    const c = d3.rgb(interpolate(i / (steps - 1)));
    out[3 * i] = c.r;
    out[3 * i + 1] = c.g;
    out[3 * i + 2] = c.b;
  }
  return out;
}

/** Diverging: t = 0 most negative (blue), 0.5 zero (near white), 1 most positive (red). */
export const divergingInterpolate = (t: number): string => d3.interpolateRdBu(1 - t);
export const DIVERGING_LUT = lut(divergingInterpolate);

const sequentialLuts = new Map<(t: number) => string, Lut>();
/** A sequential map's table, built once per interpolator. */
export function sequentialLut(interpolate: (t: number) => string): Lut {
  let l = sequentialLuts.get(interpolate);
  if (!l) {
    l = lut(interpolate);
    sequentialLuts.set(interpolate, l);
  }
  return l;
}

/** Color of a signed value on a symmetric scale [-limit, limit]. */
export function divergingColor(value: number, limit: number): string {
  return divergingInterpolate(limit > 0 ? Math.min(1, Math.max(0, 0.5 + value / (2 * limit))) : 0.5);
}

/**
 * Paints `data[offset .. offset + h*w)` into a canvas of w x h pixels, mapping [lo, hi] onto the table
 * (values outside are clamped; lo = hi paints the middle color).
 */
export function paintHeatmap(
  canvas: HTMLCanvasElement,
  data: ArrayLike<number>,
  offset: number,
  h: number,
  w: number,
  lo: number,
  hi: number,
  table: Lut,
): void {
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  const steps = table.length / 3;
  const scale = hi > lo ? (steps - 1) / (hi - lo) : 0;
  for (let i = 0; i < h * w; i++) {
    const v = data[offset + i];
    const k = scale ? Math.min(steps - 1, Math.max(0, Math.round((v - lo) * scale))) : (steps - 1) >> 1;
    img.data[4 * i] = table[3 * k];
    img.data[4 * i + 1] = table[3 * k + 1];
    img.data[4 * i + 2] = table[3 * k + 2];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Largest |value| in data[offset .. offset + n). */
export function maxAbs(data: ArrayLike<number>, offset: number, n: number): number {
  let m = 0;
  for (let i = offset; i < offset + n; i++) m = Math.max(m, Math.abs(data[i]));
  return m;
}

/** CSS gradient of an interpolator, for legends. */
export function gradient(interpolate: (t: number) => string, steps = 12): string {
  return `linear-gradient(to right, ${d3
    .range(steps + 1)
    .map((i) => interpolate(i / steps))
    .join(', ')})`;
}

/** A number for a label: 3 significant decimals, minus sign as typeset. */
export function fmt(v: number, digits = 3): string {
  return v.toFixed(digits).replace('-', '−');
}
