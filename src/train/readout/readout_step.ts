/**
 * One optimization step's loss and gradients for a readout on cached core features, and the eval-mode prediction
 * used for validation and test metrics, for either readout:
 * - Gaussian: positions (position network or free means, then Gaussian sampling), the fused sampling/Poisson kernel
 *   (kernels/fused_readout.ts), the backward pass to every parameter, the L1 on the features;
 * - factorized: the fused GEMM kernel (kernels/factorized_readout.ts: masks, features, bias, Poisson, the
 *   regularizer in the readout's form and weight, and their gradients); nothing is sampled.
 */

import type * as tf from '@tensorflow/tfjs';
import {
  type FactorizedStepResult,
  type FactorizedTrainArgs,
  FusedFactorizedReadout,
  factorizedPredict,
} from '../../kernels/factorized_readout';
import {
  type KernelChoice,
  type MapGeometry,
  type ReadoutTrainArgs,
  readoutPredict,
  readoutTrainStep,
} from '../../kernels/fused_readout';
import { effectiveMasks, type MaskGeometry, maskGeometry, pixelsPerGridUnit } from '../../model/factorized_masks';
import type { LossName, OutputNonlinearity } from '../../model/output_loss';
import type {
  ReadoutSnapshot,
  TrainableFactorizedReadout,
  TrainableGaussianReadout,
  TrainableReadout,
} from '../../model/readout_types';
import { poissonEps } from '../optim/losses';
import type { FeatureCache } from './feature_cache';
import { meanPositions, samplePositions, samplePositionsBackward } from './gaussian_positions';
import { positionNetBackward, positionNetForward } from './position_net';
import { type Param, readoutMeans } from './readout_params';

/**
 * Scratch buffers reused across steps (sized for the largest batch), and for a factorized readout the one fused
 * kernel of the run (it holds ~2 N h w floats; made on first use, for one map size and neuron count).
 */
export class StepWorkspace {
  positions = new Float32Array(0);
  inside = new Uint8Array(0);
  gradPositions = new Float32Array(0);
  eps = new Float32Array(0);
  /**
   * When the steps ran on workers (readout_workers.ts): the first images' draws of the last batch, from which
   * readoutSnapshot computes the sampled positions only when a live view asks for them.
   */
  deferredNoise: Float32Array | null = null;
  private deferredBuffer = new Float32Array(0);
  /** Keeps a copy of `eps` (the first images' draws) as deferredNoise, in a buffer reused from step to step. */
  deferSample(eps: Float32Array): void {
    if (this.deferredBuffer.length < eps.length) this.deferredBuffer = new Float32Array(eps.length);
    this.deferredBuffer.set(eps);
    this.deferredNoise = this.deferredBuffer.subarray(0, eps.length);
  }
  /** Another device's kernels for the steps and predictions (webgpu_engine.ts), or null for WebAssembly. */
  engine: ReadoutStepEngine | null = null;
  private factorized: FusedFactorizedReadout | null = null;
  /** The factorized kernel for this geometry and neuron count (one per run; a new one if they change). */
  factorizedKernel(geometry: MapGeometry, neurons: number, kernel: KernelChoice = 'auto'): FusedFactorizedReadout {
    const f = this.factorized;
    const g = f?.geometry;
    const same =
      f &&
      f.neurons === neurons &&
      g!.height === geometry.height &&
      g!.width === geometry.width &&
      g!.channels === geometry.channels;
    if (!same) {
      this.factorized = new FusedFactorizedReadout({ ...geometry }, neurons, kernel);
    }
    return this.factorized!;
  }
  ensure(batch: number, neurons: number): void {
    const n = batch * neurons * 2;
    if (this.positions.length < n) {
      this.positions = new Float32Array(n);
      this.inside = new Uint8Array(n);
      this.gradPositions = new Float32Array(n);
      this.eps = new Float32Array(n);
    }
  }
}

export interface StepInput {
  readout: TrainableReadout;
  /** Parameter list of `readout` (from readoutParams); gradients are overwritten. */
  params: Param[];
  geometry: MapGeometry;
  maps: readonly Float32Array[];
  /** (B, N) normalized responses. */
  targets: Float32Array;
  /** (B, N, 2) standard-normal draws for the positions, or null for the means (eval positions). Gaussian only. */
  noise: Float32Array | null;
  lossScale: number;
  /**
   * Weight of the L1 penalty on a Gaussian readout's features (neuralpredictors gamma_readout / feature_reg_weight).
   * A factorized readout carries its regularizer's weight and form in its options.
   */
  gammaReadout: number;
  logEps?: number;
  /** The loss (model/output_loss.ts; default 'poisson'); the output nonlinearity is the readout's `output`. */
  loss?: LossName;
  workspace: StepWorkspace;
  /** WebAssembly SIMD or plain loops for the O(channels) work (default: SIMD when available). */
  kernel?: KernelChoice;
}

export interface StepResult {
  /** lossScale * data loss + the regularizer (gammaReadout * L1; factorized: weight * l1): what is minimized. */
  loss: number;
  /** Unscaled data loss (Poisson by default, else `StepInput.loss`) summed over the batch. */
  poisson: number;
  /** The regularizer's L1 term before its weight (factorized: in the readout's form; NaN when its weight is 0). */
  l1: number;
}

export function readoutLossAndGrads(s: StepInput): StepResult {
  if (s.readout.kind === 'factorized') {
    const step = factorizedLossAndGrads(s, s.readout);
    const args = step.next().value as FactorizedTrainArgs;
    return step.next(s.workspace.factorizedKernel(s.geometry, s.readout.neurons, s.kernel).trainStep(args))
      .value as StepResult;
  }
  const step = gaussianLossAndGrads(s, s.readout);
  const args = step.next().value as ReadoutTrainArgs;
  return step.next(readoutTrainStep(args, s.kernel)).value as StepResult;
}

/**
 * The kernels of a step on another device (kernels/webgpu, through webgpu_engine.ts): the same contract as the
 * WebAssembly kernels' trainStep, asynchronous (the device is read back), plus the optimizer and predictions.
 */
export interface ReadoutStepEngine {
  /** 'webgpu'; and why it was chosen (shown with the training status). */
  readonly name: string;
  readonly reason: string;
  /** True when the engine holds the feature cache on its device: the trainer then passes `slots`, not maps. */
  readonly holdsCache: boolean;
  /** The cache slots of the next call's images (holdsCache), or null when `maps` carry them. */
  slots: Uint32Array | null;
  gaussianStep(args: ReadoutTrainArgs): Promise<number>;
  factorizedStep(args: FactorizedTrainArgs): Promise<FactorizedStepResult>;
  /** One Adam update of `params` from their host gradients (hyperparameters and step count from `adam`). */
  adamUpdate(
    params: Param[],
    adam: { lr: number; beta1: number; beta2: number; eps: number; step: number },
  ): Promise<void>;
  /** buildFeatureCache's onCoreOutput: the core's output chunks into the engine's own copy of the cache. */
  storeCoreOutput?: (y: tf.Tensor4D, startSlot: number, slots: number) => void | Promise<void>;
  /** Whether the engine can keep a cache of `slots` maps on its device alone (then no host copy is made). */
  canHoldCache?(geometry: MapGeometry, slots: number): boolean;
  /** Called with the host cache once it is built (an engine that did not get the core's output uploads it). */
  attachCache?(cache: FeatureCache): void;
  predict(
    r: TrainableReadout,
    positions: Float32Array | null,
    geometry: MapGeometry,
    maps: readonly Float32Array[],
    out: Float32Array,
  ): Promise<void>;
}

/** readoutLossAndGrads with the data term on `engine`'s kernels: the same host work around them. */
export async function readoutLossAndGradsOn(engine: ReadoutStepEngine, s: StepInput): Promise<StepResult> {
  if (s.readout.kind === 'factorized') {
    const step = factorizedLossAndGrads(s, s.readout);
    const args = step.next().value as FactorizedTrainArgs;
    return step.next(await engine.factorizedStep(args)).value as StepResult;
  }
  const step = gaussianLossAndGrads(s, s.readout);
  const args = step.next().value as ReadoutTrainArgs;
  return step.next(await engine.gaussianStep(args)).value as StepResult;
}

/**
 * The factorized readout's step: one fused kernel call (Poisson, regularizer and every gradient). A generator: it
 * yields the kernel's arguments and resumes with the kernel's result, so one body serves either engine.
 */
function* factorizedLossAndGrads(
  s: StepInput,
  r: TrainableFactorizedReadout,
): Generator<FactorizedTrainArgs, StepResult, FactorizedStepResult> {
  checkFactorizedLoss(s.loss, r.output);
  const { params, geometry, maps, targets } = s;
  for (const p of params) p.grad.fill(0);
  const grad = (name: string): Float32Array => {
    const p = params.find((q) => q.name === name);
    if (!p) throw new Error(`parameter ${name} missing from the parameter list`);
    return p.grad;
  };
  const o = r.options;
  const step = yield {
    ...geometry,
    maps,
    neurons: r.neurons,
    spatial: r.spatial,
    features: r.features,
    bias: r.bias,
    mask: { normalize: o.normalize, constrainPos: o.constrainPos, positiveSpatial: o.positiveSpatial },
    eluOffset: r.eluOffset,
    targets,
    lossScale: s.lossScale,
    logEps: s.logEps ?? poissonEps,
    gradSpatial: grad('spatial'),
    gradFeatures: grad('_features'),
    gradBias: grad('bias'),
    regWeight: o.regWeight,
    regForm: o.l1Form,
  };
  return {
    loss: s.lossScale * step.poisson + step.regularizer,
    poisson: step.poisson,
    l1: o.regWeight !== 0 ? step.regularizer / o.regWeight : NaN,
  };
}

/** The Gaussian readout's step around its data-term kernel (a generator, as factorizedLossAndGrads). */
function* gaussianLossAndGrads(
  s: StepInput,
  r: TrainableGaussianReadout,
): Generator<ReadoutTrainArgs, StepResult, number> {
  const { params, geometry, maps, targets, noise, workspace: ws } = s;
  const N = r.neurons,
    B = maps.length;
  ws.ensure(B, N);
  for (const p of params) p.grad.fill(0);
  const grad = (name: string): Float32Array => {
    const p = params.find((q) => q.name === name);
    if (!p) throw new Error(`parameter ${name} missing from the parameter list`);
    return p.grad;
  };

  // Gaussian means; free means are clamped in place first, as neuralpredictors' sample_grid does
  let means: ArrayLike<number>;
  let tape: ReturnType<typeof positionNetForward> | null = null;
  if (r.mu) {
    clampFreeMeans(r);
    means = r.mu;
  } else {
    tape = positionNetForward(r.positionNet!, r.sourceGrid!, N);
    means = tape.output;
  }
  const positions = ws.positions.subarray(0, B * N * 2);
  const inside = ws.inside.subarray(0, B * N * 2);
  const eps = noise ?? ws.eps.subarray(0, B * N * 2).fill(0);
  samplePositions(r.gaussType, means, r.sigma, eps, N, positions, inside);

  const gradPositions = ws.gradPositions.subarray(0, B * N * 2);
  const poisson = yield {
    ...geometry,
    maps,
    neurons: N,
    features: r.features,
    bias: r.bias,
    positions,
    targets,
    lossScale: s.lossScale,
    logEps: s.logEps ?? poissonEps,
    loss: s.loss,
    output: r.output,
    eluOffset: r.eluOffset,
    gradFeatures: grad('_features'),
    gradBias: grad('bias'),
    gradPositions,
  };

  const gradMu = new Float64Array(N * 2);
  samplePositionsBackward(r.gaussType, eps, inside, gradPositions, N, gradMu, grad('sigma'));
  if (r.mu) {
    const g = grad('_mu');
    for (let i = 0; i < g.length; i++) g[i] += gradMu[i];
  } else {
    const layerGrads = r.positionNet!.layers.map((_, k) => ({
      weight: grad(`mu_transform.${2 * k}.weight`),
      bias: grad(`mu_transform.${2 * k}.bias`),
    }));
    positionNetBackward(r.positionNet!, tape!, gradMu, layerGrads);
  }

  // L1 on the features, added unscaled (d|w|/dw = sign(w), 0 at 0 as in torch)
  let l1 = 0;
  const f = r.features,
    gf = grad('_features'),
    gamma = s.gammaReadout;
  if (gamma !== 0) {
    for (let i = 0; i < f.length; i++) {
      const w = f[i];
      l1 += Math.abs(w);
      gf[i] += w > 0 ? gamma : w < 0 ? -gamma : 0;
    }
  } else {
    for (let i = 0; i < f.length; i++) l1 += Math.abs(f[i]);
  }
  return { loss: s.lossScale * poisson + gamma * l1, poisson, l1 };
}

/**
 * Clamps free Gaussian means to [-1, 1] in place, as neuralpredictors' sample_grid does before every step (the
 * optimizer then updates the clamped values). Workers that take a step on a copy of the readout (readout_workers.ts)
 * leave the trainer's own copy to be clamped with this.
 */
export function clampFreeMeans(r: TrainableGaussianReadout): void {
  if (!r.mu) return;
  for (let i = 0; i < r.mu.length; i++) r.mu[i] = Math.min(1, Math.max(-1, r.mu[i]));
}

/** The factorized kernel computes Poisson on elu + 1 only. */
function checkFactorizedLoss(loss: LossName | undefined, output: OutputNonlinearity | undefined): void {
  if ((loss ?? 'poisson') !== 'poisson' || (output ?? 'elu') !== 'elu') {
    throw new Error(
      `the factorized readout trains with the Poisson loss and the elu + 1 output only (asked: ${loss ?? 'poisson'}, ${output ?? 'elu'}); use the Gaussian readout for other losses`,
    );
  }
}

/** The masks' geometry of a factorized readout (factorized_masks.ts): peak = the neuron's position. */
export function factorizedGeometry(r: TrainableFactorizedReadout): MaskGeometry {
  return maskGeometry(effectiveMasks(r.spatial, r.neurons, r.height, r.width, r.options), r.neurons, r.height, r.width);
}

/** Eval-mode positions (N, 2), grid units: clamp(mu) of a Gaussian readout, a factorized readout's mask peaks. */
export function evalPositions(r: TrainableReadout): Float32Array {
  if (r.kind === 'factorized') return factorizedGeometry(r).peak;
  if (r.mu) return meanPositions(r.mu, r.neurons);
  return meanPositions(positionNetForward(r.positionNet!, r.sourceGrid!, r.neurons).output, r.neurons);
}

/**
 * The readout's state for the live views: eval positions, a copy of sigma, and the positions `workspace`'s last
 * step sampled for its first `images` images (fewer when the batch was smaller). A factorized readout: the masks'
 * peaks, and their spread as an uncorrelated Gaussian's (s_x, s_y) in grid units; nothing sampled.
 */
export function readoutSnapshot(r: TrainableReadout, workspace: StepWorkspace, images = 8): ReadoutSnapshot {
  const N = r.neurons;
  if (r.kind === 'factorized') return factorizedSnapshot(r);
  const means = readoutMeans(r);
  const deferred = workspace.deferredNoise;
  let held = Math.floor(workspace.positions.length / (2 * N));
  if (deferred) {
    workspace.deferredNoise = null;
    const B = deferred.length / (2 * N);
    workspace.ensure(B, N);
    samplePositions(r.gaussType, means, r.sigma, deferred, N, workspace.positions, workspace.inside);
    held = B;
  }
  const S = Math.min(images, held);
  return {
    kind: 'gaussian',
    positions: meanPositions(means, N),
    sigma: r.sigma.slice(),
    gaussType: r.gaussType,
    sampledPositions: workspace.positions.slice(0, S * N * 2),
    sampledImages: S,
  };
}

/** A factorized readout's snapshot: mask peaks, spreads as (s_x, s_y) in grid units ('uncorrelated'), no samples. */
export function factorizedSnapshot(r: TrainableFactorizedReadout): ReadoutSnapshot {
  const g = factorizedGeometry(r);
  const sx = 1 / pixelsPerGridUnit(r.width),
    sy = 1 / pixelsPerGridUnit(r.height);
  const sigma = new Float32Array(2 * r.neurons);
  for (let n = 0; n < r.neurons; n++) {
    sigma[2 * n] = g.spread[n] * sx;
    sigma[2 * n + 1] = g.spread[n] * sy;
  }
  return {
    kind: 'factorized',
    positions: g.peak,
    sigma,
    gaussType: 'uncorrelated',
    sampledPositions: new Float32Array(0),
    sampledImages: 0,
  };
}

/**
 * Eval-mode predictions elu(v) + 1 for a batch of maps, written into `out` (B, N). `positions`: a Gaussian readout's
 * eval positions (evalPositions); unused for a factorized one, which runs `workspace`'s kernel (or a shared one).
 */
export function predictBatch(
  r: TrainableReadout,
  positions: Float32Array | null,
  geometry: MapGeometry,
  maps: readonly Float32Array[],
  out: Float32Array,
  kernel?: KernelChoice,
  workspace?: StepWorkspace,
): void {
  if (r.kind === 'factorized') {
    checkFactorizedLoss(undefined, r.output);
    const o = r.options;
    const args = {
      ...geometry,
      maps,
      neurons: r.neurons,
      spatial: r.spatial,
      features: r.features,
      bias: r.bias,
      out,
      eluOffset: r.eluOffset,
      mask: { normalize: o.normalize, constrainPos: o.constrainPos, positiveSpatial: o.positiveSpatial },
    };
    if (workspace) workspace.factorizedKernel(geometry, r.neurons, kernel).predict(args);
    else factorizedPredict(args, kernel);
    return;
  }
  readoutPredict(
    {
      ...geometry,
      maps,
      neurons: r.neurons,
      features: r.features,
      bias: r.bias,
      positions: positions!,
      out,
      eluOffset: r.eluOffset,
      output: r.output,
    },
    kernel,
  );
}
