/**
 * The readout's vocabulary, one module for the model, the trainer, the worker and the views: the readout kinds,
 * the Gaussian's sigma layouts, the position network's Linear layers, every host-array form of a readout (with
 * its layout), and the conversions between the model's (C, N) and the trainer's (N, C) feature layouts.
 *
 * Host forms of a FullGaussian2d readout (N neurons, C feature channels, D cortical coordinates per neuron):
 * - `GaussianReadoutInit`: PyTorch layouts, features (C, N); what the tfjs model is built from (from_state_dict.ts);
 * - `ReadoutHostParams`: the same layouts read back from a tfjs model, plus its eval positions (host_params.ts);
 * - `TrainableReadout`: features neuron-major (N, C), what the trainer optimizes, snapshots and exports, and what
 *   the worker's done message carries; a union by `kind` (the factorized readout adds its variant here);
 * - `ReadoutSnapshot`: what the live views draw while training (positions and Gaussians, no features).
 * Positions are (x, y) in grid units: x along the feature map's width, y along its height, -1..1 corner to corner.
 */

/** FullGaussian2d's `gauss_type`: the shape of each neuron's Sigma. */
export type GaussType = 'full' | 'uncorrelated' | 'isotropic';

export const GAUSS_TYPES: readonly GaussType[] = ['full', 'uncorrelated', 'isotropic'];

/**
 * Values of `sigma` per neuron: full 4 (the 2x2 matrix row-major, row = output coordinate x / y, column = noise
 * component), uncorrelated 2 (s_x, s_y), isotropic 1 (s).
 */
export function sigmaSize(gaussType: GaussType): number {
  return gaussType === 'full' ? 4 : gaussType === 'uncorrelated' ? 2 : 1;
}

/** Sigma of neuron n as a 2x2 matrix [a, b, c, d] (row = output coordinate x / y, column = noise component). */
export function sigmaMatrix(sigma: ArrayLike<number>, gaussType: GaussType, n: number): [number, number, number, number] {
  if (gaussType === 'full') return [sigma[4 * n], sigma[4 * n + 1], sigma[4 * n + 2], sigma[4 * n + 3]];
  if (gaussType === 'uncorrelated') return [sigma[2 * n], 0, 0, sigma[2 * n + 1]];
  return [sigma[n], 0, 0, sigma[n]];
}

/** The PyTorch shape of `sigma` for N neurons: full (1, N, 2, 2), uncorrelated (1, N, 1, 2), isotropic (1, N, 1, 1). */
export function sigmaShape(gaussType: GaussType, neurons: number): number[] {
  return gaussType === 'full' ? [1, neurons, 2, 2] : gaussType === 'uncorrelated' ? [1, neurons, 1, 2] : [1, neurons, 1, 1];
}

/** The gauss type whose PyTorch `sigma` shape (sigmaShape) this is, or null for any other shape. */
export function gaussTypeOfSigmaShape(shape: readonly number[]): GaussType | null {
  if (shape.length !== 4 || shape[0] !== 1) return null;
  const [, , a, b] = shape;
  return a === 2 && b === 2 ? 'full' : a === 1 && b === 2 ? 'uncorrelated' : a === 1 && b === 1 ? 'isotropic' : null;
}

/** One nn.Linear layer of the position network. */
export interface LinearParams {
  /** (out, in) row-major, as PyTorch stores `nn.Linear.weight`. */
  weight: Float32Array;
  /** (out). */
  bias: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

/**
 * The cortex position network (neuralpredictors' `mu_transform`): Linear layers in order with ELU between and a
 * tanh after the last when `finalTanh`; layer k is `mu_transform.<2k>` in the state dict.
 */
export interface PositionNetParams {
  layers: LinearParams[];
  finalTanh: boolean;
}

/** A FullGaussian2d readout in PyTorch layouts (leading singleton axes dropped): the tfjs model's constructor input. */
export interface GaussianReadoutInit {
  neurons: number;
  channels: number;
  gaussType: GaussType;
  /** (C, N) row-major = torch `_features` (1, C, 1, N) flattened. */
  features: Float32Array;
  /** (N); null: no bias term. */
  bias: Float32Array | null;
  /** As stored: full (N, 2, 2), uncorrelated (N, 2), isotropic (N, 1). */
  sigma: Float32Array;
  /** Free means (N, 2); exactly one of mu and positionNetwork is given. */
  mu?: Float32Array | null;
  positionNetwork?: (PositionNetParams & {
    /** (N, D) row-major, used as stored (neuralpredictors normalizes it once, at construction). */
    sourceGrid: Float32Array;
    sourceDims: number;
  }) | null;
  /** Seed of the readout's own RNG, used when sampling without caller-given noise. */
  seed?: number;
}

/** A tfjs FullGaussian2d read back to host arrays in PyTorch layouts (host_params.ts), with its eval positions. */
export interface ReadoutHostParams {
  neurons: number;
  channels: number;
  gaussType: GaussType;
  /** (C, N) = torch `_features` (1, C, 1, N) flattened. */
  features: Float32Array;
  /** (N); zeros when the readout has no bias (see hasBias). */
  bias: Float32Array;
  hasBias: boolean;
  /** (N, 2, 2): the matrix that multiplies the noise (diagonal for 'uncorrelated' and 'isotropic'). */
  sigma: Float32Array;
  /** As stored: full (N, 2, 2), uncorrelated (N, 2), isotropic (N, 1). */
  sigmaRaw: Float32Array;
  /** Free means (N, 2), or null with a position network. */
  mu: Float32Array | null;
  positionNetwork: PositionNetParams | null;
  /** (N, D) position-network input, or null. */
  sourceGrid: Float32Array | null;
  sourceDims: number;
  /** Eval positions clamp(mu, -1, 1), (N, 2) (x, y). */
  grid: Float32Array;
}

/** A FullGaussian2d readout as the trainer holds it: host arrays, features neuron-major for the fused kernel. */
export interface TrainableGaussianReadout {
  kind: 'gaussian';
  gaussType: GaussType;
  neurons: number;
  channels: number;
  /** (N, C) neuron-major (PyTorch stores (1, C, 1, N): see channelMajorFeatures / neuronMajorFeatures). */
  features: Float32Array;
  /** (N); the readout always has a bias here (neuralpredictors `bias=True`, as every published model). */
  bias: Float32Array;
  /** As PyTorch flattens it for the gauss type: full (N, 4) = (N, 2, 2), uncorrelated (N, 2), isotropic (N). */
  sigma: Float32Array;
  /** Free Gaussian means (N, 2) when there is no position network; null otherwise. */
  mu: Float32Array | null;
  /** The cortex position network (mu from sourceGrid); null for free means. */
  positionNet: PositionNetParams | null;
  /** (N, D) normalized cortical coordinates, the network's input; null for free means. */
  sourceGrid: Float32Array | null;
  /** The encoder's elu_offset: output elu(v + eluOffset) + 1. Default 0. */
  eluOffset?: number;
}

/** A readout as host arrays, by kind: the unit the trainer optimizes, snapshots and exports. */
export type TrainableReadout = TrainableGaussianReadout;

/** A readout's current state for the live views during training (the worker's readout-snapshot message). */
export interface ReadoutSnapshot {
  /** (N, 2) eval positions (Gaussian means, clamped), grid units. */
  positions: Float32Array;
  /** (N, sigmaSize(gaussType)): sigma as TrainableReadout stores it; `gaussType` says how to read it. */
  sigma: Float32Array;
  gaussType: GaussType;
  /** (S, N, 2) sampled positions for S images (a faint cloud in the view). */
  sampledPositions: Float32Array;
  /** S. */
  sampledImages: number;
}

/** (C, N) channel-major (PyTorch's `_features` (1, C, 1, N) flattened) -> (N, C) neuron-major. */
export function neuronMajorFeatures(channelMajor: ArrayLike<number>, channels: number, neurons: number): Float32Array {
  return transposed(channelMajor, channels, neurons);
}

/** (N, C) neuron-major -> (C, N) channel-major, PyTorch's `_features` layout. */
export function channelMajorFeatures(neuronMajor: ArrayLike<number>, neurons: number, channels: number): Float32Array {
  return transposed(neuronMajor, neurons, channels);
}

/** A row-major (rows, cols) matrix as a row-major (cols, rows) one. */
function transposed(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}
