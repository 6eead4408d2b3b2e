/**
 * Where each neuron looks: readout positions (grid units of the core's feature map) mapped onto the stimulus
 * (input pixels), the Gaussians' Sigma, the cortical coordinates the position network starts from, and the
 * retinotopic map drawn as a warped lattice. Read from the model once per load; plain arrays for the views.
 *
 * Either readout kind: a FullGaussian2d's position is its mean; a FullFactorized2d's ("where", Klindt et al. 2017)
 * is its mask's peak or centre of mass (`withMaskPosition`), with the masks themselves and their geometry in
 * `factorized` (model/factorized_masks.ts), and its masks' spread as an uncorrelated "Sigma" (as the training
 * worker's snapshots give it), so code that only wants a size per neuron works for both.
 */
import * as tf from '@tensorflow/tfjs';
import type { CoreArchitecture } from '../../model/architecture';
import { pixelsPerGridUnit as gridUnitPixels, type MaskGeometry } from '../../model/factorized_masks';
import type { FullGaussian2d } from '../../model/gaussian_readout';
import { factorizedHostParams } from '../../model/host_params';
import type { FactorizedOptions, GaussType, ReadoutKind, ReadoutSnapshot } from '../../model/readout_types';
import type { LoadedModel } from '../services/model_service';

/** Affine map from feature-map pixels to input pixels along one axis: input = scale * feature + offset. */
export interface AxisMap {
  scale: number;
  offset: number;
}

/** A factorized readout's masks as the views draw them ("where"). */
export interface FactorizedMasks {
  /** The mask's height and width: the core's output map's. */
  height: number;
  width: number;
  /** (N, h, w) the masks the forward pass uses (normalized, positivity applied). */
  masks: Float32Array;
  /** Each mask's peak, centroid (grid units), spread (feature pixels) and half-maximum size (pixels). */
  geometry: MaskGeometry;
  /** (N) each mask's largest |m|. */
  maxAbs: Float32Array;
  /** (N) the sign of that weight (-1 or 1): a mask that peaks negative applies its features negated there. */
  peakSign: Int8Array;
  options: FactorizedOptions;
}

/** What a neuron's position is: a Gaussian's mean, or a factorized mask's peak or centre of mass. */
export type PositionSource = 'mean' | 'peak' | 'centroid';

export interface ReadoutGeometry {
  neurons: number;
  /** Which readout: FullGaussian2d ('gaussian') or FullFactorized2d ('factorized'). */
  kind: ReadoutKind;
  /** What `grid` holds: the Gaussian means, or the factorized masks' peaks (default) or centres of mass. */
  position: PositionSource;
  /** A factorized readout's masks; null for a Gaussian one and for a training snapshot (which has no masks). */
  factorized: FactorizedMasks | null;
  /**
   * Eval-mode positions (N, 2) (x, y) in grid units (-1 = first, +1 = last feature pixel): clamp(mu, -1, 1) of a
   * Gaussian readout, a factorized one's mask peaks (or centres of mass: see `position`).
   */
  grid: Float32Array;
  /** The same positions in input-image pixels, (N, 2) (x = column, y = row), pixel centres at integers. */
  pixels: Float32Array;
  /**
   * Sigma as stored: full (N, 2, 2), uncorrelated (N, 2), isotropic (N, 1), grid units. Factorized: the masks'
   * spread (root mean square radius) along x and y in grid units, 'uncorrelated' (as the worker's snapshots).
   */
  sigma: Float32Array;
  gaussType: GaussType;
  /** Cortical coordinates (the position network's source_grid, as stored) (N, D), or null for free means. */
  cortex: Float32Array | null;
  cortexDims: number;
  /** Retinotopic map: lattice lines over the cortical extent pushed through the position network, in pixels. */
  retinotopy: Array<Array<[number, number]>> | null;
  /** [height, width] of the core's output and of the input image. */
  featureSize: [number, number];
  imageSize: [number, number];
  mapX: AxisMap;
  mapY: AxisMap;
}

/**
 * Feature-map pixel -> input pixel (centre of its receptive field) through every conv (and max pool) up to the deepest stacked
 * layer: a conv with kernel k, dilation d, padding p and stride s puts output pixel i over input pixel
 * s*i - p + d*(k-1)/2. (Equals a border of (H - H') / 2 for the Sensorium cores: valid first conv, same-padded rest.)
 */
export function featureToInputMaps(core: CoreArchitecture): { x: AxisMap; y: AxisMap } {
  const x = { scale: 1, offset: 0 };
  const y = { scale: 1, offset: 0 };
  const last = Math.max(...core.stack);
  for (const layer of core.layers) {
    if (layer.index > last) break;
    for (const conv of layer.convs) {
      // Compose: previous map applied to this conv's map (x_prev = s*i - p + d(k-1)/2).
      y.offset += y.scale * (-conv.padding[0] + (conv.dilation * (conv.kernel[0] - 1)) / 2);
      y.scale *= conv.stride;
      x.offset += x.scale * (-conv.padding[1] + (conv.dilation * (conv.kernel[1] - 1)) / 2);
      x.scale *= conv.stride;
    }
    // a max pool (k, stride s, no padding) puts output pixel i over input pixels s*i .. s*i + k - 1
    const p = layer.maxPool;
    if (p) {
      y.offset += (y.scale * (p.kernel - 1)) / 2;
      y.scale *= p.stride;
      x.offset += (x.scale * (p.kernel - 1)) / 2;
      x.scale *= p.stride;
    }
  }
  return { x, y };
}

/** Grid units (align_corners=True) -> input pixels. */
export function gridToPixel(g: number, featurePixels: number, map: AxisMap): number {
  return map.scale * (((g + 1) / 2) * (featurePixels - 1)) + map.offset;
}

const LATTICE_LINES = 9;
const LATTICE_SAMPLES = 24;

/** Grid positions (N, 2) -> input pixels (N, 2) through the maps. */
function gridToPixels(
  grid: ArrayLike<number>,
  N: number,
  fh: number,
  fw: number,
  mapX: AxisMap,
  mapY: AxisMap,
): Float32Array {
  const pixels = new Float32Array(N * 2);
  for (let n = 0; n < N; n++) {
    pixels[2 * n] = gridToPixel(grid[2 * n], fw, mapX);
    pixels[2 * n + 1] = gridToPixel(grid[2 * n + 1], fh, mapY);
  }
  return pixels;
}

/** The spread of each mask (feature pixels) as an uncorrelated Sigma (s_x, s_y) in grid units. */
export function spreadAsSigma(g: MaskGeometry): Float32Array {
  const sx = 1 / gridUnitPixels(g.width),
    sy = 1 / gridUnitPixels(g.height);
  const sigma = new Float32Array(2 * g.neurons);
  for (let n = 0; n < g.neurons; n++) {
    sigma[2 * n] = g.spread[n] * sx;
    sigma[2 * n + 1] = g.spread[n] * sy;
  }
  return sigma;
}

/**
 * A factorized readout's geometry with its neurons placed at their masks' peaks or centres of mass; the same
 * object when it already is, or for a Gaussian readout or a snapshot without masks (which have no choice).
 */
export function withMaskPosition(g: ReadoutGeometry, which: 'peak' | 'centroid'): ReadoutGeometry {
  if (!g.factorized || g.position === which) return g;
  const grid = which === 'peak' ? g.factorized.geometry.peak : g.factorized.geometry.centre;
  const [fh, fw] = g.featureSize;
  return { ...g, position: which, grid, pixels: gridToPixels(grid, g.neurons, fh, fw, g.mapX, g.mapY) };
}

export async function readoutGeometry(model: LoadedModel): Promise<ReadoutGeometry> {
  const any = model.encoder.anyReadout(model.readoutKey);
  const core = model.architecture.core;
  const [, fh, fw] = core.outputShape;
  const [, ih, iw] = core.inputShape;
  const maps = featureToInputMaps(core);
  if (any.kind === 'factorized') {
    const p = await factorizedHostParams(any);
    const N = p.neurons,
      HW = p.height * p.width;
    const maxAbs = new Float32Array(N);
    const peakSign = new Int8Array(N);
    for (let n = 0; n < N; n++) {
      let m = 0;
      for (let i = n * HW; i < (n + 1) * HW; i++) if (Math.abs(p.masks[i]) > Math.abs(m)) m = p.masks[i];
      maxAbs[n] = Math.abs(m);
      peakSign[n] = m < 0 ? -1 : 1;
    }
    const grid = p.geometry.peak;
    const factorized = {
      height: p.height,
      width: p.width,
      masks: p.masks,
      geometry: p.geometry,
      maxAbs,
      peakSign,
      options: p.options,
    };
    return {
      neurons: N,
      kind: 'factorized',
      position: 'peak',
      factorized,
      grid,
      pixels: gridToPixels(grid, N, fh, fw, maps.x, maps.y),
      sigma: spreadAsSigma(p.geometry),
      gaussType: 'uncorrelated',
      cortex: null,
      cortexDims: 0,
      retinotopy: null,
      featureSize: [fh, fw],
      imageSize: [ih, iw],
      mapX: maps.x,
      mapY: maps.y,
    };
  }
  const readout: FullGaussian2d = any;
  const N = readout.neurons;

  const gridT = readout.grid();
  let grid: Float32Array;
  let sigma: Float32Array;
  let cortex: Float32Array | null = null;
  try {
    grid = (await gridT.data()) as Float32Array;
    sigma = (await readout.sigma.data()) as Float32Array;
    if (readout.sourceGrid) cortex = (await readout.sourceGrid.data()) as Float32Array;
  } finally {
    gridT.dispose();
  }
  const cortexDims = readout.sourceGrid ? readout.sourceGrid.shape[1] : 0;

  const pixels = gridToPixels(grid, N, fh, fw, maps.x, maps.y);

  let retinotopy: ReadoutGeometry['retinotopy'] = null;
  if (readout.positionNetwork && cortex && cortexDims === 2) {
    retinotopy = await warpedLattice(
      readout.positionNetwork.apply.bind(readout.positionNetwork),
      cortex,
      N,
      (gx, gy) => [gridToPixel(gx, fw, maps.x), gridToPixel(gy, fh, maps.y)],
    );
  }

  return {
    neurons: N,
    kind: 'gaussian',
    position: 'mean',
    factorized: null,
    grid,
    pixels,
    sigma,
    gaussType: readout.gaussType,
    cortex,
    cortexDims,
    retinotopy,
    featureSize: [fh, fw],
    imageSize: [ih, iw],
    mapX: maps.x,
    mapY: maps.y,
  };
}

/** A LATTICE_LINES x LATTICE_LINES lattice over the neurons' cortical extent, mapped to the visual field. */
async function warpedLattice(
  apply: (t: tf.Tensor2D) => tf.Tensor2D,
  cortex: Float32Array,
  N: number,
  toPixel: (gx: number, gy: number) => [number, number],
): Promise<Array<Array<[number, number]>>> {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let n = 0; n < N; n++) {
    x0 = Math.min(x0, cortex[2 * n]);
    x1 = Math.max(x1, cortex[2 * n]);
    y0 = Math.min(y0, cortex[2 * n + 1]);
    y1 = Math.max(y1, cortex[2 * n + 1]);
  }
  const points: number[] = [];
  const lines: number[][] = [];
  const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;
  for (let i = 0; i < LATTICE_LINES; i++) {
    const u = i / (LATTICE_LINES - 1);
    for (const vertical of [false, true]) {
      const line: number[] = [];
      for (let j = 0; j < LATTICE_SAMPLES; j++) {
        const v = j / (LATTICE_SAMPLES - 1);
        line.push(points.length / 2);
        if (vertical) points.push(lerp(x0, x1, u), lerp(y0, y1, v));
        else points.push(lerp(x0, x1, v), lerp(y0, y1, u));
      }
      lines.push(line);
    }
  }
  const mu = tf.tidy(() => tf.clipByValue(apply(tf.tensor2d(points, [points.length / 2, 2])), -1, 1));
  let g: Float32Array;
  try {
    g = (await mu.data()) as Float32Array;
  } finally {
    mu.dispose();
  }
  return lines.map((line) => line.map((p) => toPixel(g[2 * p], g[2 * p + 1])));
}

/**
 * The readout being trained, from a worker snapshot: its positions on the same core (so `base`'s pixel maps
 * apply) and the scan's neurons' cortical coordinates (cell_motor_coordinates x, y) for the colors. A factorized
 * readout's snapshot has its masks' peaks and spreads, not the masks (`factorized` is null).
 */
export function snapshotGeometry(
  snapshot: Pick<ReadoutSnapshot, 'positions' | 'sigma' | 'gaussType'> & Partial<Pick<ReadoutSnapshot, 'kind'>>,
  base: ReadoutGeometry,
  cellMotorCoordinates: Float32Array | undefined,
): ReadoutGeometry {
  const N = snapshot.positions.length / 2;
  const [fh, fw] = base.featureSize;
  const pixels = gridToPixels(snapshot.positions, N, fh, fw, base.mapX, base.mapY);
  const kind = snapshot.kind ?? 'gaussian';
  const cortexDims = cellMotorCoordinates && cellMotorCoordinates.length === N * 3 ? 3 : 0;
  return {
    ...base,
    neurons: N,
    kind,
    position: kind === 'factorized' ? 'peak' : 'mean',
    factorized: null,
    grid: snapshot.positions,
    pixels,
    sigma: snapshot.sigma,
    gaussType: snapshot.gaussType,
    cortex: cortexDims ? cellMotorCoordinates! : null,
    cortexDims,
    retinotopy: null,
  };
}
