/**
 * One optimization step's loss and gradients for a readout on cached core features: positions (position network
 * or free means, then Gaussian sampling), the fused sampling/Poisson kernel, and the backward pass to every
 * parameter. Also the eval-mode prediction used for validation and test metrics.
 */
import { type KernelChoice, type MapGeometry, readoutPredict, readoutTrainStep } from '../../kernels/fused_readout';
import { meanPositions, samplePositions, samplePositionsBackward } from './gaussian_positions';
import { poissonEps } from '../optim/losses';
import { positionNetBackward, positionNetForward } from './position_net';
import type { ReadoutSnapshot, TrainableReadout } from '../../model/readout_types';
import type { Param } from './readout_params';

/** Scratch buffers reused across steps (sized for the largest batch). */
export class StepWorkspace {
  positions = new Float32Array(0);
  inside = new Uint8Array(0);
  gradPositions = new Float32Array(0);
  eps = new Float32Array(0);
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
  /** (B, N, 2) standard-normal draws for the positions, or null to read out at the means (eval positions). */
  noise: Float32Array | null;
  lossScale: number;
  /** Weight of the L1 penalty on the features (neuralpredictors gamma_readout / feature_reg_weight). */
  gammaReadout: number;
  logEps?: number;
  workspace: StepWorkspace;
  /** WebAssembly SIMD or plain loops for the O(channels) work (default: SIMD when available). */
  kernel?: KernelChoice;
}

export interface StepResult {
  /** lossScale * Poisson + gammaReadout * L1: what the optimizer minimizes. */
  loss: number;
  /** Unscaled Poisson loss summed over the batch. */
  poisson: number;
  l1: number;
}

export function readoutLossAndGrads(s: StepInput): StepResult {
  const { readout: r, params, geometry, maps, targets, noise, workspace: ws } = s;
  const N = r.neurons, B = maps.length;
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
    for (let i = 0; i < r.mu.length; i++) r.mu[i] = Math.min(1, Math.max(-1, r.mu[i]));
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
  const poisson = readoutTrainStep({
    ...geometry, maps, neurons: N, features: r.features, bias: r.bias, positions, targets,
    lossScale: s.lossScale, logEps: s.logEps ?? poissonEps, eluOffset: r.eluOffset, gradFeatures: grad('_features'), gradBias: grad('bias'), gradPositions,
  }, s.kernel);

  const gradMu = new Float64Array(N * 2);
  samplePositionsBackward(r.gaussType, eps, inside, gradPositions, N, gradMu, grad('sigma'));
  if (r.mu) {
    const g = grad('_mu');
    for (let i = 0; i < g.length; i++) g[i] += gradMu[i];
  } else {
    const layerGrads = r.positionNet!.layers.map((_, k) => ({ weight: grad(`mu_transform.${2 * k}.weight`), bias: grad(`mu_transform.${2 * k}.bias`) }));
    positionNetBackward(r.positionNet!, tape!, gradMu, layerGrads);
  }

  // L1 on the features, added unscaled (d|w|/dw = sign(w), 0 at 0 as in torch)
  let l1 = 0;
  const f = r.features, gf = grad('_features'), gamma = s.gammaReadout;
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

/** Eval-mode positions clamp(mu) (N, 2). */
export function evalPositions(r: TrainableReadout): Float32Array {
  if (r.mu) return meanPositions(r.mu, r.neurons);
  return meanPositions(positionNetForward(r.positionNet!, r.sourceGrid!, r.neurons).output, r.neurons);
}

/**
 * The readout's state for the live views: eval positions, a copy of sigma, and the positions `workspace`'s last
 * step sampled for its first `images` images (fewer when the batch was smaller).
 */
export function readoutSnapshot(r: TrainableReadout, workspace: StepWorkspace, images = 8): ReadoutSnapshot {
  const N = r.neurons;
  const S = Math.min(images, Math.floor(workspace.positions.length / (2 * N)));
  return {
    kind: 'gaussian', positions: evalPositions(r), sigma: r.sigma.slice(), gaussType: r.gaussType,
    sampledPositions: workspace.positions.slice(0, S * N * 2), sampledImages: S,
  };
}

/** Eval-mode predictions elu(v) + 1 for a batch of maps, written into `out` (B, N). */
export function predictBatch(r: TrainableReadout, positions: Float32Array, geometry: MapGeometry, maps: readonly Float32Array[], out: Float32Array, kernel?: KernelChoice): void {
  readoutPredict({ ...geometry, maps, neurons: r.neurons, features: r.features, bias: r.bias, positions, out, eluOffset: r.eluOffset }, kernel);
}
