/**
 * The factorized readout's (neuralpredictors FullFactorized2d, src/model/factorized_readout.ts) training step on
 * cached core features, forward and backward fused, without tfjs. For image b (map X_b, (h*w, C)) and neuron n:
 *
 *   m_n    = mask of neuron n: spatial_n / (|spatial_n|_2 + 1e-6) with `normalize`, then max(., 0) (constrainPos,
 *            straight-through gradient) or |.| (positiveSpatial)
 *   Z_b    = M X_b                                  (N, C)   GEMM 1: N x hw x C multiply-adds
 *   v      = Z_b[n] . f_n + bias_n,  r = elu(v + elu_offset) + 1
 *   loss   = sum (r - t log(r + eps))               (neuralpredictors PoissonLoss, summed)
 *   g      = lossScale * dloss/dv
 *   dF[n] += g Z_b[n];  dbias += g;  G_b = diag(g) F
 *   dM    += G_b X_b^T                              (N, hw)  GEMM 2: N x C x hw multiply-adds
 *   dX_b   = M^T G_b (optional, for training through the core)   GEMM 3
 * then dM (plus the regularizer's gradient) is taken back through the mask's normalization to d spatial.
 *
 * It is a GEMM: ~N hw C multiply-adds per image and pass (7776 x 1568 x 64 = 780 M for the Sensorium model), ~200x
 * the Gaussian readout's work. The GEMMs run as generated WebAssembly SIMD (wasm/factorized_kernel.ts: register-
 * blocked, f32x4 mul + add, or relaxed-SIMD fused multiply-add where the engine has it), or as plain loops.
 * Measured alternatives (tfjs' XNNPACK matMul on tfjs-backend-wasm, plain JS) are in bench/factorized.ts.
 *
 * Layouts: maps one (h, w, C) array per image (NHWC, as the feature cache stores them); spatial (N, h*w) =
 * neuralpredictors' `spatial` (N, h, w); features (N, C) = its `_features`; bias (N).
 * Like neuralpredictors' forward, a step with constrainPos clamps `features` (and, without normalize, `spatial`) at 0
 * in place before computing.
 */
import { FACTORIZED_DEFAULT_L1_FORM, type FactorizedL1Form } from '../model/readout_types';
import type { KernelChoice, MapGeometry } from './fused_readout';
import { type GemmSpec, gemmModuleBytes, gemmSimdAvailable, relaxedSimdAvailable } from './wasm/factorized_kernel';

/** neuralpredictors' epsilon in the mask normalization (after the square root); = FACTORIZED_NORM_EPS of the model. */
const NORM_EPS = 1e-6;

export interface MaskOptions {
  normalize: boolean;
  constrainPos: boolean;
  positiveSpatial: boolean;
}

export interface FactorizedForwardArgs extends MapGeometry {
  /** One (h, w, C) feature map per image of the batch. */
  maps: readonly Float32Array[];
  neurons: number;
  /** (N, h*w): neuralpredictors' `spatial` parameter (before normalization). */
  spatial: Float32Array;
  /** (N, C). */
  features: Float32Array;
  /** (N), or null without a bias. */
  bias: Float32Array | null;
  mask: MaskOptions;
  /** Output nonlinearity elu(v + eluOffset) + 1. */
  eluOffset?: number;
}

export interface FactorizedTrainArgs extends FactorizedForwardArgs {
  /** (B, N) observed responses. */
  targets: Float32Array;
  /** Multiplies the Poisson part of the gradient (the reference trainer's loss scale). */
  lossScale: number;
  /** Added inside the log: 1e-8 in neuralpredictors' PoissonLoss. */
  logEps: number;
  /** Accumulated into: (N, h*w), d/d spatial. */
  gradSpatial: Float32Array;
  /** Accumulated into: (N, C). */
  gradFeatures: Float32Array;
  /** Accumulated into: (N); null without a bias. */
  gradBias: Float32Array | null;
  /**
   * The regularizer, added with its gradient (unscaled by lossScale): weight * l1, l1 = sum_n |m_n|_1 |f_n|_1
   * ('per_neuron') or neuralpredictors' (sum_n |m_n|_1) (sum_n |f_n|_1) ('neuralpredictors', its code's
   * outer-product form), / (N C h w) for 'mean'. Weight 0 or absent: none.
   */
  regWeight?: number;
  regReduction?: 'sum' | 'mean';
  /** Which l1 (default FACTORIZED_DEFAULT_L1_FORM, model/readout_types.ts). */
  regForm?: FactorizedL1Form;
  /** Optional (B, N): the predictions r. */
  predictions?: Float32Array;
  /** Optional, accumulated into: dL/d map, one (h, w, C) array per image (training through the core). */
  gradMaps?: Float32Array[];
}

export interface FactorizedStepResult {
  /** Unscaled Poisson loss summed over images and neurons (float64 accumulation). */
  poisson: number;
  /** The regularizer's value (0 without regWeight). */
  regularizer: number;
}

export type FactorizedPath = 'wasm-relaxed' | 'wasm' | 'js';

export interface FactorizedKernelOptions {
  /** Images per GEMM pass (the mask is streamed from memory once per pass). Default 1. */
  imagesPerPass?: number;
  /** Use relaxed-SIMD fused multiply-add when the engine has it (default true). */
  relaxed?: boolean;
  /** Micro-kernel tiling of the SIMD GEMMs (benchmarks): rows, 4-float column vectors, k unroll. */
  tile?: { mr: number; nv: number; unroll: number };
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Default micro-kernel tiling: rows x (4 * nv) columns, k unrolled; bench/factorized.ts measures alternatives. */
export const DEFAULT_TILE = { mr: 4, nv: 2, unroll: 1 };
type Tile = typeof DEFAULT_TILE;

/** Buffers the GEMMs work on (views into wasm memory for the SIMD path). Row strides are the padded sizes. */
interface Buffers {
  /** (Np, HWp) the transformed mask M. */
  mask: Float32Array;
  /** (Np, HWp) dL/dM accumulator. */
  gradMask: Float32Array;
  /** (HWp, k Cp) the pass's maps side by side. */
  x: Float32Array;
  /** (k Cp, HWp) their transposes stacked. */
  xt: Float32Array;
  /** (Np, k Cp). */
  z: Float32Array;
  /** (Np, k Cp). */
  g: Float32Array;
  /** (Cp, Np) one image's G^T, and (Cp, HWp) its map gradient transposed (GEMM 3). */
  gt: Float32Array;
  dxt: Float32Array;
  /** Z = M X for `images` images; G X^T accumulated into gradMask for `images` images; dXT = GT M. */
  gemmForward(images: number): void;
  gemmBackward(images: number): void;
  gemmMapGrad(): void;
}

interface Dims {
  N: number;
  C: number;
  HW: number;
  Np: number;
  Cp: number;
  HWp: number;
  k: number;
  tile: Tile;
}

function bufferSizes(d: Dims): number[] {
  const { Np, Cp, HWp, k } = d;
  return [Np * HWp, Np * HWp, HWp * k * Cp, k * Cp * HWp, Np * k * Cp, Np * k * Cp, Cp * Np, Cp * HWp];
}

/** Plain-loop GEMM, same semantics as the generated one (float32 storage, float32 accumulation per product). */
function gemmJs(
  A: Float32Array,
  B: Float32Array,
  Cm: Float32Array,
  M: number,
  K: number,
  Nc: number,
  lda: number,
  ldb: number,
  ldc: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    const co = i * ldc,
      ao = i * lda;
    if (!accumulate) Cm.fill(0, co, co + Nc);
    for (let kk = 0; kk < K; kk++) {
      const a = A[ao + kk];
      if (a === 0) continue;
      const bo = kk * ldb;
      for (let j = 0; j < Nc; j++) Cm[co + j] += a * B[bo + j];
    }
  }
}

function jsBuffers(d: Dims): Buffers {
  const { Np, Cp, HWp, k } = d;
  const [sM, sDM, sX, sXT, sZ, sG, sGT, sDXT] = bufferSizes(d);
  const b: Buffers = {
    mask: new Float32Array(sM),
    gradMask: new Float32Array(sDM),
    x: new Float32Array(sX),
    xt: new Float32Array(sXT),
    z: new Float32Array(sZ),
    g: new Float32Array(sG),
    gt: new Float32Array(sGT),
    dxt: new Float32Array(sDXT),
    gemmForward: (images) => gemmJs(b.mask, b.x, b.z, Np, HWp, images * Cp, HWp, k * Cp, k * Cp, false),
    gemmBackward: (images) => gemmJs(b.g, b.xt, b.gradMask, Np, images * Cp, HWp, k * Cp, HWp, HWp, true),
    gemmMapGrad: () => gemmJs(b.gt, b.mask, b.dxt, Cp, Np, HWp, Np, HWp, HWp, false),
  };
  return b;
}

const modules = new Map<string, WebAssembly.Module>();

function wasmBuffers(d: Dims, madd: boolean): Buffers {
  const { Np, Cp, HWp, k } = d;
  const { mr: MR, nv: NV, unroll: UNROLL } = d.tile;
  const sizes = bufferSizes(d);
  const offsets: number[] = [];
  let total = 0;
  for (const z of sizes) {
    offsets.push(total);
    total += roundUp(z * 4, 64);
  }
  if (total > 2 ** 31 - 2 ** 20) {
    throw new RangeError(
      `the factorized readout kernel needs ${(total / 2 ** 30).toFixed(2)} GiB of WebAssembly memory (${d.N} neurons x ${d.HW} mask pixels); at most 2 GiB`,
    );
  }
  const pages = Math.ceil(total / 65536) + 1;
  const gemm = (
    K: number,
    Nc: number,
    lda: number,
    ldb: number,
    ldc: number,
    accumulate: boolean,
    mr = MR,
  ): GemmSpec => ({ K, Nc, lda, ldb, ldc, mr, nv: NV, accumulate, madd, unroll: UNROLL });
  // GEMM 3 (map gradient) has Cp rows: a row tile that divides it (Cp is a multiple of 4 NV, so 4 does)
  const mr3 = Cp % MR === 0 ? MR : 4;
  // one module per pass width (the last pass of a batch may hold fewer images)
  const instances: Array<Record<string, (a: number, b: number, c: number, n: number) => void>> = [];
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const [oM, oDM, oX, oXT, oZ, oG, oGT, oDXT] = offsets;
  for (let images = 1; images <= k; images++) {
    const key = `${Np}:${Cp}:${HWp}:${k}:${images}:${madd}:${MR}x${NV}u${UNROLL}`;
    let mod = modules.get(key);
    if (!mod) {
      const gemms = [
        { name: 'fwd', spec: gemm(HWp, images * Cp, HWp, k * Cp, k * Cp, false) },
        { name: 'bwd', spec: gemm(images * Cp, HWp, k * Cp, HWp, HWp, true) },
      ];
      if (images === 1) gemms.push({ name: 'mapgrad', spec: gemm(Np, HWp, Np, HWp, HWp, false, mr3) });
      mod = new WebAssembly.Module(gemmModuleBytes(gemms) as Uint8Array<ArrayBuffer>);
      if (modules.size > 32) modules.clear();
      modules.set(key, mod);
    }
    instances.push(
      new WebAssembly.Instance(mod, { env: { memory } }).exports as Record<
        string,
        (a: number, b: number, c: number, n: number) => void
      >,
    );
  }
  const buf = memory.buffer;
  const view = (i: number): Float32Array => new Float32Array(buf, offsets[i], sizes[i]);
  return {
    mask: view(0),
    gradMask: view(1),
    x: view(2),
    xt: view(3),
    z: view(4),
    g: view(5),
    gt: view(6),
    dxt: view(7),
    gemmForward: (images) => instances[images - 1].fwd(oM, oX, oZ, Np / MR),
    gemmBackward: (images) => instances[images - 1].bwd(oG, oXT, oDM, Np / MR),
    gemmMapGrad: () => instances[0].mapgrad(oGT, oM, oDXT, Cp / mr3),
  };
}

/**
 * A reusable fused factorized readout for one shape (create once per training run: it holds ~2 N hw floats).
 * `kernel`: 'auto' and 'wasm' use WebAssembly SIMD when the engine has it ('wasm' throws otherwise), 'js' plain loops.
 */
export class FusedFactorizedReadout {
  readonly path: FactorizedPath;
  private readonly d: Dims;
  private readonly b: Buffers;
  /** Per neuron: |spatial_n|_2 (normalize) for the backward pass. */
  private readonly norms: Float64Array;

  constructor(
    readonly geometry: MapGeometry,
    readonly neurons: number,
    kernel: KernelChoice = 'auto',
    opts: FactorizedKernelOptions = {},
  ) {
    const { height: H, width: W, channels: C } = geometry;
    for (const [what, v] of [
      ['height', H],
      ['width', W],
      ['channels', C],
      ['neurons', neurons],
    ] as const) {
      if (!(Number.isInteger(v) && v > 0))
        throw new Error(`factorized readout kernel: ${what} must be a positive integer, got ${v}`);
    }
    const k = Math.max(1, Math.floor(opts.imagesPerPass ?? 1));
    const simd = kernel !== 'js' && gemmSimdAvailable();
    if (kernel === 'wasm' && !simd) throw new Error('WebAssembly SIMD is not available in this engine');
    const HW = H * W;
    const tile = opts.tile ?? DEFAULT_TILE;
    const NR = 4 * tile.nv;
    // Cp: GEMM 1's columns (GEMM 3's rows use their own row tile); HWp: GEMM 2/3's columns
    const Cp = roundUp(C, NR);
    this.d = simd
      ? { N: neurons, C, HW, Np: roundUp(neurons, tile.mr), Cp, HWp: roundUp(HW, NR), k, tile }
      : { N: neurons, C, HW, Np: neurons, Cp: C, HWp: HW, k, tile };
    const madd = simd && (opts.relaxed ?? true) && relaxedSimdAvailable();
    this.b = simd ? wasmBuffers(this.d, madd) : jsBuffers(this.d);
    this.path = simd ? (madd ? 'wasm-relaxed' : 'wasm') : 'js';
    this.norms = new Float64Array(neurons);
  }

  /** Bytes this instance holds (mask, its gradient and the per-pass buffers). */
  get bytes(): number {
    return bufferSizes(this.d).reduce((s, z) => s + 4 * z, 0);
  }

  /**
   * One training step's readout part. Gradients are accumulated into the caller's arrays (Poisson part times
   * lossScale, plus the regularizer's). Returns the unscaled Poisson loss and the regularizer.
   */
  trainStep(a: FactorizedTrainArgs): FactorizedStepResult {
    const { N, C, HW, Cp, k } = this.d;
    const B = a.maps.length;
    this.check(a, B);
    if (a.targets.length !== B * N)
      throw new Error(`targets: expected ${B * N} values (${B} x ${N}), got ${a.targets.length}`);
    if (a.gradSpatial.length !== N * HW) throw new Error(`gradSpatial: expected ${N * HW} values`);
    if (a.gradFeatures.length !== N * C) throw new Error(`gradFeatures: expected ${N * C} values`);
    if (!a.bias !== !a.gradBias) throw new Error('gradBias must be given exactly when bias is');
    if (a.gradMaps && a.gradMaps.length !== B) throw new Error(`gradMaps: expected ${B} arrays`);
    if (a.predictions && a.predictions.length < B * N) throw new Error(`predictions: expected ${B * N} values`);
    const { features, bias, targets, lossScale, logEps } = a;
    const off = a.eluOffset ?? 0;
    this.constrainInPlace(a);
    this.prepareMask(a.spatial, a.mask);
    const buf = this.b;
    buf.gradMask.fill(0);
    const kC = k * Cp;
    let loss = 0;
    for (let b0 = 0; b0 < B; b0 += k) {
      const n = Math.min(k, B - b0);
      for (let j = 0; j < n; j++) this.packMap(a.maps[b0 + j], j);
      buf.gemmForward(n);
      const { z, g } = buf;
      for (let j = 0; j < n; j++) {
        const b = b0 + j;
        for (let i = 0; i < N; i++) {
          const zo = i * kC + j * Cp,
            fo = i * C;
          let v = 0;
          for (let c = 0; c < C; c++) v += z[zo + c] * features[fo + c];
          v += (bias ? bias[i] : 0) + off;
          const r = v > 0 ? v + 1 : Math.exp(v);
          const t = targets[b * N + i];
          loss += r - t * Math.log(r + logEps);
          if (a.predictions) a.predictions[b * N + i] = r;
          // dL/dv = (1 - t / (r + eps)) * elu'(v), elu'(v) = exp(v) = r for v <= 0
          const gv = lossScale * (1 - t / (r + logEps)) * (v > 0 ? 1 : r);
          if (a.gradBias) a.gradBias[i] += gv;
          const gf = a.gradFeatures;
          for (let c = 0; c < C; c++) {
            gf[fo + c] += gv * z[zo + c];
            g[zo + c] = gv * features[fo + c];
          }
        }
        if (a.gradMaps) this.mapGradient(j, a.gradMaps[b]);
      }
      buf.gemmBackward(n);
    }
    const regularizer = this.regularizerInto(a);
    this.maskBackward(a.spatial, a.mask, a.gradSpatial);
    return { poisson: loss, regularizer };
  }

  /** Eval-mode readout (the same as training: nothing is sampled). Writes r = elu(v + elu_offset) + 1 into `out` (B, N). */
  predict(a: FactorizedForwardArgs & { out: Float32Array }): void {
    const { N, C, k, Cp } = this.d;
    const B = a.maps.length;
    this.check(a, B);
    if (a.out.length < B * N) throw new Error(`out: expected ${B * N} values, got ${a.out.length}`);
    const { features, bias, out } = a;
    const off = a.eluOffset ?? 0;
    this.constrainInPlace(a);
    this.prepareMask(a.spatial, a.mask);
    const kC = k * Cp,
      z = this.b.z;
    for (let b0 = 0; b0 < B; b0 += k) {
      const n = Math.min(k, B - b0);
      for (let j = 0; j < n; j++) this.packMap(a.maps[b0 + j], j, false);
      this.b.gemmForward(n);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < N; i++) {
          const zo = i * kC + j * Cp,
            fo = i * C;
          let v = 0;
          for (let c = 0; c < C; c++) v += z[zo + c] * features[fo + c];
          v += (bias ? bias[i] : 0) + off;
          out[(b0 + j) * N + i] = v > 0 ? v + 1 : Math.exp(v);
        }
      }
    }
  }

  private check(a: FactorizedForwardArgs, B: number): void {
    const { height: H, width: W, channels: C } = this.geometry;
    const N = this.neurons;
    if (a.height !== H || a.width !== W || a.channels !== C || a.neurons !== N) {
      throw new Error(
        `factorized readout kernel made for ${H}x${W}x${C} maps and ${N} neurons, called with ${a.height}x${a.width}x${a.channels} and ${a.neurons}`,
      );
    }
    for (let b = 0; b < B; b++) {
      if (a.maps[b].length < H * W * C)
        throw new Error(`feature map ${b}: expected ${H * W * C} values (${H}x${W}x${C}), got ${a.maps[b].length}`);
    }
    if (a.spatial.length !== N * H * W)
      throw new Error(`spatial: expected ${N * H * W} values (${N} x ${H} x ${W}), got ${a.spatial.length}`);
    if (a.features.length !== N * C)
      throw new Error(`features: expected ${N * C} values (${N} x ${C}), got ${a.features.length}`);
    if (a.bias && a.bias.length !== N) throw new Error(`bias: expected ${N} values, got ${a.bias.length}`);
  }

  /** neuralpredictors' forward with constrain_pos: features (and without normalize the mask parameter) clamped in place. */
  private constrainInPlace(a: FactorizedForwardArgs): void {
    if (!a.mask.constrainPos) return;
    const f = a.features;
    for (let i = 0; i < f.length; i++) if (f[i] < 0) f[i] = 0;
    if (!a.mask.normalize) {
      const s = a.spatial;
      for (let i = 0; i < s.length; i++) if (s[i] < 0) s[i] = 0;
    }
  }

  private prepareMask(spatial: Float32Array, o: MaskOptions): void {
    const { N, HW, HWp } = this.d;
    transformMask(spatial, o, N, HW, HWp, this.b.mask, this.norms);
  }

  /** Copies map `map` (HW, C) into slot j of the pass: x (HWp, k Cp) and, for training, xt (k Cp, HWp). */
  private packMap(map: Float32Array, j: number, transpose = true): void {
    const { C, HW, Cp, HWp, k } = this.d;
    const { x, xt } = this.b;
    const kC = k * Cp;
    if (C === Cp && k === 1) x.set(map.subarray(0, HW * C));
    else for (let p = 0; p < HW; p++) for (let c = 0; c < C; c++) x[p * kC + j * Cp + c] = map[p * C + c];
    if (!transpose) return;
    const base = j * Cp * HWp;
    for (let p = 0; p < HW; p++) {
      const mo = p * C;
      for (let c = 0; c < C; c++) xt[base + c * HWp + p] = map[mo + c];
    }
  }

  /** dX_b = M^T G_b for pass slot j, added into `out` (HW, C). */
  private mapGradient(j: number, out: Float32Array): void {
    const { N, C, HW, Np, Cp, HWp, k } = this.d;
    const { g, gt, dxt } = this.b;
    if (out.length < HW * C) throw new Error(`gradMaps: expected ${HW * C} values per image`);
    const kC = k * Cp;
    for (let c = 0; c < C; c++) for (let n = 0; n < N; n++) gt[c * Np + n] = g[n * kC + j * Cp + c];
    this.b.gemmMapGrad();
    for (let p = 0; p < HW; p++) for (let c = 0; c < C; c++) out[p * C + c] += dxt[c * HWp + p];
  }

  /** The regularizer's value; its gradient goes into gradMask (w.r.t. M) and gradFeatures. */
  private regularizerInto(a: FactorizedTrainArgs): number {
    const { N, C, HW, HWp } = this.d;
    return regularizerAndGrads(
      this.b.mask,
      a.features,
      N,
      C,
      HW,
      HWp,
      a.regWeight ?? 0,
      a.regReduction ?? 'sum',
      a.regForm ?? FACTORIZED_DEFAULT_L1_FORM,
      this.b.gradMask,
      a.gradFeatures,
    );
  }

  private maskBackward(spatial: Float32Array, o: MaskOptions, out: Float32Array): void {
    const { N, HW, HWp } = this.d;
    maskBackward(spatial, o, N, HW, HWp, this.norms, this.b.gradMask, out);
  }
}

/**
 * M = transform(spatial): rows of `out` with stride HWp (padding untouched); |spatial_n| into `norms` (normalize).
 * float32 like torch: sqrt of the float32 sum, + 1e-6, then the division.
 */
export function transformMask(
  spatial: Float32Array,
  o: MaskOptions,
  N: number,
  HW: number,
  HWp: number,
  out: Float32Array,
  norms: Float64Array,
): void {
  for (let n = 0; n < N; n++) {
    const so = n * HW,
      mo = n * HWp;
    let scale = 1;
    if (o.normalize) {
      let ss = 0;
      for (let p = 0; p < HW; p++) ss += spatial[so + p] * spatial[so + p];
      const r = Math.fround(Math.sqrt(Math.fround(ss)));
      norms[n] = r;
      scale = Math.fround(r + NORM_EPS);
    }
    for (let p = 0; p < HW; p++) {
      let w = o.normalize ? spatial[so + p] / scale : spatial[so + p];
      if (o.constrainPos) {
        if (w < 0) w = 0;
      } else if (o.positiveSpatial) w = Math.abs(w);
      out[mo + p] = w;
    }
  }
}

/**
 * The regularizer weight * l1 (/ (N C hw) for 'mean'), M the transformed mask: l1 = sum_n |M_n|_1 |f_n|_1
 * ('per_neuron') or (sum |M|) (sum |f|) ('neuralpredictors'). Returns the value and adds its gradient w.r.t. M into
 * gradMask and w.r.t. f into gradFeatures (sign(0) = 0, as torch's abs).
 */
function regularizerAndGrads(
  mask: Float32Array,
  f: Float32Array,
  N: number,
  C: number,
  HW: number,
  HWp: number,
  weight: number,
  reduction: 'sum' | 'mean',
  form: FactorizedL1Form,
  gradMask: Float32Array,
  gradFeatures: Float32Array,
): number {
  if (weight === 0) return 0;
  const w = reduction === 'mean' ? weight / (N * C * HW) : weight;
  // per neuron |M_n|_1 and |f_n|_1
  const m1 = new Float64Array(N),
    f1 = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let p = 0; p < HW; p++) s += Math.abs(mask[n * HWp + p]);
    m1[n] = s;
    let t = 0;
    for (let c = 0; c < C; c++) t += Math.abs(f[n * C + c]);
    f1[n] = t;
  }
  let value = 0,
    mAll = 0,
    fAll = 0;
  for (let n = 0; n < N; n++) {
    mAll += m1[n];
    fAll += f1[n];
    value += m1[n] * f1[n];
  }
  if (form === 'neuralpredictors') value = mAll * fAll;
  for (let n = 0; n < N; n++) {
    // d/dM_n = w |f|_1 sign(M_n) (per neuron: this neuron's |f_n|_1), d/df_n = w |M|_1 sign(f_n)
    const gm = w * (form === 'neuralpredictors' ? fAll : f1[n]);
    const gfv = w * (form === 'neuralpredictors' ? mAll : m1[n]);
    const mo = n * HWp;
    for (let p = 0; p < HW; p++) {
      const v = mask[mo + p];
      if (v !== 0) gradMask[mo + p] += v > 0 ? gm : -gm;
    }
    const fo = n * C;
    for (let c = 0; c < C; c++) {
      const v = f[fo + c];
      if (v !== 0) gradFeatures[fo + c] += v > 0 ? gfv : -gfv;
    }
  }
  return w * value;
}

/**
 * dL/dM (gradMask, rows of stride HWp; overwritten) -> dL/d spatial, accumulated into `out` (N, HW):
 * positiveSpatial: times sign(spatial); constrainPos: straight through (neuralpredictors clamps `.data`);
 * normalize: ds = dw / (r + eps) - s (dw . s) / ((r + eps)^2 r), r = |s| (the r = 0 term is dropped where torch
 * would give NaN).
 */
export function maskBackward(
  spatial: Float32Array,
  o: MaskOptions,
  N: number,
  HW: number,
  HWp: number,
  norms: Float64Array,
  gradMask: Float32Array,
  out: Float32Array,
): void {
  const dm = gradMask;
  for (let n = 0; n < N; n++) {
    const so = n * HW,
      mo = n * HWp;
    if (!o.constrainPos && o.positiveSpatial) {
      // m = |w| and sign(w) = sign(spatial) (the normalization is a positive scale)
      for (let p = 0; p < HW; p++) {
        const s = spatial[so + p];
        dm[mo + p] = s > 0 ? dm[mo + p] : s < 0 ? -dm[mo + p] : 0;
      }
    }
    if (!o.normalize) {
      for (let p = 0; p < HW; p++) out[so + p] += dm[mo + p];
      continue;
    }
    const r = norms[n],
      d = r + NORM_EPS;
    let dot = 0;
    for (let p = 0; p < HW; p++) dot += dm[mo + p] * spatial[so + p];
    const c2 = r > 0 ? dot / (d * d * r) : 0;
    for (let p = 0; p < HW; p++) out[so + p] += dm[mo + p] / d - spatial[so + p] * c2;
  }
}

/**
 * The regularizer and its gradients on host arrays (for a trainer that keeps it apart from the step): weight * l1
 * in `form` (default FACTORIZED_DEFAULT_L1_FORM; see regularizerAndGrads) (/ (N C h w) for 'mean'), M the
 * transformed mask. Gradients accumulated into gradSpatial (through the normalization) and gradFeatures when given.
 */
export function factorizedRegularizer(a: {
  spatial: Float32Array;
  features: Float32Array;
  neurons: number;
  channels: number;
  height: number;
  width: number;
  mask: MaskOptions;
  weight: number;
  reduction?: 'sum' | 'mean';
  form?: FactorizedL1Form;
  gradSpatial?: Float32Array;
  gradFeatures?: Float32Array;
}): number {
  const N = a.neurons,
    C = a.channels,
    HW = a.height * a.width;
  const mask = new Float32Array(N * HW),
    norms = new Float64Array(N),
    gradMask = new Float32Array(N * HW);
  transformMask(a.spatial, a.mask, N, HW, HW, mask, norms);
  const v = regularizerAndGrads(
    mask,
    a.features,
    N,
    C,
    HW,
    HW,
    a.weight,
    a.reduction ?? 'sum',
    a.form ?? FACTORIZED_DEFAULT_L1_FORM,
    gradMask,
    a.gradFeatures ?? new Float32Array(N * C),
  );
  if (a.gradSpatial) maskBackward(a.spatial, a.mask, N, HW, HW, norms, gradMask, a.gradSpatial);
  return v;
}

const shared = new Map<string, FusedFactorizedReadout>();

function cached(a: FactorizedForwardArgs, kernel: KernelChoice): FusedFactorizedReadout {
  const key = `${a.height}x${a.width}x${a.channels}:${a.neurons}:${kernel}`;
  let f = shared.get(key);
  if (!f) {
    if (shared.size >= 2) shared.clear(); // each holds ~2 N hw floats
    f = new FusedFactorizedReadout({ height: a.height, width: a.width, channels: a.channels }, a.neurons, kernel);
    shared.set(key, f);
  }
  return f;
}

/** One-off training step (a FusedFactorizedReadout per shape is kept and reused). */
export function factorizedTrainStep(a: FactorizedTrainArgs, kernel: KernelChoice = 'auto'): FactorizedStepResult {
  return cached(a, kernel).trainStep(a);
}

/** One-off eval-mode readout (a FusedFactorizedReadout per shape is kept and reused). */
export function factorizedPredict(
  a: FactorizedForwardArgs & { out: Float32Array },
  kernel: KernelChoice = 'auto',
): void {
  cached(a, kernel).predict(a);
}

/** Releases the instances `factorizedTrainStep` / `factorizedPredict` keep (their memory goes with them). */
export function releaseFactorizedKernels(): void {
  shared.clear();
}
