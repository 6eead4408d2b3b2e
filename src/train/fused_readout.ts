/**
 * The Gaussian readout's sampling step as one fused pass over cached core features, forward and backward,
 * in plain typed-array loops (no tfjs): for image b and neuron n at grid position p = (x, y) in [-1, 1]^2,
 *
 *   F(p)   = bilinear interpolation of the 4 feature-map pixels around p, exactly as PyTorch's
 *            grid_sample(mode="bilinear", padding_mode="zeros", align_corners=True):
 *            ix = (x + 1) / 2 * (W - 1), iy = (y + 1) / 2 * (H - 1), x along the width;
 *   v      = features_n . F(p) + bias_n
 *   r      = elu(v + elu_offset) + 1         (the encoder's output nonlinearity; elu_offset is 0 in practice)
 *   loss   = sum (r - t * log(r + eps))      (neuralpredictors PoissonLoss, summed)
 *
 * Composed from tfjs ops this materializes (batch, neurons, 4, channels) tensors several times per step and
 * runs ~20x slower than PyTorch (MEASURED.md); fused, it is ~8 multiply-adds per channel per neuron and image.
 *
 * Feature maps are one image each, laid out (H, W, C) so each pixel's channel vector is contiguous.
 * Readout features are neuron-major (N, C) (PyTorch keeps them as (1, C, 1, N); export transposes).
 */

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
  /** Accumulated into: (N, C). */
  gradFeatures: Float32Array;
  /** Accumulated into: (N). */
  gradBias: Float32Array;
  /** Written: (B, N, 2), dL/d position (before the clamp's mask, which the caller applies). */
  gradPositions: Float32Array;
  /** Optional (B, N): the predictions r. */
  predictions?: Float32Array;
}

/**
 * One training step's readout part. Returns the unscaled Poisson loss summed over images and neurons
 * (float64 accumulation); gradients include `lossScale`.
 */
export function readoutTrainStep(a: ReadoutTrainArgs): number {
  const { height: H, width: W, channels: C, neurons: N, maps, features, bias, positions, targets } = a;
  const { gradFeatures, gradBias, gradPositions, predictions, lossScale, logEps } = a;
  const B = maps.length;
  checkSizes(a, B);
  if (positions.length !== B * N * 2) throw new Error(`positions: expected ${B * N * 2} values, got ${positions.length}`);
  if (targets.length !== B * N) throw new Error(`targets: expected ${B * N} values, got ${targets.length}`);
  if (gradPositions.length !== B * N * 2) throw new Error(`gradPositions: expected ${B * N * 2} values`);
  const sx = (W - 1) / 2, sy = (H - 1) / 2;
  const rowStride = W * C;
  const off = a.eluOffset ?? 0;
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const map = maps[b];
    for (let n = 0; n < N; n++) {
      const k = b * N + n;
      const x = positions[2 * k], y = positions[2 * k + 1];
      const ix = (x + 1) * sx, iy = (y + 1) * sy;
      const x0 = Math.floor(ix), y0 = Math.floor(iy);
      const fx = ix - x0, fy = iy - y0;
      const fo = n * C;
      let d00 = 0, d01 = 0, d10 = 0, d11 = 0;
      const interior = x0 >= 0 && y0 >= 0 && x0 < W - 1 && y0 < H - 1;
      // corner offsets; -1 marks a corner outside the map (zero padding)
      let o00 = -1, o01 = -1, o10 = -1, o11 = -1;
      if (interior) {
        o00 = y0 * rowStride + x0 * C;
        o01 = o00 + C;
        o10 = o00 + rowStride;
        o11 = o10 + C;
        for (let c = 0; c < C; c++) {
          const f = features[fo + c];
          d00 += f * map[o00 + c];
          d01 += f * map[o01 + c];
          d10 += f * map[o10 + c];
          d11 += f * map[o11 + c];
        }
      } else {
        // border or NaN position: any corner outside the map contributes zero
        const inX0 = x0 >= 0 && x0 < W, inX1 = x0 + 1 >= 0 && x0 + 1 < W;
        const inY0 = y0 >= 0 && y0 < H, inY1 = y0 + 1 >= 0 && y0 + 1 < H;
        if (inY0 && inX0) o00 = y0 * rowStride + x0 * C;
        if (inY0 && inX1) o01 = y0 * rowStride + (x0 + 1) * C;
        if (inY1 && inX0) o10 = (y0 + 1) * rowStride + x0 * C;
        if (inY1 && inX1) o11 = (y0 + 1) * rowStride + (x0 + 1) * C;
        if (o00 >= 0) d00 = dot(features, fo, map, o00, C);
        if (o01 >= 0) d01 = dot(features, fo, map, o01, C);
        if (o10 >= 0) d10 = dot(features, fo, map, o10, C);
        if (o11 >= 0) d11 = dot(features, fo, map, o11, C);
      }
      const gx0 = 1 - fx, gy0 = 1 - fy;
      const v = gy0 * (gx0 * d00 + fx * d01) + fy * (gx0 * d10 + fx * d11) + bias[n] + off;
      const r = v > 0 ? v + 1 : Math.exp(v);
      const t = targets[k];
      loss += r - t * Math.log(r + logEps);
      if (predictions) predictions[k] = r;
      // dL/dv = (1 - t / (r + eps)) * elu'(v), elu'(v) = exp(v) = r for v <= 0
      const g = lossScale * (1 - t / (r + logEps)) * (v > 0 ? 1 : r);
      gradBias[n] += g;
      gradPositions[2 * k] = g * (gy0 * (d01 - d00) + fy * (d11 - d10)) * sx;
      gradPositions[2 * k + 1] = g * (gx0 * (d10 - d00) + fx * (d11 - d01)) * sy;
      const w00 = g * gx0 * gy0, w01 = g * fx * gy0, w10 = g * gx0 * fy, w11 = g * fx * fy;
      if (interior) {
        for (let c = 0; c < C; c++) {
          gradFeatures[fo + c] += w00 * map[o00 + c] + w01 * map[o01 + c] + w10 * map[o10 + c] + w11 * map[o11 + c];
        }
      } else {
        if (o00 >= 0) axpy(w00, map, o00, gradFeatures, fo, C);
        if (o01 >= 0) axpy(w01, map, o01, gradFeatures, fo, C);
        if (o10 >= 0) axpy(w10, map, o10, gradFeatures, fo, C);
        if (o11 >= 0) axpy(w11, map, o11, gradFeatures, fo, C);
      }
    }
  }
  return loss;
}

/**
 * Eval-mode readout: every image uses the same positions (the Gaussian means), so the corners and weights are
 * computed once per call. Writes r = elu(v) + 1 into `out` (B, N).
 */
export function readoutPredict(a: ReadoutForwardArgs & { positions: Float32Array /* (N, 2) */; out: Float32Array }): void {
  const { height: H, width: W, channels: C, neurons: N, maps, features, bias, positions, out } = a;
  const B = maps.length;
  checkSizes(a, B);
  if (positions.length !== N * 2) throw new Error(`positions: expected ${N * 2} values, got ${positions.length}`);
  if (out.length !== B * N) throw new Error(`out: expected ${B * N} values, got ${out.length}`);
  const { offsets, weights } = cornerTable(positions, N, H, W, C);
  const off = a.eluOffset ?? 0;
  // neurons whose 4 corners all lie inside the map take the fused path (all but those at the very border)
  const interior = new Uint8Array(N);
  for (let n = 0; n < N; n++) {
    interior[n] = offsets[4 * n] >= 0 && offsets[4 * n + 1] === offsets[4 * n] + C && offsets[4 * n + 2] === offsets[4 * n] + W * C && offsets[4 * n + 3] === offsets[4 * n + 2] + C ? 1 : 0;
  }
  for (let b = 0; b < B; b++) {
    const map = maps[b];
    for (let n = 0; n < N; n++) {
      const fo = n * C;
      let v = bias[n] + off;
      if (interior[n]) {
        const o00 = offsets[4 * n], o01 = o00 + C, o10 = offsets[4 * n + 2], o11 = o10 + C;
        const w00 = weights[4 * n], w01 = weights[4 * n + 1], w10 = weights[4 * n + 2], w11 = weights[4 * n + 3];
        let s = 0;
        for (let c = 0; c < C; c++) {
          s += features[fo + c] * (w00 * map[o00 + c] + w01 * map[o01 + c] + w10 * map[o10 + c] + w11 * map[o11 + c]);
        }
        v += s;
      } else {
        for (let j = 0; j < 4; j++) {
          const o = offsets[4 * n + j], w = weights[4 * n + j];
          if (o < 0 || w === 0) continue;
          v += w * dot(features, fo, map, o, C);
        }
      }
      out[b * N + n] = v > 0 ? v + 1 : Math.exp(v);
    }
  }
}

/** Per neuron: the 4 corner offsets into an (H, W, C) map (-1 outside) and their bilinear weights. */
export function cornerTable(positions: Float32Array, N: number, H: number, W: number, C: number): { offsets: Int32Array; weights: Float64Array } {
  const offsets = new Int32Array(4 * N);
  const weights = new Float64Array(4 * N);
  const sx = (W - 1) / 2, sy = (H - 1) / 2;
  for (let n = 0; n < N; n++) {
    const ix = (positions[2 * n] + 1) * sx, iy = (positions[2 * n + 1] + 1) * sy;
    const x0 = Math.floor(ix), y0 = Math.floor(iy);
    const fx = ix - x0, fy = iy - y0;
    const xs = [x0, x0 + 1, x0, x0 + 1], ys = [y0, y0, y0 + 1, y0 + 1];
    const ws = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy];
    for (let j = 0; j < 4; j++) {
      const inside = xs[j] >= 0 && xs[j] < W && ys[j] >= 0 && ys[j] < H;
      offsets[4 * n + j] = inside ? (ys[j] * W + xs[j]) * C : -1;
      weights[4 * n + j] = inside ? ws[j] : 0;
    }
  }
  return { offsets, weights };
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

function axpy(w: number, x: Float32Array, xo: number, y: Float32Array, yo: number, n: number): void {
  for (let i = 0; i < n; i++) y[yo + i] += w * x[xo + i];
}

function checkSizes(a: ReadoutForwardArgs, B: number): void {
  const { height: H, width: W, channels: C, neurons: N } = a;
  for (let b = 0; b < B; b++) {
    if (a.maps[b].length < H * W * C) throw new Error(`feature map ${b}: expected ${H * W * C} values (${H}x${W}x${C}), got ${a.maps[b].length}`);
  }
  if (a.features.length !== N * C) throw new Error(`features: expected ${N * C} values (${N} neurons x ${C} channels), got ${a.features.length}`);
  if (a.bias.length !== N) throw new Error(`bias: expected ${N} values, got ${a.bias.length}`);
}
