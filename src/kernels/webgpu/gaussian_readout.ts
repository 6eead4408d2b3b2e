/**
 * The Gaussian readout's fused training step and eval-mode forward in WGSL: the same math as the WebAssembly path
 * (fused_readout.ts, whose comment derives it), on one GPUDevice.
 *
 * Two dispatches per step:
 *  1. `sample`, one thread per (image, neuron): bilinear sampling at the (already noised and clamped) position as
 *     PyTorch's grid_sample(align_corners=True, padding_mode='zeros'), the dot product with the neuron's features,
 *     bias, elu(v + offset) + 1, the Poisson term r - t log(r + eps), g = lossScale dL/dv, dL/d position, and the
 *     4 corner weights g * bilinear weight; written as 9 floats per (image, neuron).
 *  2. `accumulate`, one thread per (neuron, channel): dL/d features = sum over images and the 4 corners of
 *     weight * map value (corners outside the map add nothing); the channel-0 thread also sums g into dL/d bias. Each thread owns its output: no atomics, and the sum
 *     runs over images in order (deterministic).
 * Positions, sigma and the position network stay on the host (they are O(neurons)): the step returns dL/d position
 * (B, N, 2) for gaussian_positions.ts' backward, as the WebAssembly path does.
 *
 * Maps come either from host arrays (uploaded per step) or from a GPU buffer that already holds them (a GPU feature
 * cache filled from the core's tfjs-webgpu output: no trip through the CPU), addressed by a slot per image.
 * Layout (H, W, C) per map, features (N, C), as fused_readout.ts.
 */
import type { MapGeometry, ReadoutForwardArgs, ReadoutTrainArgs } from '../fused_readout';
import { type Gpu, GrowBuffer, groupsFor } from './gpu';
import { type GpuMapSource, MapInput } from './map_input';

/** Floats per (image, neuron) written by `sample`: r, loss term, g, dL/dx, dL/dy, w00, w01, w10, w11. */
const PER = 9;

const DIMS = /* wgsl */ `
struct Dims { B: u32, N: u32, H: u32, W: u32, C: u32, lossScale: f32, logEps: f32, eluOffset: f32 };
@group(0) @binding(0) var<uniform> d: Dims;
`;

const SAMPLE = /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> maps: array<f32>;
@group(0) @binding(2) var<storage, read> slots: array<u32>;
@group(0) @binding(3) var<storage, read> features: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> positions: array<f32>;
@group(0) @binding(6) var<storage, read> targets: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

// features_n . map[y, x, :], 0 outside the map (zero padding)
fn cornerDot(base: u32, x: i32, y: i32, fo: u32) -> f32 {
  if (x < 0 || y < 0 || x >= i32(d.W) || y >= i32(d.H)) { return 0.0; }
  let o = base + (u32(y) * d.W + u32(x)) * d.C;
  var s = 0.0;
  for (var c = 0u; c < d.C; c++) { s += features[fo + c] * maps[o + c]; }
  return s;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= d.B * d.N) { return; }
  let b = k / d.N;
  let n = k % d.N;
  let sx = f32(d.W - 1u) * 0.5;
  let sy = f32(d.H - 1u) * 0.5;
  let ix = (positions[2u * k] + 1.0) * sx;
  let iy = (positions[2u * k + 1u] + 1.0) * sy;
  let fx0 = floor(ix);
  let fy0 = floor(iy);
  let x0 = i32(fx0);
  let y0 = i32(fy0);
  let gx1 = ix - fx0;
  let gy1 = iy - fy0;
  let gx0 = 1.0 - gx1;
  let gy0 = 1.0 - gy1;
  let base = slots[b] * d.H * d.W * d.C;
  let fo = n * d.C;
  let d00 = cornerDot(base, x0, y0, fo);
  let d01 = cornerDot(base, x0 + 1, y0, fo);
  let d10 = cornerDot(base, x0, y0 + 1, fo);
  let d11 = cornerDot(base, x0 + 1, y0 + 1, fo);
  let v = gy0 * (gx0 * d00 + gx1 * d01) + gy1 * (gx0 * d10 + gx1 * d11) + bias[n] + d.eluOffset;
  var r = exp(v);
  if (v > 0.0) { r = v + 1.0; }
  let t = targets[k];
  // dL/dv = (1 - t / (r + eps)) elu'(v), elu'(v) = exp(v) = r for v <= 0
  var de = r;
  if (v > 0.0) { de = 1.0; }
  let g = d.lossScale * (1.0 - t / (r + d.logEps)) * de;
  let o = ${PER}u * k;
  out[o] = r;
  out[o + 1u] = r - t * log(r + d.logEps);
  out[o + 2u] = g;
  out[o + 3u] = g * (gy0 * (d01 - d00) + gy1 * (d11 - d10)) * sx;
  out[o + 4u] = g * (gx0 * (d10 - d00) + gx1 * (d11 - d01)) * sy;
  out[o + 5u] = g * gx0 * gy0;
  out[o + 6u] = g * gx1 * gy0;
  out[o + 7u] = g * gx0 * gy1;
  out[o + 8u] = g * gx1 * gy1;
}
`;

const ACCUMULATE = /* wgsl */ `${DIMS}
@group(0) @binding(1) var<storage, read> maps: array<f32>;
@group(0) @binding(2) var<storage, read> slots: array<u32>;
@group(0) @binding(3) var<storage, read> positions: array<f32>;
@group(0) @binding(4) var<storage, read> sampled: array<f32>;
@group(0) @binding(5) var<storage, read_write> gradFeatures: array<f32>;
@group(0) @binding(6) var<storage, read_write> gradBias: array<f32>;

fn corner(base: u32, x: i32, y: i32, c: u32) -> f32 {
  if (x < 0 || y < 0 || x >= i32(d.W) || y >= i32(d.H)) { return 0.0; }
  return maps[base + (u32(y) * d.W + u32(x)) * d.C + c];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x;
  if (idx >= d.N * d.C) { return; }
  let n = idx / d.C;
  let c = idx % d.C;
  let sx = f32(d.W - 1u) * 0.5;
  let sy = f32(d.H - 1u) * 0.5;
  var acc = 0.0;
  var gb = 0.0;
  for (var b = 0u; b < d.B; b++) {
    let k = b * d.N + n;
    // the same arithmetic as 'sample': the same corners
    let x0 = i32(floor((positions[2u * k] + 1.0) * sx));
    let y0 = i32(floor((positions[2u * k + 1u] + 1.0) * sy));
    let base = slots[b] * d.H * d.W * d.C;
    let o = ${PER}u * k;
    acc += sampled[o + 5u] * corner(base, x0, y0, c) + sampled[o + 6u] * corner(base, x0 + 1, y0, c)
         + sampled[o + 7u] * corner(base, x0, y0 + 1, c) + sampled[o + 8u] * corner(base, x0 + 1, y0 + 1, c);
    gb += sampled[o + 2u];
  }
  gradFeatures[idx] = acc;
  if (c == 0u) { gradBias[n] = gb; }
}
`;

/** A reusable WGSL Gaussian readout for one shape (buffers grow with the batch). */
export class GpuGaussianReadout {
  private readonly input: MapInput;
  private readonly features: GrowBuffer;
  private readonly bias: GrowBuffer;
  private readonly positions: GrowBuffer;
  private readonly targets: GrowBuffer;
  private readonly sampled: GrowBuffer;
  private readonly gradFeatures: GrowBuffer;
  private readonly gradBias: GrowBuffer;

  constructor(
    private readonly gpu: Gpu,
    readonly geometry: MapGeometry,
    readonly neurons: number,
  ) {
    const g = (label: string) => new GrowBuffer(gpu, `gaussian readout ${label}`);
    this.input = new MapInput(gpu, geometry, 'gaussian readout');
    this.features = g('features');
    this.bias = g('bias');
    this.positions = g('positions');
    this.targets = g('targets');
    this.sampled = g('per image and neuron');
    this.gradFeatures = g('dL/dfeatures');
    this.gradBias = g('dL/dbias');
  }

  private check(a: ReadoutForwardArgs, B: number, source?: GpuMapSource): void {
    const { height: H, width: W, channels: C } = this.geometry;
    const N = this.neurons;
    if (a.height !== H || a.width !== W || a.channels !== C || a.neurons !== N)
      throw new Error(
        `WebGPU readout kernel made for ${H}x${W}x${C} maps and ${N} neurons, called with ${a.height}x${a.width}x${a.channels} and ${a.neurons}`,
      );
    if (a.features.length !== N * C) throw new Error(`features: expected ${N * C} values, got ${a.features.length}`);
    if (a.bias.length !== N) throw new Error(`bias: expected ${N} values, got ${a.bias.length}`);
    this.input.check(a.maps, B, source);
  }

  private dims(B: number, lossScale: number, logEps: number, eluOffset: number) {
    const { height: H, width: W, channels: C } = this.geometry;
    return this.gpu.uniform([
      { u: B },
      { u: this.neurons },
      { u: H },
      { u: W },
      { u: C },
      { f: lossScale },
      { f: logEps },
      { f: eluOffset },
    ]);
  }

  /**
   * One training step, the same contract as FusedReadout.trainStep (gradients accumulated into the arguments'
   * arrays, dL/d positions written; returns the unscaled Poisson loss summed in float64). `source`: the batch's
   * maps already on the GPU (then `maps` is not read). Poisson loss on elu + 1 only (the reference model's).
   */
  async trainStep(a: ReadoutTrainArgs, source?: GpuMapSource): Promise<number> {
    if ((a.loss ?? 'poisson') !== 'poisson' || (a.output ?? 'elu') !== 'elu')
      throw new Error(
        `the WebGPU readout kernel computes the Poisson loss on elu + 1 only (asked: ${a.loss}, ${a.output})`,
      );
    const N = this.neurons,
      C = this.geometry.channels;
    const B = source ? source.slots.length : a.maps.length;
    this.check(a, B, source);
    if (a.positions.length !== B * N * 2) throw new Error(`positions: expected ${B * N * 2} values`);
    if (a.targets.length !== B * N) throw new Error(`targets: expected ${B * N} values`);
    if (a.gradPositions.length !== B * N * 2) throw new Error(`gradPositions: expected ${B * N * 2} values`);
    if (a.gradMaps) throw new Error('the WebGPU readout kernel has no map gradient (training through the core)');
    const gpu = this.gpu;
    const [maps, slots] = this.input.bind(a.maps, B, source);
    const features = this.features.write(a.features);
    const bias = this.bias.write(a.bias);
    const positions = this.positions.write(a.positions);
    const targets = this.targets.write(a.targets);
    const sampled = this.sampled.ensure(B * N * PER);
    const gf = this.gradFeatures.ensure(N * C);
    const gb = this.gradBias.ensure(N);
    const dims = this.dims(B, a.lossScale, a.logEps, a.eluOffset ?? 0);
    const enc = gpu.encoder();
    gpu.dispatch(
      enc,
      gpu.pipeline('gaussian sample', SAMPLE),
      [dims, maps, slots, features, bias, positions, targets, sampled],
      [groupsFor(B * N, 64)],
    );
    gpu.dispatch(
      enc,
      gpu.pipeline('gaussian accumulate', ACCUMULATE),
      [dims, maps, slots, positions, sampled, gf, gb],
      [groupsFor(N * C, 64)],
    );
    const [s, gFeat, gBias] = await gpu.submitAndRead(enc, [
      [sampled, B * N * PER],
      [gf, N * C],
      [gb, N],
    ]);
    let loss = 0;
    for (let k = 0; k < B * N; k++) {
      const q = PER * k;
      loss += s[q + 1];
      if (a.predictions) a.predictions[k] = s[q];
      a.gradPositions[2 * k] = s[q + 3];
      a.gradPositions[2 * k + 1] = s[q + 4];
    }
    for (let i = 0; i < N * C; i++) a.gradFeatures[i] += gFeat[i];
    for (let i = 0; i < N; i++) a.gradBias[i] += gBias[i];
    return loss;
  }

  /** Eval-mode readout at the same positions (N, 2) for every image: r into `out` (B, N), as FusedReadout.predict. */
  async predict(
    a: ReadoutForwardArgs & { positions: Float32Array; out: Float32Array },
    source?: GpuMapSource,
  ): Promise<void> {
    const N = this.neurons;
    const B = source ? source.slots.length : a.maps.length;
    this.check(a, B, source);
    if (a.positions.length !== N * 2) throw new Error(`positions: expected ${N * 2} values`);
    if (a.out.length !== B * N) throw new Error(`out: expected ${B * N} values`);
    const gpu = this.gpu;
    const [maps, slots] = this.input.bind(a.maps, B, source);
    const pos = new Float32Array(B * N * 2);
    for (let b = 0; b < B; b++) pos.set(a.positions, b * N * 2);
    const sampled = this.sampled.ensure(B * N * PER);
    if ((a.output ?? 'elu') !== 'elu')
      throw new Error(`the WebGPU readout kernel has the elu + 1 output only (asked: ${a.output})`);
    const dims = this.dims(B, 1, 1, a.eluOffset ?? 0);
    const enc = gpu.encoder();
    gpu.dispatch(
      enc,
      gpu.pipeline('gaussian sample', SAMPLE),
      [
        dims,
        maps,
        slots,
        this.features.write(a.features),
        this.bias.write(a.bias),
        this.positions.write(pos),
        this.targets.write(new Float32Array(B * N)),
        sampled,
      ],
      [groupsFor(B * N, 64)],
    );
    const [s] = await gpu.submitAndRead(enc, [[sampled, B * N * PER]]);
    for (let k = 0; k < B * N; k++) a.out[k] = s[PER * k];
  }

  destroy(): void {
    this.input.destroy();
    for (const b of [
      this.features,
      this.bias,
      this.positions,
      this.targets,
      this.sampled,
      this.gradFeatures,
      this.gradBias,
    ])
      b.destroy();
  }
}
