/**
 * The factorized readout's step (neuralpredictors FullFactorized2d; factorized_readout.ts derives the math) with its
 * two GEMMs in WGSL. Per image b (map X_b (hw, C)), mask M (N, hw) = transform(spatial), features F (N, C):
 *   1. `zgemm`   Z_b = M X_b                        (N, C) per image: 16x16 tiles through workgroup memory
 *   2. `poisson` v = Z_b[n] . f_n + bias_n, r = elu(v + offset) + 1, the Poisson term, g = lossScale dL/dv
 *   3. `dfeat`   dF[n, c] = sum_b g[b, n] Z_b[n, c];  dbias[n] = sum_b g[b, n]
 *   4. `dmask`   dM[n, p] = sum_b g[b, n] (X_b f_n)[p]      (= sum_b G_b X_b^T, G_b = diag(g_b) F): tiled over (n, p)
 * The mask's transform (normalization, clamp/abs), the regularizer and the backward through the normalization are
 * O(N hw) and stay on the host with the WebAssembly path's own functions; so does the constrainPos clamp of features.
 * Each output has one writer thread and sums in a fixed order: deterministic, no atomics.
 */
import { FACTORIZED_DEFAULT_L1_FORM } from '../../model/readout_types';
import {
  type FactorizedForwardArgs,
  type FactorizedStepResult,
  type FactorizedTrainArgs,
  factorizedRegularizer,
  maskBackward,
  transformMask,
} from '../factorized_readout';
import type { MapGeometry } from '../fused_readout';
import { type Gpu, GrowBuffer, groupsFor } from './gpu';
import { type GpuMapSource, MapInput } from './map_input';

const TILE = 16;

const DIMS = /* wgsl */ `
struct Dims { B: u32, N: u32, HW: u32, C: u32, lossScale: f32, logEps: f32, eluOffset: f32 };
@group(0) @binding(0) var<uniform> d: Dims;
`;

const ZGEMM = /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read> maps: array<f32>;
@group(0) @binding(3) var<storage, read> slots: array<u32>;
@group(0) @binding(4) var<storage, read_write> z: array<f32>;
var<workgroup> As: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TILE}>;

@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let b = wg.z;
  let row = wg.y * ${TILE}u + l.y;
  let col = wg.x * ${TILE}u + l.x;
  let base = slots[b] * d.HW * d.C;
  var acc = 0.0;
  for (var k0 = 0u; k0 < d.HW; k0 += ${TILE}u) {
    let ka = k0 + l.x;
    var a = 0.0;
    if (row < d.N && ka < d.HW) { a = mask[row * d.HW + ka]; }
    As[l.y][l.x] = a;
    let kb = k0 + l.y;
    var x = 0.0;
    if (kb < d.HW && col < d.C) { x = maps[base + kb * d.C + col]; }
    Bs[l.y][l.x] = x;
    workgroupBarrier();
    for (var k = 0u; k < ${TILE}u; k++) { acc += As[l.y][k] * Bs[k][l.x]; }
    workgroupBarrier();
  }
  if (row < d.N && col < d.C) { z[(b * d.N + row) * d.C + col] = acc; }
}
`;

const POISSON = /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> features: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= d.B * d.N) { return; }
  let n = k % d.N;
  var v = 0.0;
  for (var c = 0u; c < d.C; c++) { v += z[k * d.C + c] * features[n * d.C + c]; }
  v += bias[n] + d.eluOffset;
  var r = exp(v);
  var de = r;
  if (v > 0.0) { r = v + 1.0; de = 1.0; }
  let t = targets[k];
  out[3u * k] = r;
  out[3u * k + 1u] = r - t * log(r + d.logEps);
  out[3u * k + 2u] = d.lossScale * (1.0 - t / (r + d.logEps)) * de;
}
`;

const DFEAT = /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> gradFeatures: array<f32>;
@group(0) @binding(4) var<storage, read_write> gradBias: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x;
  if (idx >= d.N * d.C) { return; }
  let n = idx / d.C;
  let c = idx % d.C;
  var acc = 0.0;
  var gb = 0.0;
  for (var b = 0u; b < d.B; b++) {
    let k = b * d.N + n;
    let g = out[3u * k + 2u];
    acc += g * z[k * d.C + c];
    gb += g;
  }
  gradFeatures[idx] = acc;
  if (c == 0u) { gradBias[n] = gb; }
}
`;

const DMASK = /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> features: array<f32>;
@group(0) @binding(2) var<storage, read> maps: array<f32>;
@group(0) @binding(3) var<storage, read> slots: array<u32>;
@group(0) @binding(4) var<storage, read> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> gradMask: array<f32>;
var<workgroup> Fs: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> Xs: array<array<f32, ${TILE}>, ${TILE}>;

// rows: neurons n, columns: mask pixels p, inner: channels c; summed over the images with weight g[b, n]
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let row = wg.y * ${TILE}u + l.y;
  let colBase = wg.x * ${TILE}u;
  let col = colBase + l.x;
  var total = 0.0;
  for (var b = 0u; b < d.B; b++) {
    let base = slots[b] * d.HW * d.C;
    var acc = 0.0;
    for (var k0 = 0u; k0 < d.C; k0 += ${TILE}u) {
      let ka = k0 + l.x;
      var f = 0.0;
      if (row < d.N && ka < d.C) { f = features[row * d.C + ka]; }
      Fs[l.y][l.x] = f;
      // Xs[k][j] = X_b[colBase + j, k0 + k]: thread (y, x) loads pixel colBase + y, channel k0 + x (contiguous)
      let p = colBase + l.y;
      let c = k0 + l.x;
      var x = 0.0;
      if (p < d.HW && c < d.C) { x = maps[base + p * d.C + c]; }
      Xs[l.x][l.y] = x;
      workgroupBarrier();
      for (var k = 0u; k < ${TILE}u; k++) { acc += Fs[l.y][k] * Xs[k][l.x]; }
      workgroupBarrier();
    }
    if (row < d.N) { total += out[3u * (b * d.N + row) + 2u] * acc; }
  }
  if (row < d.N && col < d.HW) { gradMask[row * d.HW + col] = total; }
}
`;

/** A reusable WGSL factorized readout for one shape. */
export class GpuFactorizedReadout {
  private readonly buf: Record<
    'mask' | 'features' | 'bias' | 'targets' | 'z' | 'out' | 'gradFeatures' | 'gradBias' | 'gradMask',
    GrowBuffer
  >;
  private readonly input: MapInput;
  private readonly norms: Float64Array;
  private readonly maskHost: Float32Array;

  constructor(
    private readonly gpu: Gpu,
    readonly geometry: MapGeometry,
    readonly neurons: number,
  ) {
    const names = ['mask', 'features', 'bias', 'targets', 'z', 'out', 'gradFeatures', 'gradBias', 'gradMask'] as const;
    this.buf = Object.fromEntries(
      names.map((n) => [n, new GrowBuffer(gpu, `factorized readout ${n}`)]),
    ) as GpuFactorizedReadout['buf'];
    this.input = new MapInput(gpu, geometry, 'factorized readout');
    this.norms = new Float64Array(neurons);
    this.maskHost = new Float32Array(neurons * geometry.height * geometry.width);
  }

  private check(a: FactorizedForwardArgs, B: number, source?: GpuMapSource): void {
    const { height: H, width: W, channels: C } = this.geometry;
    const N = this.neurons;
    if (a.height !== H || a.width !== W || a.channels !== C || a.neurons !== N)
      throw new Error(
        `WebGPU factorized readout made for ${H}x${W}x${C} maps and ${N} neurons, called with ${a.height}x${a.width}x${a.channels} and ${a.neurons}`,
      );
    if (a.spatial.length !== N * H * W) throw new Error(`spatial: expected ${N * H * W} values`);
    if (a.features.length !== N * C) throw new Error(`features: expected ${N * C} values`);
    if (a.bias && a.bias.length !== N) throw new Error(`bias: expected ${N} values`);
    this.input.check(a.maps, B, source);
  }

  /** Forward on the GPU (Z, then r / Poisson / g into `out`); returns the encoder and bound buffers. */
  private encodeForward(
    a: FactorizedForwardArgs,
    B: number,
    targets: Float32Array,
    lossScale: number,
    logEps: number,
    source?: GpuMapSource,
  ) {
    const { gpu, buf } = this;
    const N = this.neurons,
      C = this.geometry.channels,
      HW = this.geometry.height * this.geometry.width;
    transformMask(a.spatial, a.mask, N, HW, HW, this.maskHost, this.norms);
    const [maps, slots] = this.input.bind(a.maps, B, source);
    const mask = buf.mask.write(this.maskHost);
    const features = buf.features.write(a.features);
    const bias = buf.bias.write(a.bias ?? new Float32Array(N));
    const tgt = buf.targets.write(targets);
    const z = buf.z.ensure(B * N * C);
    const out = buf.out.ensure(B * N * 3);
    const dims = gpu.uniform([
      { u: B },
      { u: N },
      { u: HW },
      { u: C },
      { f: lossScale },
      { f: logEps },
      { f: a.eluOffset ?? 0 },
    ]);
    const enc = gpu.encoder();
    gpu.dispatch(
      enc,
      gpu.pipeline('factorized zgemm', ZGEMM),
      [dims, mask, maps, slots, z],
      [groupsFor(C, TILE), groupsFor(N, TILE), B],
    );
    gpu.dispatch(
      enc,
      gpu.pipeline('factorized poisson', POISSON),
      [dims, z, features, bias, tgt, out],
      [groupsFor(B * N, 64)],
    );
    return { enc, dims, maps, slots, features, z, out };
  }

  /**
   * One training step, the same contract as FusedFactorizedReadout.trainStep (gradients accumulated into the
   * arguments' arrays; returns the unscaled Poisson loss and the regularizer).
   */
  async trainStep(a: FactorizedTrainArgs, source?: GpuMapSource): Promise<FactorizedStepResult> {
    const N = this.neurons,
      C = this.geometry.channels,
      HW = this.geometry.height * this.geometry.width;
    const B = source ? source.slots.length : a.maps.length;
    this.check(a, B, source);
    if (a.targets.length !== B * N) throw new Error(`targets: expected ${B * N} values`);
    if (a.gradSpatial.length !== N * HW) throw new Error(`gradSpatial: expected ${N * HW} values`);
    if (a.gradFeatures.length !== N * C) throw new Error(`gradFeatures: expected ${N * C} values`);
    if (!a.bias !== !a.gradBias) throw new Error('gradBias must be given exactly when bias is');
    if (a.gradMaps) throw new Error('the WebGPU factorized readout has no map gradient (training through the core)');
    constrainInPlace(a);
    const { gpu, buf } = this;
    const f = this.encodeForward(a, B, a.targets, a.lossScale, a.logEps, source);
    const gF = buf.gradFeatures.ensure(N * C);
    const gB = buf.gradBias.ensure(N);
    const gM = buf.gradMask.ensure(N * HW);
    gpu.dispatch(f.enc, gpu.pipeline('factorized dfeat', DFEAT), [f.dims, f.z, f.out, gF, gB], [groupsFor(N * C, 64)]);
    gpu.dispatch(
      f.enc,
      gpu.pipeline('factorized dmask', DMASK),
      [f.dims, f.features, f.maps, f.slots, f.out, gM],
      [groupsFor(HW, TILE), groupsFor(N, TILE)],
    );
    const [out, dF, dB, dM] = await gpu.submitAndRead(f.enc, [
      [f.out, B * N * 3],
      [gF, N * C],
      [gB, N],
      [gM, N * HW],
    ]);
    let loss = 0;
    for (let k = 0; k < B * N; k++) {
      loss += out[3 * k + 1];
      if (a.predictions) a.predictions[k] = out[3 * k];
    }
    for (let i = 0; i < N * C; i++) a.gradFeatures[i] += dF[i];
    if (a.gradBias) for (let i = 0; i < N; i++) a.gradBias[i] += dB[i];
    // dL/dM -> dL/d spatial through the transform (linear in dL/dM, so the regularizer's part is added separately)
    maskBackward(a.spatial, a.mask, N, HW, HW, this.norms, dM.slice(), a.gradSpatial);
    const regularizer = a.regWeight
      ? factorizedRegularizer({
          spatial: a.spatial,
          features: a.features,
          neurons: N,
          channels: C,
          height: this.geometry.height,
          width: this.geometry.width,
          mask: a.mask,
          weight: a.regWeight,
          reduction: a.regReduction,
          form: a.regForm ?? FACTORIZED_DEFAULT_L1_FORM,
          gradSpatial: a.gradSpatial,
          gradFeatures: a.gradFeatures,
        })
      : 0;
    return { poisson: loss, regularizer };
  }

  /** Eval-mode readout: r into `out` (B, N), as FusedFactorizedReadout.predict. */
  async predict(a: FactorizedForwardArgs & { out: Float32Array }, source?: GpuMapSource): Promise<void> {
    const N = this.neurons;
    const B = source ? source.slots.length : a.maps.length;
    this.check(a, B, source);
    if (a.out.length < B * N) throw new Error(`out: expected ${B * N} values`);
    constrainInPlace(a);
    const f = this.encodeForward(a, B, new Float32Array(B * N), 1, 1, source);
    const [out] = await this.gpu.submitAndRead(f.enc, [[f.out, B * N * 3]]);
    for (let k = 0; k < B * N; k++) a.out[k] = out[3 * k];
  }

  destroy(): void {
    this.input.destroy();
    for (const b of Object.values(this.buf)) b.destroy();
  }
}

/** neuralpredictors' forward with constrain_pos clamps features (and without normalize the mask) in place, as the WASM path. */
function constrainInPlace(a: FactorizedForwardArgs): void {
  if (!a.mask.constrainPos) return;
  for (let i = 0; i < a.features.length; i++) if (a.features[i] < 0) a.features[i] = 0;
  if (!a.mask.normalize) for (let i = 0; i < a.spatial.length; i++) if (a.spatial[i] < 0) a.spatial[i] = 0;
}
