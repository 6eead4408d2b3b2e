/**
 * The Gaussian readout's sampling step as one fused pass over cached core features, forward and backward,
 * without tfjs: for image b and neuron n at grid position p = (x, y) in [-1, 1]^2,
 *
 *   F(p)   = bilinear interpolation of the 4 feature-map pixels around p, exactly as PyTorch's
 *            grid_sample(mode="bilinear", padding_mode="zeros", align_corners=True):
 *            ix = (x + 1) / 2 * (W - 1), iy = (y + 1) / 2 * (H - 1), x along the width;
 *   v      = features_n . F(p) + bias_n
 *   r      = elu(v + elu_offset) + 1         (the encoder's output nonlinearity; elu_offset is 0 in practice;
 *                                             softplus or identity by `output`, model/output_loss.ts)
 *   loss   = sum (r - t * log(r + eps))      (neuralpredictors PoissonLoss, summed; MSE or the mean-variance
 *                                             Gaussian by `loss`: dL/dr is formed per entry below)
 *
 * Composed from tfjs ops this materializes (batch, neurons, 4, channels) tensors several times per step and
 * runs ~20x slower than PyTorch (MEASURED.md); fused, it is ~8 multiply-adds per channel per neuron and image.
 * The O(channels) work (4 dot products per neuron forward, 4 scaled corner vectors into the feature gradient
 * backward) runs in a WebAssembly SIMD kernel when the engine has one (wasm/readout_kernel.ts), else in plain
 * loops; the per-neuron scalar work (positions, ELU, Poisson, gradients of position and bias) is JavaScript.
 * Neurons whose corners leave the map (positions at the border) take a scalar path with zero padding.
 *
 * Feature maps are one image each, laid out (H, W, C) so each pixel's channel vector is contiguous.
 * Readout features are neuron-major (N, C) (PyTorch keeps them as (1, C, 1, N); export transposes).
 */
import {
  type LossName,
  lossGrad,
  lossValue,
  type OutputNonlinearity,
  outputGrad,
  outputValue,
} from '../model/output_loss';
import { createReadoutKernel, type ReadoutKernel, wasmSimdAvailable } from './wasm/readout_kernel';

export interface MapGeometry {
  height: number;
  width: number;
  channels: number;
}

export interface ReadoutForwardArgs extends MapGeometry {
  /** One (H, W, C) feature map per image of the batch. */
  maps: readonly Float32Array[];
  neurons: number;
  /** (N, C) neuron-major. */
  features: Float32Array;
  bias: Float32Array;
  /** Output nonlinearity elu(v + eluOffset) + 1 (neuralpredictors' elu_offset; 0 for the published models). */
  eluOffset?: number;
  /** Output nonlinearity (model/output_loss.ts): 'elu' (default, elu(v + eluOffset) + 1), 'softplus', 'identity'. */
  output?: OutputNonlinearity;
}

export interface ReadoutTrainArgs extends ReadoutForwardArgs {
  /** (B, N, 2) positions (x, y), already clamped to [-1, 1]. */
  positions: Float32Array;
  /** (B, N) observed responses. */
  targets: Float32Array;
  /** Multiplies the Poisson part of the gradient (the reference trainer's loss scale). */
  lossScale: number;
  /** Added inside the log: 1e-8 in neuralpredictors' PoissonLoss (torch PoissonNLLLoss eps). */
  logEps: number;
  /** The loss (model/output_loss.ts): 'poisson' (default), 'mse', 'gaussian'. */
  loss?: LossName;
  /** Accumulated into: (N, C). */
  gradFeatures: Float32Array;
  /** Accumulated into: (N). */
  gradBias: Float32Array;
  /** Written: (B, N, 2), dL/d position (before the clamp's mask, which the caller applies). */
  gradPositions: Float32Array;
  /** Optional (B, N): the predictions r. */
  predictions?: Float32Array;
  /**
   * Optional, accumulated into: dL/d map, one (H, W, C) array per image, for training through the core
   * (end-to-end or core fine-tuning). Plain loops; costs about as much as the feature gradient.
   */
  gradMaps?: Float32Array[];
}

export type KernelChoice = 'auto' | 'wasm' | 'js';

/**
 * The O(C) kernels over interior neurons (offset >= 0), with the buffers of wasm/readout_kernel.ts (views into wasm
 * memory for the SIMD kernel, plain arrays for the JS one); they take the image's map as an argument.
 */
interface CornerKernels extends Pick<ReadoutKernel, 'features' | 'grad' | 'offsets' | 'weights' | 'dots'> {
  /** The SIMD kernel's map buffer (decode a map into it to save a copy); null for the JS kernels. */
  map: Float32Array | null;
  runDots(map: Float32Array): void;
  runAccum(map: Float32Array): void;
  simd: boolean;
}

function jsKernels(s: MapGeometry & { neurons: number }): CornerKernels {
  const { width: W, channels: C, neurons: N } = s;
  const k: CornerKernels = {
    map: null,
    features: new Float32Array(N * C),
    grad: new Float32Array(N * C),
    offsets: new Int32Array(N),
    weights: new Float32Array(N * 4),
    dots: new Float32Array(N * 4),
    simd: false,
    runDots(map) {
      const { features, offsets, dots } = k;
      const o01 = C,
        o10 = W * C,
        o11 = W * C + C;
      for (let n = 0; n < N; n++) {
        const o = offsets[n];
        if (o < 0) continue;
        const fo = n * C;
        let d00 = 0,
          d01 = 0,
          d10 = 0,
          d11 = 0;
        for (let c = 0; c < C; c++) {
          const f = features[fo + c],
            p = o + c;
          d00 += f * map[p];
          d01 += f * map[p + o01];
          d10 += f * map[p + o10];
          d11 += f * map[p + o11];
        }
        dots[4 * n] = d00;
        dots[4 * n + 1] = d01;
        dots[4 * n + 2] = d10;
        dots[4 * n + 3] = d11;
      }
    },
    runAccum(map) {
      const { grad, offsets, weights } = k;
      const o01 = C,
        o10 = W * C,
        o11 = W * C + C;
      for (let n = 0; n < N; n++) {
        const o = offsets[n];
        if (o < 0) continue;
        const go = n * C;
        const w00 = weights[4 * n],
          w01 = weights[4 * n + 1],
          w10 = weights[4 * n + 2],
          w11 = weights[4 * n + 3];
        for (let c = 0; c < C; c++) {
          const p = o + c;
          grad[go + c] += w00 * map[p] + w01 * map[p + o01] + w10 * map[p + o10] + w11 * map[p + o11];
        }
      }
    },
  };
  return k;
}

function simdKernels(s: MapGeometry & { neurons: number }): CornerKernels {
  const r: ReadoutKernel = createReadoutKernel(s);
  return {
    map: r.map,
    features: r.features,
    grad: r.grad,
    offsets: r.offsets,
    weights: r.weights,
    dots: r.dots,
    simd: true,
    runDots(map) {
      if (map !== r.map) r.map.set(map);
      r.runDots(s.neurons);
    },
    // accum always follows dots on the same image: the map is already in place
    runAccum() {
      r.runAccum(s.neurons);
    },
  };
}

let simdOk: boolean | null = null;

/**
 * A reusable fused readout for one shape: holds the kernels and scratch (create once per training run).
 * `kernel`: 'auto' picks WebAssembly SIMD when available and the channel count is a multiple of 4.
 */
export class FusedReadout {
  private readonly k: CornerKernels;

  constructor(
    readonly geometry: MapGeometry,
    readonly neurons: number,
    kernel: KernelChoice = 'auto',
  ) {
    const s = { ...geometry, neurons };
    if (simdOk === null) simdOk = wasmSimdAvailable();
    const useSimd = kernel === 'wasm' || (kernel === 'auto' && simdOk && geometry.channels % 4 === 0);
    this.k = useSimd ? simdKernels(s) : jsKernels(s);
  }

  get simd(): boolean {
    return this.k.simd;
  }

  /**
   * A buffer to decode an image's map into so that the SIMD kernel needs no copy (null for the JS kernel).
   * Valid until the next call that takes another map.
   */
  get mapBuffer(): Float32Array | null {
    return this.k.map;
  }

  /**
   * One training step's readout part. Returns the unscaled loss (Poisson by default) summed over images and neurons
   * (float64 accumulation); gradients include `lossScale`.
   */
  trainStep(a: ReadoutTrainArgs): number {
    const { height: H, width: W, channels: C } = this.geometry;
    const N = this.neurons;
    const {
      maps,
      features,
      bias,
      positions,
      targets,
      gradFeatures,
      gradBias,
      gradPositions,
      predictions,
      lossScale,
      logEps,
    } = a;
    const B = maps.length;
    checkSizes(a, this.geometry, N, B);
    if (positions.length !== B * N * 2)
      throw new Error(`positions: expected ${B * N * 2} values, got ${positions.length}`);
    if (targets.length !== B * N) throw new Error(`targets: expected ${B * N} values, got ${targets.length}`);
    if (gradPositions.length !== B * N * 2) throw new Error(`gradPositions: expected ${B * N * 2} values`);
    const k = this.k;
    const { offsets, dots, weights } = k;
    k.features.set(features);
    k.grad.fill(0);
    const sx = (W - 1) / 2,
      sy = (H - 1) / 2;
    const rowStride = W * C;
    const off = a.eluOffset ?? 0;
    // Poisson on elu + 1 keeps its own inline code (the published path, unchanged to the bit); any other pair of
    // loss and output goes through model/output_loss.ts
    const lossName = a.loss ?? 'poisson',
      outName = a.output ?? 'elu';
    const reference = lossName === 'poisson' && outName === 'elu';
    let loss = 0;
    const fx = new Float64Array(N),
      fy = new Float64Array(N);
    for (let b = 0; b < B; b++) {
      const map = maps[b];
      // corners: interior neurons go to the kernels, the others are done here with zero padding
      for (let n = 0; n < N; n++) {
        const q = 2 * (b * N + n);
        const ix = (positions[q] + 1) * sx,
          iy = (positions[q + 1] + 1) * sy;
        const x0 = Math.floor(ix),
          y0 = Math.floor(iy);
        fx[n] = ix - x0;
        fy[n] = iy - y0;
        offsets[n] = x0 >= 0 && y0 >= 0 && x0 < W - 1 && y0 < H - 1 ? y0 * rowStride + x0 * C : -1;
      }
      k.runDots(map);
      for (let n = 0; n < N; n++) {
        const kk = b * N + n;
        let d00: number, d01: number, d10: number, d11: number;
        const o = offsets[n];
        let x0 = 0,
          y0 = 0;
        if (o >= 0) {
          d00 = dots[4 * n];
          d01 = dots[4 * n + 1];
          d10 = dots[4 * n + 2];
          d11 = dots[4 * n + 3];
        } else {
          x0 = Math.floor((positions[2 * kk] + 1) * sx);
          y0 = Math.floor((positions[2 * kk + 1] + 1) * sy);
          [d00, d01, d10, d11] = borderDots(map, features, n * C, C, H, W, x0, y0);
        }
        const gx1 = fx[n],
          gy1 = fy[n],
          gx0 = 1 - gx1,
          gy0 = 1 - gy1;
        let r: number, g: number;
        const t = targets[kk];
        if (reference) {
          const v = gy0 * (gx0 * d00 + gx1 * d01) + gy1 * (gx0 * d10 + gx1 * d11) + bias[n] + off;
          r = v > 0 ? v + 1 : Math.exp(v);
          loss += r - t * Math.log(r + logEps);
          // dL/dv = (1 - t / (r + eps)) * elu'(v), elu'(v) = exp(v) = r for v <= 0
          g = lossScale * (1 - t / (r + logEps)) * (v > 0 ? 1 : r);
        } else {
          const v = gy0 * (gx0 * d00 + gx1 * d01) + gy1 * (gx0 * d10 + gx1 * d11) + bias[n];
          r = outputValue(outName, v, off);
          loss += lossValue(lossName, r, t, logEps);
          g = lossScale * lossGrad(lossName, r, t, logEps) * outputGrad(outName, v, r, off);
        }
        if (predictions) predictions[kk] = r;
        gradBias[n] += g;
        gradPositions[2 * kk] = g * (gy0 * (d01 - d00) + gy1 * (d11 - d10)) * sx;
        gradPositions[2 * kk + 1] = g * (gx0 * (d10 - d00) + gx1 * (d11 - d01)) * sy;
        const w00 = g * gx0 * gy0,
          w01 = g * gx1 * gy0,
          w10 = g * gx0 * gy1,
          w11 = g * gx1 * gy1;
        if (o >= 0) {
          weights[4 * n] = w00;
          weights[4 * n + 1] = w01;
          weights[4 * n + 2] = w10;
          weights[4 * n + 3] = w11;
        } else {
          borderAccum(map, gradFeatures, n * C, C, H, W, x0, y0, w00, w01, w10, w11);
        }
        if (a.gradMaps) {
          // dL/dF at the 4 corners = bilinear weight * dL/dv * features_n (corners outside the map get nothing)
          const gm = a.gradMaps[b];
          const cx0 = Math.floor((positions[2 * kk] + 1) * sx),
            cy0 = Math.floor((positions[2 * kk + 1] + 1) * sy);
          borderAccum(features, gm, 0, C, H, W, cx0, cy0, w00, w01, w10, w11, n * C);
        }
      }
      k.runAccum(map);
    }
    const grad = k.grad;
    for (let i = 0; i < grad.length; i++) gradFeatures[i] += grad[i];
    return loss;
  }

  /**
   * Eval-mode readout: every image uses the same positions (the Gaussian means). Writes r = elu(v) + 1 into
   * `out` (B, N).
   */
  predict(a: ReadoutForwardArgs & { positions: Float32Array /* (N, 2) */; out: Float32Array }): void {
    const { height: H, width: W, channels: C } = this.geometry;
    const N = this.neurons;
    const { maps, features, bias, positions, out } = a;
    const B = maps.length;
    checkSizes(a, this.geometry, N, B);
    if (positions.length !== N * 2) throw new Error(`positions: expected ${N * 2} values, got ${positions.length}`);
    if (out.length !== B * N) throw new Error(`out: expected ${B * N} values, got ${out.length}`);
    const k = this.k;
    const { offsets, dots } = k;
    k.features.set(features);
    const sx = (W - 1) / 2,
      sy = (H - 1) / 2;
    const off = a.eluOffset ?? 0;
    const outName = a.output ?? 'elu';
    const fx = new Float64Array(N),
      fy = new Float64Array(N),
      x0s = new Int32Array(N),
      y0s = new Int32Array(N);
    for (let n = 0; n < N; n++) {
      const ix = (positions[2 * n] + 1) * sx,
        iy = (positions[2 * n + 1] + 1) * sy;
      const x0 = Math.floor(ix),
        y0 = Math.floor(iy);
      fx[n] = ix - x0;
      fy[n] = iy - y0;
      x0s[n] = x0;
      y0s[n] = y0;
      offsets[n] = x0 >= 0 && y0 >= 0 && x0 < W - 1 && y0 < H - 1 ? y0 * W * C + x0 * C : -1;
    }
    for (let b = 0; b < B; b++) {
      const map = maps[b];
      k.runDots(map);
      for (let n = 0; n < N; n++) {
        let d00: number, d01: number, d10: number, d11: number;
        if (offsets[n] >= 0) {
          d00 = dots[4 * n];
          d01 = dots[4 * n + 1];
          d10 = dots[4 * n + 2];
          d11 = dots[4 * n + 3];
        } else {
          [d00, d01, d10, d11] = borderDots(map, features, n * C, C, H, W, x0s[n], y0s[n]);
        }
        const gx1 = fx[n],
          gy1 = fy[n],
          gx0 = 1 - gx1,
          gy0 = 1 - gy1;
        if (outName === 'elu') {
          const v = gy0 * (gx0 * d00 + gx1 * d01) + gy1 * (gx0 * d10 + gx1 * d11) + bias[n] + off;
          out[b * N + n] = v > 0 ? v + 1 : Math.exp(v);
        } else {
          const v = gy0 * (gx0 * d00 + gx1 * d01) + gy1 * (gx0 * d10 + gx1 * d11) + bias[n];
          out[b * N + n] = outputValue(outName, v);
        }
      }
    }
  }
}

/** Dot products with the 4 corners of a neuron whose window leaves the map (or whose position is NaN). */
function borderDots(
  map: Float32Array,
  features: Float32Array,
  fo: number,
  C: number,
  H: number,
  W: number,
  x0: number,
  y0: number,
): [number, number, number, number] {
  const d: [number, number, number, number] = [0, 0, 0, 0];
  const xs = [x0, x0 + 1, x0, x0 + 1],
    ys = [y0, y0, y0 + 1, y0 + 1];
  for (let j = 0; j < 4; j++) {
    if (!(xs[j] >= 0 && xs[j] < W && ys[j] >= 0 && ys[j] < H)) continue;
    const o = (ys[j] * W + xs[j]) * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += features[fo + c] * map[o + c];
    d[j] = s;
  }
  return d;
}

/**
 * For each of the 4 corners inside the map: grad[go + c] += w_j * map[o_j + c] (feature gradient), or with
 * `vecOffset` given, grad[o_j + c] += w_j * map[vecOffset + c] (map gradient from the feature vector in `map`).
 */
function borderAccum(
  map: Float32Array,
  grad: Float32Array,
  go: number,
  C: number,
  H: number,
  W: number,
  x0: number,
  y0: number,
  w00: number,
  w01: number,
  w10: number,
  w11: number,
  vecOffset = -1,
): void {
  const xs = [x0, x0 + 1, x0, x0 + 1],
    ys = [y0, y0, y0 + 1, y0 + 1],
    w = [w00, w01, w10, w11];
  for (let j = 0; j < 4; j++) {
    if (!(xs[j] >= 0 && xs[j] < W && ys[j] >= 0 && ys[j] < H)) continue;
    const o = (ys[j] * W + xs[j]) * C;
    if (vecOffset >= 0) for (let c = 0; c < C; c++) grad[o + c] += w[j] * map[vecOffset + c];
    else for (let c = 0; c < C; c++) grad[go + c] += w[j] * map[o + c];
  }
}

function checkSizes(a: ReadoutForwardArgs, g: MapGeometry, N: number, B: number): void {
  const { height: H, width: W, channels: C } = g;
  if (a.height !== H || a.width !== W || a.channels !== C || a.neurons !== N) {
    throw new Error(
      `readout kernel made for ${H}x${W}x${C} maps and ${N} neurons, called with ${a.height}x${a.width}x${a.channels} and ${a.neurons}`,
    );
  }
  for (let b = 0; b < B; b++) {
    if (a.maps[b].length < H * W * C)
      throw new Error(`feature map ${b}: expected ${H * W * C} values (${H}x${W}x${C}), got ${a.maps[b].length}`);
  }
  if (a.features.length !== N * C)
    throw new Error(`features: expected ${N * C} values (${N} neurons x ${C} channels), got ${a.features.length}`);
  if (a.bias.length !== N) throw new Error(`bias: expected ${N} values, got ${a.bias.length}`);
}

const shared = new Map<string, FusedReadout>();

function cached(a: ReadoutForwardArgs, kernel: KernelChoice): FusedReadout {
  const key = `${a.height}x${a.width}x${a.channels}:${a.neurons}:${kernel}`;
  let f = shared.get(key);
  if (!f) {
    if (shared.size > 8) shared.clear();
    f = new FusedReadout({ height: a.height, width: a.width, channels: a.channels }, a.neurons, kernel);
    shared.set(key, f);
  }
  return f;
}

/** One-off training step (a FusedReadout per shape is kept and reused). */
export function readoutTrainStep(a: ReadoutTrainArgs, kernel: KernelChoice = 'auto'): number {
  return cached(a, kernel).trainStep(a);
}

/** One-off eval-mode readout (a FusedReadout per shape is kept and reused). */
export function readoutPredict(
  a: ReadoutForwardArgs & { positions: Float32Array; out: Float32Array },
  kernel: KernelChoice = 'auto',
): void {
  cached(a, kernel).predict(a);
}
