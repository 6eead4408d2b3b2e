/**
 * A factorized readout's masks ("where", Klindt et al. 2017) on host arrays: the mask each neuron's forward pass
 * uses (neuralpredictors' `normalized_spatial`), and where and how large it is. What the exports' per-neuron rows,
 * the live snapshots and the views take as a factorized neuron's position and size.
 *
 * Positions are in grid units as the Gaussian readout's (x along the map's width, y along its height, -1 and 1 the
 * centres of the first and last pixels, as grid_sample with align_corners=True), so positions of either readout
 * compare directly; sizes are in feature-map pixels.
 */
import type { FactorizedOptions } from './readout_types';

/** neuralpredictors' epsilon in the mask normalization, added after the square root (= FACTORIZED_NORM_EPS). */
const NORM_EPS = 1e-6;

/**
 * The masks the forward pass uses, (N, h*w): spatial / (|spatial_n|_2 + 1e-6) with `normalize`, then max(., 0)
 * (`constrainPos`) or |.| (`positiveSpatial`), in float32 as torch computes it.
 */
export function effectiveMasks(
  spatial: ArrayLike<number>,
  neurons: number,
  height: number,
  width: number,
  o: Pick<FactorizedOptions, 'normalize' | 'constrainPos' | 'positiveSpatial'>,
): Float32Array {
  const HW = height * width;
  if (spatial.length !== neurons * HW)
    throw new Error(`spatial has ${spatial.length} values, expected ${neurons} x ${height} x ${width}`);
  const out = new Float32Array(neurons * HW);
  for (let n = 0; n < neurons; n++) {
    const o0 = n * HW;
    let scale = 1;
    if (o.normalize) {
      let ss = 0;
      for (let p = 0; p < HW; p++) ss += spatial[o0 + p] * spatial[o0 + p];
      scale = Math.fround(Math.fround(Math.sqrt(Math.fround(ss))) + NORM_EPS);
    }
    for (let p = 0; p < HW; p++) {
      let w = o.normalize ? spatial[o0 + p] / scale : spatial[o0 + p];
      if (o.constrainPos) {
        if (w < 0) w = 0;
      } else if (o.positiveSpatial) w = Math.abs(w);
      out[o0 + p] = w;
    }
  }
  return out;
}

/** Where each neuron's mask is and how large, from its weights' squares (a distribution over the map's pixels). */
export interface MaskGeometry {
  neurons: number;
  height: number;
  width: number;
  /**
   * (N, 2) the mask's peak (x, y), grid units: the pixel of largest |m|, refined to the centroid of m^2 over its
   * 3x3 neighbourhood (so it is not stuck to the pixel grid). The neuron's position ("where").
   */
  peak: Float32Array;
  /** (N, 2) the centroid of m^2 over the whole map (x, y), grid units. */
  centre: Float32Array;
  /** (N) the spread: root mean square distance from the centroid under m^2, in feature-map pixels. */
  spread: Float32Array;
  /** (N) the size: how many pixels have |m| at least half the largest |m|. */
  halfMaxPixels: Int32Array;
}

/** Pixel coordinate (0 .. size-1) -> grid units (-1 .. 1, align_corners=True); 0 for a map of one pixel. */
export function pixelToGrid(pixel: number, size: number): number {
  return size > 1 ? -1 + (2 * pixel) / (size - 1) : 0;
}

/** One grid unit in pixels along an axis of `size` pixels (the inverse scale of pixelToGrid). */
export function pixelsPerGridUnit(size: number): number {
  return size > 1 ? (size - 1) / 2 : 1;
}

/** The geometry of masks (N, h*w) as effectiveMasks gives them. A mask of zeros sits at the centre, size 0. */
export function maskGeometry(masks: ArrayLike<number>, neurons: number, height: number, width: number): MaskGeometry {
  const H = height,
    W = width,
    HW = H * W,
    N = neurons;
  if (masks.length !== N * HW) throw new Error(`masks have ${masks.length} values, expected ${N} x ${H} x ${W}`);
  const peak = new Float32Array(2 * N),
    centre = new Float32Array(2 * N),
    spread = new Float32Array(N);
  const halfMaxPixels = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const o = n * HW;
    let best = 0,
      bi = -1,
      total = 0,
      sx = 0,
      sy = 0;
    for (let p = 0; p < HW; p++) {
      const v = masks[o + p],
        a = Math.abs(v),
        e = v * v;
      if (a > best) {
        best = a;
        bi = p;
      }
      total += e;
      sx += e * (p % W);
      sy += e * Math.floor(p / W);
    }
    if (bi < 0 || total === 0) {
      peak[2 * n] = peak[2 * n + 1] = centre[2 * n] = centre[2 * n + 1] = 0;
      continue;
    }
    const cx = sx / total,
      cy = sy / total;
    let v2 = 0,
      count = 0;
    for (let p = 0; p < HW; p++) {
      const v = masks[o + p],
        e = v * v;
      const dx = (p % W) - cx,
        dy = Math.floor(p / W) - cy;
      v2 += e * (dx * dx + dy * dy);
      if (Math.abs(v) >= best / 2) count++;
    }
    // the peak refined over its 3x3 neighbourhood
    const px = bi % W,
      py = Math.floor(bi / W);
    let lt = 0,
      lx = 0,
      ly = 0;
    for (let y = Math.max(0, py - 1); y <= Math.min(H - 1, py + 1); y++) {
      for (let x = Math.max(0, px - 1); x <= Math.min(W - 1, px + 1); x++) {
        const v = masks[o + y * W + x],
          e = v * v;
        lt += e;
        lx += e * x;
        ly += e * y;
      }
    }
    peak[2 * n] = pixelToGrid(lx / lt, W);
    peak[2 * n + 1] = pixelToGrid(ly / lt, H);
    centre[2 * n] = pixelToGrid(cx, W);
    centre[2 * n + 1] = pixelToGrid(cy, H);
    spread[n] = Math.sqrt(v2 / total);
    halfMaxPixels[n] = count;
  }
  return { neurons: N, height: H, width: W, peak, centre, spread, halfMaxPixels };
}

/**
 * Each neuron's barcode ("what") up to the factorized readout's sign symmetry: y = f . (m * x) is unchanged when
 * both mask and features flip sign, and an unconstrained mask is learned negative about half of the time (on a
 * simulated 4-type population, 99 of 200 neurons), which splits every cell type into two opposite barcodes.
 * Multiplying the features by the sign of the mask's largest-magnitude weight gives the feature vector the neuron
 * applies at its preferred location: what clustering and the Cell types view should compare.
 * `features` (N, C) row-major, `masks` the effective masks (N, h*w) as `effectiveMasks` gives them.
 */
export function signedBarcodes(
  features: ArrayLike<number>,
  masks: ArrayLike<number>,
  neurons: number,
  channels: number,
): Float32Array {
  const HW = masks.length / neurons;
  if (!Number.isInteger(HW) || features.length !== neurons * channels)
    throw new Error(`barcodes need features (${neurons}, ${channels}) and masks (${neurons}, h*w)`);
  const out = Float32Array.from(features);
  for (let n = 0; n < neurons; n++) {
    let extreme = 0;
    for (let p = n * HW; p < (n + 1) * HW; p++) if (Math.abs(masks[p]) > Math.abs(extreme)) extreme = masks[p];
    if (extreme < 0) for (let c = n * channels; c < (n + 1) * channels; c++) out[c] = -out[c];
  }
  return out;
}
