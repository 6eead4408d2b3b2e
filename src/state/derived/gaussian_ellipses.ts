/**
 * The readout's Gaussians as the views draw them: each neuron's position distribution mu + Sigma . eps
 * (eps ~ N(0, I), see src/train/readout/gaussian_positions.ts) has covariance Sigma Sigma^T, so its confidence region
 * at probability p is the ellipse {mu + r Sigma u : |u| <= 1} with r = sqrt(-2 ln(1 - p)) (the chi-square
 * quantile with 2 degrees of freedom). Plain arrays; the pixel maps come from readout_geometry.ts.
 */

import { sigmaMatrix } from '../../model/readout_types';
import { samplePositions } from '../../train/readout/gaussian_positions';
import { Rng } from '../../util/rng';
import { gridToPixel, type ReadoutGeometry } from './readout_geometry';

/** Radius in units of eps that holds probability p of a 2-D standard normal: sqrt(chi2_2 quantile). */
export function confidenceRadius(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`confidence must be in (0, 1), got ${p}`);
  return Math.sqrt(-2 * Math.log(1 - p));
}

export interface EllipseAxes {
  /** Semi-axes, rx >= ry >= 0. */
  rx: number;
  ry: number;
  /** Direction of the rx axis, radians from +x towards +y. */
  angle: number;
}

/**
 * The ellipse {A u : |u| <= 1} for A = [a, b; c, d]: semi-axes are the square roots of the eigenvalues of
 * C = A A^T, the major one along C's leading eigenvector.
 */
export function ellipseOf(a: number, b: number, c: number, d: number): EllipseAxes {
  const cxx = a * a + b * b;
  const cyy = c * c + d * d;
  const cxy = a * c + b * d;
  const mean = (cxx + cyy) / 2;
  const spread = Math.hypot((cxx - cyy) / 2, cxy);
  return {
    rx: Math.sqrt(mean + spread),
    ry: Math.sqrt(Math.max(mean - spread, 0)),
    angle: 0.5 * Math.atan2(2 * cxy, cxx - cyy),
  };
}

/** Input pixels per grid unit along x and y (grid -1..1 spans the feature map, see gridToPixel). */
export function pixelsPerGridUnit(g: Pick<ReadoutGeometry, 'featureSize' | 'mapX' | 'mapY'>): [number, number] {
  const [fh, fw] = g.featureSize;
  return [(g.mapX.scale * (fw - 1)) / 2, (g.mapY.scale * (fh - 1)) / 2];
}

/**
 * Every neuron's confidence ellipse in input pixels: (N, 3) = rx, ry (pixels) and the angle (radians).
 * The clamp of sampled positions to [-1, 1] is ignored (it only cuts ellipses that reach past the feature map).
 */
export function pixelEllipses(g: ReadoutGeometry, p: number): Float32Array {
  const r = confidenceRadius(p);
  const [kx, ky] = pixelsPerGridUnit(g);
  const out = new Float32Array(g.neurons * 3);
  for (let n = 0; n < g.neurons; n++) {
    const [a, b, c, d] = sigmaMatrix(g.sigma, g.gaussType, n);
    const e = ellipseOf(r * kx * a, r * kx * b, r * ky * c, r * ky * d);
    out[3 * n] = e.rx;
    out[3 * n + 1] = e.ry;
    out[3 * n + 2] = e.angle;
  }
  return out;
}

/**
 * `draws` sampled positions per neuron, clamp(mu + Sigma eps, -1, 1), in input pixels: (draws, N, 2). Seeded,
 * so the cloud of a loaded model does not flicker between renders.
 */
export function sampledPixels(g: ReadoutGeometry, draws: number, seed = 1): Float32Array {
  return sampledPixelsWith(g, new Rng(seed).normalArray(draws * g.neurons * 2));
}

/** The same for given standard-normal draws `eps` (draws, N, 2), in PyTorch's (b, n, d) order. */
export function sampledPixelsWith(g: ReadoutGeometry, eps: Float32Array): Float32Array {
  const grid = new Float32Array(eps.length);
  samplePositions(g.gaussType, g.grid, g.sigma, eps, g.neurons, grid, new Uint8Array(grid.length));
  return gridPositionsToPixels(g, grid);
}

/** (…, 2) grid positions (x, y) -> input pixels with the geometry's maps. */
export function gridPositionsToPixels(
  g: Pick<ReadoutGeometry, 'featureSize' | 'mapX' | 'mapY'>,
  grid: ArrayLike<number>,
): Float32Array {
  const [fh, fw] = g.featureSize;
  const out = new Float32Array(grid.length);
  for (let i = 0; i < grid.length; i += 2) {
    out[i] = gridToPixel(grid[i], fw, g.mapX);
    out[i + 1] = gridToPixel(grid[i + 1], fh, g.mapY);
  }
  return out;
}
