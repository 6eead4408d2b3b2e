/**
 * Runs the WGSL readout kernels (kernels/webgpu) and the WebAssembly path they must match on the same inputs, for
 * the browser tests (test/e2e/webgpu_kernels.e2e.mjs through window.__v1x.webgpuKernels): both outputs are returned
 * and compared by the test, with its stated tolerances. Also a small timing of each (SwiftShader vs WASM, for the
 * record; not asserted). Inputs are plain number arrays made by the test from a seed.
 */
import * as tf from '@tensorflow/tfjs';
import { chooseReadoutEngine, type ReadoutEngineName } from '../backend/select';
import { type FactorizedTrainArgs, FusedFactorizedReadout, type MaskOptions } from '../kernels/factorized_readout';
import { FusedReadout } from '../kernels/fused_readout';
import { GpuAdam } from '../kernels/webgpu/adam';
import { GpuFactorizedReadout } from '../kernels/webgpu/factorized_readout';
import { GpuFeatureCache } from '../kernels/webgpu/feature_cache';
import { GpuGaussianReadout } from '../kernels/webgpu/gaussian_readout';
import { Gpu } from '../kernels/webgpu/gpu';
import { Adam } from '../train/optim/adam';

export interface GaussianCase {
  height: number;
  width: number;
  channels: number;
  neurons: number;
  /** (B, H, W, C) flattened. */
  maps: number[];
  batch: number;
  features: number[];
  bias: number[];
  /** (B, N, 2) for the step; (N, 2) for predict. */
  positions: number[];
  targets: number[];
  lossScale: number;
  logEps: number;
  eluOffset: number;
}

export interface FactorizedCase {
  height: number;
  width: number;
  channels: number;
  neurons: number;
  batch: number;
  maps: number[];
  spatial: number[];
  features: number[];
  bias: number[];
  targets: number[];
  mask: MaskOptions;
  lossScale: number;
  logEps: number;
  regWeight: number;
}

export interface AdamCase {
  sizes: number[];
  values: number[];
  /** steps x total gradients. */
  grads: number[];
  steps: number;
  lr: number;
}

type Out = Record<string, number[] | number>;

let gpuPromise: Promise<{ gpu: Gpu; adapter: string }> | null = null;

/** The device the engine would use (the tfjs WebGPU backend's when active), forced on even for SwiftShader. */
function gpu(): Promise<{ gpu: Gpu; adapter: string }> {
  gpuPromise ??= chooseReadoutEngine('webgpu').then((c) => {
    if (!c.device) throw new Error(`no WebGPU device: ${c.reason}`);
    return { gpu: new Gpu(c.device), adapter: c.reason };
  });
  return gpuPromise;
}

function mapsOf(c: { maps: number[]; batch: number; height: number; width: number; channels: number }) {
  const m = c.height * c.width * c.channels;
  const all = Float32Array.from(c.maps);
  return Array.from({ length: c.batch }, (_, b) => all.subarray(b * m, (b + 1) * m));
}

const arr = (a: Float32Array | Float64Array): number[] => Array.from(a);

/** One Gaussian training step on each engine, from zeroed gradients. */
export async function gaussianStep(c: GaussianCase): Promise<{ gpu: Out; wasm: Out; adapter: string }> {
  const { gpu: g, adapter } = await gpu();
  const N = c.neurons,
    C = c.channels,
    B = c.batch;
  const run = () => ({
    ...c,
    maps: mapsOf(c),
    features: Float32Array.from(c.features),
    bias: Float32Array.from(c.bias),
    positions: Float32Array.from(c.positions),
    targets: Float32Array.from(c.targets),
    gradFeatures: new Float32Array(N * C),
    gradBias: new Float32Array(N),
    gradPositions: new Float32Array(B * N * 2),
    predictions: new Float32Array(B * N),
  });
  const geometry = { height: c.height, width: c.width, channels: C };
  const a = run();
  const wasmKernel = new FusedReadout(geometry, N, 'wasm');
  const lossW = wasmKernel.trainStep(a);
  const b = run();
  const k = new GpuGaussianReadout(g, geometry, N);
  const lossG = await k.trainStep(b);
  k.destroy();
  const pick = (x: typeof a, loss: number): Out => ({
    loss,
    gradFeatures: arr(x.gradFeatures),
    gradBias: arr(x.gradBias),
    gradPositions: arr(x.gradPositions),
    predictions: arr(x.predictions),
  });
  return { wasm: pick(a, lossW), gpu: pick(b, lossG), adapter };
}

/** Eval-mode Gaussian readout at (N, 2) positions on each engine. */
export async function gaussianPredict(c: GaussianCase): Promise<{ gpu: Out; wasm: Out }> {
  const { gpu: g } = await gpu();
  const geometry = { height: c.height, width: c.width, channels: c.channels };
  const args = (out: Float32Array) => ({
    ...c,
    maps: mapsOf(c),
    features: Float32Array.from(c.features),
    bias: Float32Array.from(c.bias),
    positions: Float32Array.from(c.positions),
    out,
  });
  const w = new Float32Array(c.batch * c.neurons),
    q = new Float32Array(c.batch * c.neurons);
  new FusedReadout(geometry, c.neurons, 'wasm').predict(args(w));
  const k = new GpuGaussianReadout(g, geometry, c.neurons);
  await k.predict(args(q));
  k.destroy();
  return { wasm: { out: arr(w) }, gpu: { out: arr(q) } };
}

function factorizedArgs(c: FactorizedCase): FactorizedTrainArgs {
  const N = c.neurons,
    HW = c.height * c.width;
  return {
    ...c,
    maps: mapsOf(c),
    spatial: Float32Array.from(c.spatial),
    features: Float32Array.from(c.features),
    bias: Float32Array.from(c.bias),
    targets: Float32Array.from(c.targets),
    gradSpatial: new Float32Array(N * HW),
    gradFeatures: new Float32Array(N * c.channels),
    gradBias: new Float32Array(N),
    predictions: new Float32Array(c.batch * N),
    regForm: 'per_neuron',
  };
}

/** One factorized training step (GEMMs, Poisson, regularizer, every gradient) on each engine. */
export async function factorizedStep(c: FactorizedCase): Promise<{ gpu: Out; wasm: Out }> {
  const { gpu: g } = await gpu();
  const geometry = { height: c.height, width: c.width, channels: c.channels };
  const pick = (x: FactorizedTrainArgs, r: { poisson: number; regularizer: number }): Out => ({
    poisson: r.poisson,
    regularizer: r.regularizer,
    gradSpatial: arr(x.gradSpatial),
    gradFeatures: arr(x.gradFeatures),
    gradBias: arr(x.gradBias!),
    predictions: arr(x.predictions!),
  });
  const a = factorizedArgs(c);
  const rw = new FusedFactorizedReadout(geometry, c.neurons, 'wasm').trainStep(a);
  const b = factorizedArgs(c);
  const k = new GpuFactorizedReadout(g, geometry, c.neurons);
  const rg = await k.trainStep(b);
  k.destroy();
  return { wasm: pick(a, rw), gpu: pick(b, rg) };
}

/** Eval-mode factorized readout on each engine. */
export async function factorizedPredict(c: FactorizedCase): Promise<{ gpu: Out; wasm: Out }> {
  const { gpu: g } = await gpu();
  const geometry = { height: c.height, width: c.width, channels: c.channels };
  const w = new Float32Array(c.batch * c.neurons),
    q = new Float32Array(c.batch * c.neurons);
  new FusedFactorizedReadout(geometry, c.neurons, 'wasm').predict({ ...factorizedArgs(c), out: w });
  const k = new GpuFactorizedReadout(g, geometry, c.neurons);
  await k.predict({ ...factorizedArgs(c), out: q });
  k.destroy();
  return { wasm: { out: arr(w) }, gpu: { out: arr(q) } };
}

/** `steps` Adam updates with the given gradients: the host optimizer (train/optim/adam.ts) and the WGSL one. */
export async function adamSteps(c: AdamCase): Promise<{ gpu: Out; wasm: Out }> {
  const { gpu: g } = await gpu();
  const make = () => {
    let off = 0;
    return c.sizes.map((n, i) => {
      const p = {
        name: `p${i}`,
        value: Float32Array.from(c.values.slice(off, off + n)),
        grad: new Float32Array(n),
      };
      off += n;
      return p;
    });
  };
  const total = c.sizes.reduce((s, n) => s + n, 0);
  const setGrads = (ps: ReturnType<typeof make>, step: number) => {
    let off = step * total;
    for (const p of ps) {
      p.grad.set(c.grads.slice(off, off + p.grad.length));
      off += p.grad.length;
    }
  };
  const host = make(),
    dev = make();
  const adam = new Adam(host, { lr: c.lr });
  const gAdam = new GpuAdam(g, dev);
  for (let s = 0; s < c.steps; s++) {
    setGrads(host, s);
    adam.update();
    setGrads(dev, s);
    await gAdam.update({ lr: c.lr, beta1: adam.beta1, beta2: adam.beta2, eps: adam.eps });
  }
  gAdam.destroy();
  const flat = (ps: ReturnType<typeof make>) => ps.flatMap((p) => Array.from(p.value));
  return { wasm: { values: flat(host) }, gpu: { values: flat(dev) } };
}

/** Milliseconds per training step of each engine on a case (after one warm-up step), `repeats` steps each. */
export async function timeSteps(
  kind: 'gaussian' | 'factorized',
  c: GaussianCase | FactorizedCase,
  repeats: number,
): Promise<{ gpuMs: number; wasmMs: number; adapter: string }> {
  const { gpu: g, adapter } = await gpu();
  const geometry = { height: c.height, width: c.width, channels: c.channels };
  let wasmMs: number, gpuMs: number;
  if (kind === 'gaussian') {
    const gc = c as GaussianCase;
    const N = gc.neurons,
      B = gc.batch;
    const args = () => ({
      ...gc,
      maps: mapsOf(gc),
      features: Float32Array.from(gc.features),
      bias: Float32Array.from(gc.bias),
      positions: Float32Array.from(gc.positions),
      targets: Float32Array.from(gc.targets),
      gradFeatures: new Float32Array(N * gc.channels),
      gradBias: new Float32Array(N),
      gradPositions: new Float32Array(B * N * 2),
    });
    const w = new FusedReadout(geometry, N, 'wasm');
    const a = args();
    w.trainStep(a);
    let t = performance.now();
    for (let i = 0; i < repeats; i++) w.trainStep(a);
    wasmMs = (performance.now() - t) / repeats;
    const k = new GpuGaussianReadout(g, geometry, N);
    const b = args();
    await k.trainStep(b);
    t = performance.now();
    for (let i = 0; i < repeats; i++) await k.trainStep(b);
    gpuMs = (performance.now() - t) / repeats;
    k.destroy();
  } else {
    const fc = c as FactorizedCase;
    const w = new FusedFactorizedReadout(geometry, fc.neurons, 'wasm');
    const a = factorizedArgs(fc);
    w.trainStep(a);
    let t = performance.now();
    for (let i = 0; i < repeats; i++) w.trainStep(a);
    wasmMs = (performance.now() - t) / repeats;
    const k = new GpuFactorizedReadout(g, geometry, fc.neurons);
    const b = factorizedArgs(fc);
    await k.trainStep(b);
    t = performance.now();
    for (let i = 0; i < repeats; i++) await k.trainStep(b);
    gpuMs = (performance.now() - t) / repeats;
    k.destroy();
  }
  return { gpuMs, wasmMs, adapter };
}

/** The page's readout-engine choice on this browser's adapter (no device kept). */
export async function engineChoice(force: ReadoutEngineName | null): Promise<{ engine: string; reason: string }> {
  const c = await chooseReadoutEngine(force);
  return { engine: c.engine, reason: c.reason };
}

/**
 * The core-to-kernels path without the CPU: a stand-in core (conv2d + elu on tfjs-webgpu, NHWC output) runs on
 * `images` (n, H, W, Cin) in two chunks; each chunk's output tensor goes into a GpuFeatureCache by dataToGPU and a
 * GPU copy (storeTensor), and the Gaussian step reads its maps from there by slot (`c.slotOrder`). The reference is
 * the WASM step on the same outputs read back with y.data(). `c.maps` of the case is unused (made here).
 */
export async function coreOnGpuToKernels(
  c: GaussianCase & { inputChannels: number; images: number[]; kernel: number[]; slotOrder: number[] },
): Promise<{ gpu: Out; wasm: Out; filled: number; shared: boolean }> {
  if (tf.getBackend() !== 'webgpu') throw new Error(`the core runs on ${tf.getBackend()}, not WebGPU`);
  const { gpu: g } = await gpu();
  const shared = (tf.backend() as unknown as { device?: GPUDevice }).device === g.device;
  const n = c.images.length / (c.height * c.width * c.inputChannels);
  const geometry = { height: c.height, width: c.width, channels: c.channels };
  const cache = new GpuFeatureCache(g, geometry, n);
  const host: Float32Array[] = [];
  const x = tf.tensor4d(c.images, [n, c.height, c.width, c.inputChannels]);
  const w = tf.tensor4d(c.kernel, [3, 3, c.inputChannels, c.channels]);
  try {
    for (const [start, count] of [
      [0, Math.ceil(n / 2)],
      [Math.ceil(n / 2), n - Math.ceil(n / 2)],
    ]) {
      const y = tf.tidy(() => tf.elu(tf.conv2d(x.slice([start, 0, 0, 0], [count, -1, -1, -1]), w, 1, 'same')));
      try {
        cache.storeTensor(y as tf.Tensor4D, start);
        const v = (await y.data()) as Float32Array;
        const m = cache.mapSize;
        for (let i = 0; i < count; i++) host.push(v.slice(i * m, (i + 1) * m));
      } finally {
        y.dispose();
      }
    }
  } finally {
    x.dispose();
    w.dispose();
  }
  const N = c.neurons,
    B = c.slotOrder.length;
  const args = (maps: Float32Array[]) => ({
    ...c,
    maps,
    features: Float32Array.from(c.features),
    bias: Float32Array.from(c.bias),
    positions: Float32Array.from(c.positions),
    targets: Float32Array.from(c.targets),
    gradFeatures: new Float32Array(N * c.channels),
    gradBias: new Float32Array(N),
    gradPositions: new Float32Array(B * N * 2),
    predictions: new Float32Array(B * N),
  });
  const a = args(c.slotOrder.map((s) => host[s]));
  const lossW = new FusedReadout(geometry, N, 'wasm').trainStep(a);
  const b = args([]);
  const k = new GpuGaussianReadout(g, geometry, N);
  const lossG = await k.trainStep(b, { buffer: cache.buffer, slots: Uint32Array.from(c.slotOrder) });
  k.destroy();
  const filled = cache.filled;
  cache.destroy();
  const pick = (q: typeof a, loss: number): Out => ({
    loss,
    gradFeatures: arr(q.gradFeatures),
    gradBias: arr(q.gradBias),
    gradPositions: arr(q.gradPositions),
    predictions: arr(q.predictions),
  });
  return { wasm: pick(a, lossW), gpu: pick(b, lossG), filled, shared };
}

/** Shapes of a timing run (maps H x W x C, neurons, images per step). */
export interface TimingShape {
  height: number;
  width: number;
  channels: number;
  neurons: number;
  batch: number;
}

/**
 * timeSteps on inputs drawn here (uniform, seeded: large shapes would not fit through page.evaluate): a Gaussian
 * case with positions inside the map, or a factorized case with normalized masks and the regularizer.
 */
export async function timeRandomSteps(
  kind: 'gaussian' | 'factorized',
  s: TimingShape,
  repeats: number,
  seed = 1,
): Promise<{ gpuMs: number; wasmMs: number; adapter: string }> {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  const draw = (n: number, lo: number, hi: number) => {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = lo + (hi - lo) * next();
    return x as unknown as number[];
  };
  const { height: H, width: W, channels: C, neurons: N, batch: B } = s;
  const common = {
    ...s,
    maps: draw(B * H * W * C, -0.5, 1.5),
    features: draw(N * C, -0.1, 0.1),
    bias: draw(N, -0.5, 0.5),
    targets: draw(B * N, 0, 3),
    lossScale: 1,
    logEps: 1e-8,
  };
  if (kind === 'gaussian')
    return timeSteps('gaussian', { ...common, positions: draw(B * N * 2, -0.95, 0.95), eluOffset: 0 }, repeats);
  return timeSteps(
    'factorized',
    {
      ...common,
      spatial: draw(N * H * W, 0, 1),
      mask: { normalize: true, constrainPos: false, positiveSpatial: false },
      regWeight: 1,
    },
    repeats,
  );
}
