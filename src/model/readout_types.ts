/**
 * The readout's vocabulary, one module for the model, the trainer, the worker and the views: the readout kinds,
 * the Gaussian's sigma layouts, the position network's Linear layers, every host-array form of a readout (with
 * its layout), and the conversions between the model's (C, N) and the trainer's (N, C) feature layouts.
 *
 * Two readouts (`ReadoutKind`), told apart per data key by their state_dict keys (model/architecture.ts):
 * - 'gaussian': neuralpredictors' FullGaussian2d (Lurz et al. 2021): each neuron reads the core at one position;
 * - 'factorized': neuralpredictors' FullFactorized2d (Klindt et al. 2017): each neuron has a spatial mask over the
 *   core's output map ("where") and a feature vector over its channels ("what").
 *
 * Host forms of a FullGaussian2d readout (N neurons, C feature channels, D cortical coordinates per neuron):
 * - `GaussianReadoutInit`: PyTorch layouts, features (C, N); what the tfjs model is built from (from_state_dict.ts);
 * - `ReadoutHostParams`: the same layouts read back from a tfjs model, plus its eval positions (host_params.ts);
 * - `TrainableGaussianReadout`: features neuron-major (N, C), what the trainer optimizes, snapshots and exports.
 * Host forms of a FullFactorized2d readout (h x w the core's output map):
 * - `FactorizedReadoutInit` (model/factorized_readout.ts): neuralpredictors' layouts, spatial (N, h, w), features
 *   (N, C) (no transposes: neuralpredictors stores `_features` neuron-major), bias (N) or none;
 * - `FactorizedHostParams` (host_params.ts): the same read back, with the masks the forward pass uses and their
 *   geometry (peak, centre, spread: model/factorized_masks.ts);
 * - `TrainableFactorizedReadout`: the same layouts as the init, the unit the trainer optimizes and exports.
 * - `TrainableReadout`: either trainable form, a union by `kind`; what the worker's done message carries.
 * - `ReadoutSnapshot`: what the live views draw while training (positions and Gaussians, no features; for a
 *   factorized readout the masks' peaks and spreads as isotropic "Gaussians").
 * Positions are (x, y) in grid units: x along the feature map's width, y along its height, -1..1 corner to corner
 * (pixel centres of the map's first and last columns / rows, as grid_sample with align_corners=True).
 */
import type { MaskGeometry } from './factorized_masks';
import type { FeatureSharing } from './feature_sharing';
import type { OutputNonlinearity } from './output_loss';

/** Which readout: neuralpredictors' FullGaussian2d ('gaussian') or FullFactorized2d ('factorized'). */
export type ReadoutKind = 'gaussian' | 'factorized';

export const READOUT_KINDS: readonly ReadoutKind[] = ['gaussian', 'factorized'];

/** The class name neuralpredictors gives each kind (for messages and `v1x info`). */
export function readoutClassName(kind: ReadoutKind): string {
  return kind === 'gaussian' ? 'FullGaussian2d' : 'FullFactorized2d';
}

/**
 * Which L1 penalty of a factorized readout: 'per_neuron' = sum_n |m_n|_1 |f_n|_1 (the L1 norm of the readout's
 * weight, sum_n |m_n f_n^T|_1: each neuron's mask and features shrink by the other's size), 'neuralpredictors' =
 * (sum_n |m_n|_1) (sum_n |f_n|_1) (what neuralpredictors' `FullFactorized2d.l1` computes: its (N, 1) x (N,)
 * product broadcasts to (N, N), coupling every neuron's mask to every neuron's features).
 */
export type FactorizedL1Form = 'per_neuron' | 'neuralpredictors';

export const FACTORIZED_L1_FORMS: readonly FactorizedL1Form[] = ['per_neuron', 'neuralpredictors'];

/**
 * neuralpredictors' FullFactorized2d options (config keys in parentheses), and how this project penalizes it.
 */
export interface FactorizedOptions {
  /** L2-normalize each neuron's mask (`normalize`, default true). */
  normalize: boolean;
  /** Clamp features (in place) and mask (forward value; in place without normalize) at 0 (`constrain_pos`). */
  constrainPos: boolean;
  /** Only acts through `clampPositiveWeights()` (neuralpredictors' `weight` property) (`positive_weights`). */
  positiveWeights: boolean;
  /** Mask = |mask| (unless constrainPos) (`positive_spatial`). */
  positiveSpatial: boolean;
  /** The regularizer's weight (`spatial_and_feature_reg_weight`). */
  regWeight: number;
  /** Which L1 penalty (`factorized_l1`); see FactorizedL1Form. */
  l1Form: FactorizedL1Form;
}

/**
 * The regularizer's default: the per-neuron form (the L1 norm of the readout's weight, as the issue and the paper
 * state it) at weight 1, chosen by validation correlation on the demo's held-out mouse (README, "The factorized
 * readout's regularizer": 1 and 2 tie, 0.5 and 3 are worse, no penalty is worst of those). neuralpredictors' own
 * default is its outer-product form at weight 1.0, which flattens a readout of 300 neurons (validation 0.016).
 */
export const FACTORIZED_DEFAULT_L1_FORM: FactorizedL1Form = 'per_neuron';
export const FACTORIZED_DEFAULT_REG_WEIGHT = 1;

export const DEFAULT_FACTORIZED_OPTIONS: Readonly<FactorizedOptions> = Object.freeze({
  normalize: true,
  constrainPos: false,
  positiveWeights: false,
  positiveSpatial: false,
  regWeight: FACTORIZED_DEFAULT_REG_WEIGHT,
  l1Form: FACTORIZED_DEFAULT_L1_FORM,
});

/** neuralpredictors' `init_noise`: a new readout's masks and features are N(0, init_noise). */
export const FACTORIZED_DEFAULT_INIT_NOISE = 1e-3;

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
export function sigmaMatrix(
  sigma: ArrayLike<number>,
  gaussType: GaussType,
  n: number,
): [number, number, number, number] {
  if (gaussType === 'full') return [sigma[4 * n], sigma[4 * n + 1], sigma[4 * n + 2], sigma[4 * n + 3]];
  if (gaussType === 'uncorrelated') return [sigma[2 * n], 0, 0, sigma[2 * n + 1]];
  return [sigma[n], 0, 0, sigma[n]];
}

/** The PyTorch shape of `sigma` for N neurons: full (1, N, 2, 2), uncorrelated (1, N, 1, 2), isotropic (1, N, 1, 1). */
export function sigmaShape(gaussType: GaussType, neurons: number): number[] {
  return gaussType === 'full'
    ? [1, neurons, 2, 2]
    : gaussType === 'uncorrelated'
      ? [1, neurons, 1, 2]
      : [1, neurons, 1, 1];
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

/**
 * A readout's shared features (model/feature_sharing.ts): how its neurons index them and their scales (N)
 * (neuralpredictors' `scales`, (1, 1, 1, N) Gaussian, (N, 1) factorized). With it the readout's `features` hold the
 * M shared vectors ((C, M) Gaussian, (M, C) factorized).
 */
export interface SharedFeaturesInit extends FeatureSharing {
  scales: Float32Array;
}

/** A FullGaussian2d readout in PyTorch layouts (leading singleton axes dropped): the tfjs model's constructor input. */
export interface GaussianReadoutInit {
  neurons: number;
  channels: number;
  gaussType: GaussType;
  /** (C, N) row-major = torch `_features` (1, C, 1, N) flattened; (C, M) with shared features. */
  features: Float32Array;
  /** Shared features across readouts (neuralpredictors' share_features), or none. */
  sharing?: SharedFeaturesInit | null;
  /** (N); null: no bias term. */
  bias: Float32Array | null;
  /** As stored: full (N, 2, 2), uncorrelated (N, 2), isotropic (N, 1). */
  sigma: Float32Array;
  /** Free means (N, 2); exactly one of mu and positionNetwork is given. */
  mu?: Float32Array | null;
  positionNetwork?:
    | (PositionNetParams & {
        /** (N, D) row-major, used as stored (neuralpredictors normalizes it once, at construction). */
        sourceGrid: Float32Array;
        sourceDims: number;
      })
    | null;
  /** Seed of the readout's own RNG, used when sampling without caller-given noise. */
  seed?: number;
}

/** A tfjs FullGaussian2d read back to host arrays in PyTorch layouts (host_params.ts), with its eval positions. */
export interface ReadoutHostParams {
  neurons: number;
  channels: number;
  gaussType: GaussType;
  /** (C, N) = torch `_features` (1, C, 1, N) flattened; with shared features each neuron's scale * shared vector. */
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

/**
 * A tfjs FullFactorized2d read back to host arrays (host_params.ts), neuralpredictors' layouts: what the views
 * draw for a factorized readout ("where": the masks and their geometry; "what": the features).
 */
export interface FactorizedHostParams {
  neurons: number;
  channels: number;
  height: number;
  width: number;
  options: FactorizedOptions;
  /** (N, C) = `_features`; with shared features each neuron's scale * shared vector. */
  features: Float32Array;
  /** (N); zeros when the readout has no bias (see hasBias). */
  bias: Float32Array;
  hasBias: boolean;
  /** (N, h, w) the raw `spatial` parameter. */
  spatial: Float32Array;
  /** (N, h, w) the masks the forward pass uses (normalized, positivity applied: factorized_masks.ts). */
  masks: Float32Array;
  /** Each mask's peak (the neuron's position, grid units), centroid, spread and half-maximum size. */
  geometry: MaskGeometry;
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
  /** The output nonlinearity (model/output_loss.ts); default 'elu' (elu + 1). */
  output?: OutputNonlinearity;
}

/**
 * A FullFactorized2d readout as the trainer holds it: neuralpredictors' own layouts (no transposes), what the fused
 * kernel (kernels/factorized_readout.ts) takes and the exports write.
 */
export interface TrainableFactorizedReadout {
  kind: 'factorized';
  neurons: number;
  channels: number;
  /** The core's output height h and width w: the mask's shape. */
  height: number;
  width: number;
  /** (N, h, w) row-major = neuralpredictors' `spatial` (the raw parameter, before normalization and positivity). */
  spatial: Float32Array;
  /** (N, C) row-major = neuralpredictors' `_features`. */
  features: Float32Array;
  /** (N); the trainer's readouts always have a bias (neuralpredictors `bias=True`); zeros when a file had none. */
  bias: Float32Array;
  options: FactorizedOptions;
  /** The encoder's elu_offset: output elu(v + eluOffset) + 1. Default 0. */
  eluOffset?: number;
  /** The output nonlinearity (model/output_loss.ts); default 'elu' (elu + 1). */
  output?: OutputNonlinearity;
}

/** A readout as host arrays, by kind: the unit the trainer optimizes, snapshots and exports. */
export type TrainableReadout = TrainableGaussianReadout | TrainableFactorizedReadout;

/**
 * A readout's current state for the live views during training (the worker's readout-snapshot message). A
 * factorized readout has no Gaussians: its positions are the masks' peaks and its sigma the masks' spread as an
 * isotropic Gaussian (grid units; model/factorized_masks.ts), with no sampled positions.
 */
export interface ReadoutSnapshot {
  kind: ReadoutKind;
  /** (N, 2) eval positions (Gaussian means, clamped; factorized: mask peaks), grid units. */
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
