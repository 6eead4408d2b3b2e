/**
 * Where each neuron looks: readout positions (grid units of the core's feature map) mapped onto the stimulus
 * (input pixels), the Gaussians' Sigma, the cortical coordinates the position network starts from, and the
 * retinotopic map drawn as a warped lattice. Read from the model once per load; plain arrays for the views.
 */
import * as tf from '@tensorflow/tfjs';
import type { CoreArchitecture } from '../../model/architecture';
import type { GaussType, ReadoutSnapshot } from '../../model/readout_types';
import type { LoadedModel } from '../services/model_service';

/** Affine map from feature-map pixels to input pixels along one axis: input = scale * feature + offset. */
export interface AxisMap {
  scale: number;
  offset: number;
}

export interface ReadoutGeometry {
  neurons: number;
  /** Eval-mode positions clamp(mu, -1, 1), (N, 2) (x, y) in grid units: -1 = first, +1 = last feature pixel. */
  grid: Float32Array;
  /** The same positions in input-image pixels, (N, 2) (x = column, y = row), pixel centres at integers. */
  pixels: Float32Array;
  /** Sigma as stored: full (N, 2, 2), uncorrelated (N, 2), isotropic (N, 1), grid units. */
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
 * Feature-map pixel -> input pixel (centre of its receptive field) through every conv up to the deepest stacked
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
  }
  return { x, y };
}

/** Grid units (align_corners=True) -> input pixels. */
export function gridToPixel(g: number, featurePixels: number, map: AxisMap): number {
  return map.scale * (((g + 1) / 2) * (featurePixels - 1)) + map.offset;
}

const LATTICE_LINES = 9;
const LATTICE_SAMPLES = 24;

export async function readoutGeometry(model: LoadedModel): Promise<ReadoutGeometry> {
  const readout = model.encoder.readout(model.readoutKey);
  const core = model.architecture.core;
  const [, fh, fw] = core.outputShape;
  const [, ih, iw] = core.inputShape;
  const maps = featureToInputMaps(core);
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

  const pixels = new Float32Array(N * 2);
  for (let n = 0; n < N; n++) {
    pixels[2 * n] = gridToPixel(grid[2 * n], fw, maps.x);
    pixels[2 * n + 1] = gridToPixel(grid[2 * n + 1], fh, maps.y);
  }

  let retinotopy: ReadoutGeometry['retinotopy'] = null;
  if (readout.positionNetwork && cortex && cortexDims === 2) {
    retinotopy = await warpedLattice(readout.positionNetwork.apply.bind(readout.positionNetwork), cortex, N, (gx, gy) => [
      gridToPixel(gx, fw, maps.x), gridToPixel(gy, fh, maps.y),
    ]);
  }

  return {
    neurons: N, grid, pixels, sigma, gaussType: readout.gaussType, cortex, cortexDims, retinotopy,
    featureSize: [fh, fw], imageSize: [ih, iw], mapX: maps.x, mapY: maps.y,
  };
}

/** A LATTICE_LINES x LATTICE_LINES lattice over the neurons' cortical extent, mapped to the visual field. */
async function warpedLattice(
  apply: (t: tf.Tensor2D) => tf.Tensor2D, cortex: Float32Array, N: number, toPixel: (gx: number, gy: number) => [number, number],
): Promise<Array<Array<[number, number]>>> {
  let x0 = Infinity; let x1 = -Infinity; let y0 = Infinity; let y1 = -Infinity;
  for (let n = 0; n < N; n++) {
    x0 = Math.min(x0, cortex[2 * n]); x1 = Math.max(x1, cortex[2 * n]);
    y0 = Math.min(y0, cortex[2 * n + 1]); y1 = Math.max(y1, cortex[2 * n + 1]);
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
 * apply) and the scan's neurons' cortical coordinates (cell_motor_coordinates x, y) for the colors.
 */
export function snapshotGeometry(
  snapshot: Pick<ReadoutSnapshot, 'positions' | 'sigma' | 'gaussType'>,
  base: ReadoutGeometry,
  cellMotorCoordinates: Float32Array | undefined,
): ReadoutGeometry {
  const N = snapshot.positions.length / 2;
  const [fh, fw] = base.featureSize;
  const pixels = new Float32Array(N * 2);
  for (let n = 0; n < N; n++) {
    pixels[2 * n] = gridToPixel(snapshot.positions[2 * n], fw, base.mapX);
    pixels[2 * n + 1] = gridToPixel(snapshot.positions[2 * n + 1], fh, base.mapY);
  }
  const cortexDims = cellMotorCoordinates && cellMotorCoordinates.length === N * 3 ? 3 : 0;
  return {
    ...base,
    neurons: N,
    grid: snapshot.positions,
    pixels,
    sigma: snapshot.sigma,
    gaussType: snapshot.gaussType,
    cortex: cortexDims ? cellMotorCoordinates! : null,
    cortexDims,
    retinotopy: null,
  };
}
