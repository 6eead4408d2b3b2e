/**
 * A faster forward pass of a frozen Stacked2dCore (eval mode), for building the feature cache: what the model's
 * own `forward` computes, rearranged for speed.
 * - BatchNorm (running statistics), the conv bias and the layer's Bias2D / Scale2D are folded into the last conv
 *   of each layer (one scale and shift per output channel), and the ELU is fused into that conv
 *   (tf.fused.conv2d), so no separate elementwise passes remain;
 * - on tfjs-backend-wasm the depthwise convolutions run in a shape-specialized WebAssembly SIMD kernel
 *   (wasm/depthwise.ts) registered as a tfjs kernel that works on tfjs' own heap: ~6x faster than tfjs' own.
 * Returns null when the core has a layer this path does not cover (a depthwise conv with a channel multiplier, a
 * TransferLearningCore's ReLU, max pool or input repeat; then use the model's forward).
 * Folding changes float32 rounding only (checked against the model's forward and the fixture in tests).
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_EPS, type CoreLayerParams, type Stacked2dCore } from '../model/core';
import { nchwToNhwc } from '../model/encoder';
import type { CoreRunner } from './core_runner';
import { CONV1X1_ROWS, type ConvEpilogue, conv1x1ModuleBytes } from './wasm/conv';
import { type DepthwiseShape, depthwiseModuleBytes } from './wasm/depthwise';
import { relaxedSimdAvailable } from './wasm/factorized_kernel';
import { backendMemory, type WasmHeapBackend, withPaddedCopy } from './wasm/heap';

const KERNEL = 'V1xDepthwiseSame';

interface FoldedConv {
  weight: tf.Tensor4D;
  depthwise: boolean;
  padding: [number, number];
  stride: number;
  dilation: number;
  /** Folded shift on the last conv of a layer; the conv's own bias on inner convs. */
  bias: tf.Tensor1D | null;
  activation: 'elu' | 'linear';
  /** Run with the WebAssembly SIMD depthwise kernel. */
  simd: boolean;
  /** Run with our WebAssembly 1x1 conv kernel (bias and activation fused), when it fits (set while preparing). */
  wasmConv: WasmConv | null;
}

export interface FastCore {
  run: CoreRunner;
  /** What runs, in words. */
  description: string;
  dispose(): void;
}

type KernelExport = (...args: number[]) => void;

// compiled kernels per key (shape and code choices), instantiated per wasm memory (a re-initialized backend has a
// new heap)
const compiled = new Map<string, WebAssembly.Module>();
const instances = new WeakMap<WebAssembly.Memory, Map<string, Record<string, KernelExport>>>();

function shapeKey(s: DepthwiseShape): string {
  return `dw${s.height}x${s.width}x${s.channels}k${s.kernel}`;
}

/**
 * With relaxed SIMD the depthwise kernel multiply-adds in one fused instruction and keeps 8 output pixels in
 * registers (1.4x the plain kernel here, whose mul + add leave fewer registers and run best at 4 pixels).
 */
function depthwiseCode(): { madd: boolean; pixels: number } {
  return relaxedSimdAvailable() ? { madd: true, pixels: 8 } : { madd: false, pixels: 4 };
}

/** Compiles (once) and instantiates (once per heap) the module `key`; false when the heap is not reachable. */
async function prepareModule(key: string, bytes: () => Uint8Array): Promise<boolean> {
  const b = tf.backend() as unknown as WasmHeapBackend;
  const mem = backendMemory(b);
  if (!mem) return false;
  let mod = compiled.get(key);
  if (!mod) {
    mod = await WebAssembly.compile(bytes() as Uint8Array<ArrayBuffer>);
    compiled.set(key, mod);
  }
  let perMem = instances.get(mem);
  if (!perMem) {
    perMem = new Map();
    instances.set(mem, perMem);
  }
  if (!perMem.has(key)) {
    const inst = await WebAssembly.instantiate(mod, { env: { memory: mem } });
    perMem.set(key, inst.exports as Record<string, KernelExport>);
  }
  for (const [kernelName, kernelFunc] of [
    [KERNEL, depthwiseKernel],
    [CONV_KERNEL, convKernel],
  ] as const)
    if (!tf.getKernel(kernelName, 'wasm'))
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  return true;
}

function moduleExports(b: WasmHeapBackend, key: string): Record<string, KernelExport> {
  const mem = backendMemory(b);
  const m = mem ? instances.get(mem)?.get(key) : undefined;
  if (!m) throw new Error(`no WebAssembly kernel prepared for ${key}`);
  return m;
}

const offsetOf = (b: WasmHeapBackend, t: tf.TensorInfo): number => b.dataIdMap.get(t.dataId).memoryOffset;

function depthwiseKernel(args: {
  inputs: { x: tf.TensorInfo; filter: tf.TensorInfo };
  backend: WasmHeapBackend;
}): tf.TensorInfo {
  const { x, filter } = args.inputs;
  const b = args.backend;
  const [B, H, W, C] = x.shape;
  const K = filter.shape[0];
  const { dw } = moduleExports(b, shapeKey({ height: H, width: W, channels: C, kernel: K }));
  const out = b.makeOutput([B, H, W, C], 'float32');
  withPaddedCopy(b, x, (K - 1) / 2, (pad) => dw(pad, offsetOf(b, filter), offsetOf(b, out), B));
  return out;
}

const CONV_KERNEL = 'V1xConvFused';

/** A 1x1 conv of the core in our GEMM kernel (conv.ts); `key` names its module. */
interface WasmConv {
  key: string;
}

function conv1x1Key(cin: number, cout: number, e: ConvEpilogue): string {
  return `c1x1_${cin}_${cout}_${+e.bias}${+e.elu}${+e.madd}`;
}

function convKernel(args: {
  inputs: { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo };
  backend: WasmHeapBackend;
  attrs: { key: string };
}): tf.TensorInfo {
  const { x, filter, bias } = args.inputs;
  const b = args.backend;
  const [B, H, W, cin] = x.shape;
  const cout = filter.shape[3];
  const ex = moduleExports(b, args.attrs.key);
  const biasAt = bias ? offsetOf(b, bias) : 0;
  const out = b.makeOutput([B, H, W, cout], 'float32');
  const rows = B * H * W,
    blocks = Math.floor(rows / CONV1X1_ROWS),
    done = blocks * CONV1X1_ROWS;
  const xAt = offsetOf(b, x),
    oAt = offsetOf(b, out);
  ex.g(xAt, offsetOf(b, filter), oAt, blocks, biasAt);
  if (done < rows) ex.g1(xAt + done * cin * 4, offsetOf(b, filter), oAt + done * cout * 4, rows - done, biasAt);
  return out;
}

/** Our kernel for a 1x1 conv (stride 1, no padding, output channels a multiple of 4), or null for any other conv. */
async function prepareConv(
  c: { weight: tf.Tensor4D; padding: [number, number]; stride: number; dilation: number },
  bias: boolean,
  elu: boolean,
): Promise<WasmConv | null> {
  const [kh, kw, cin, cout] = c.weight.shape;
  if (kh !== 1 || kw !== 1 || c.stride !== 1 || c.padding[0] !== 0 || c.padding[1] !== 0 || cout % 4 !== 0) return null;
  const e: ConvEpilogue = { bias, elu, madd: relaxedSimdAvailable() };
  const key = conv1x1Key(cin, cout, e);
  return (await prepareModule(key, () => conv1x1ModuleBytes(cin, cout, e))) ? { key } : null;
}

/** Per-output-channel scale and shift of everything linear after the last conv of a layer. */
function foldLayer(layer: CoreLayerParams): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  return tf.tidy(() => {
    const last = layer.convs[layer.convs.length - 1];
    const C = last.weight.shape[3] === 1 ? last.weight.shape[2] : last.weight.shape[3];
    let scale: tf.Tensor1D = tf.ones([C]);
    let shift: tf.Tensor1D = last.bias ? last.bias.clone() : tf.zeros([C]);
    if (layer.norm) {
      let s = tf.rsqrt(layer.norm.runningVar.add(BATCH_NORM_EPS)) as tf.Tensor1D;
      if (layer.norm.weight) s = s.mul(layer.norm.weight);
      let t = shift.sub(layer.norm.runningMean).mul(s) as tf.Tensor1D;
      if (layer.norm.bias) t = t.add(layer.norm.bias);
      scale = s;
      shift = t;
    }
    if (layer.bias) shift = shift.add(layer.bias);
    if (layer.scale) {
      scale = scale.mul(layer.scale);
      shift = shift.mul(layer.scale);
    }
    return { scale, shift };
  });
}

export async function createFastCore(core: Stacked2dCore): Promise<FastCore | null> {
  const onWasm = tf.getBackend() === 'wasm';
  const layers: FoldedConv[][] = [];
  const owned: tf.Tensor[] = [];
  let simdCount = 0,
    convCount = 0;
  // a TransferLearningCore's input repeat, ReLUs and max pools are not folded here: the model's forward runs it
  if ((core.arch.inputRepeat ?? 1) > 1 || core.layers.some((l) => l.spec.relu || l.spec.maxPool)) return null;
  try {
    for (const layer of core.layers) {
      const convs: FoldedConv[] = [];
      for (let i = 0; i < layer.convs.length; i++) {
        const c = layer.convs[i];
        const depthwise = c.spec.groups > 1;
        const last = i === layer.convs.length - 1;
        if (depthwise && c.weight.shape[3] !== 1) return null; // channel multiplier > 1
        let weight: tf.Tensor4D = c.weight;
        let bias: tf.Tensor1D | null = null;
        if (last) {
          const { scale, shift } = foldLayer(layer);
          weight = tf.tidy(
            () => (depthwise ? c.weight.mul(scale.reshape([1, 1, -1, 1])) : c.weight.mul(scale)) as tf.Tensor4D,
          );
          scale.dispose();
          bias = shift;
          owned.push(weight, bias);
        } else {
          bias = c.bias; // newer neuralpredictors give the inner convs of a depth-separable layer biases
        }
        const [kh, kw] = [c.weight.shape[0], c.weight.shape[1]];
        const simdShape =
          depthwise &&
          !last &&
          onWasm &&
          c.spec.stride === 1 &&
          c.spec.dilation === 1 &&
          kh === kw &&
          kh % 2 === 1 &&
          c.spec.padding[0] === (kh - 1) / 2 &&
          c.spec.padding[1] === (kw - 1) / 2 &&
          c.weight.shape[2] % 4 === 0;
        convs.push({
          weight,
          depthwise,
          padding: c.spec.padding,
          stride: c.spec.stride,
          dilation: c.spec.dilation,
          bias,
          activation: last && layer.spec.elu ? 'elu' : 'linear',
          simd: simdShape,
          wasmConv: null,
        });
      }
      layers.push(convs);
    }
    // prepare the SIMD kernels for the shapes they will see
    let h = core.arch.inputShape[1],
      w = core.arch.inputShape[2];
    for (let li = 0; li < layers.length; li++) {
      for (const c of layers[li]) {
        const [kh, kw] = [c.weight.shape[0], c.weight.shape[1]];
        const oh = Math.floor((h + 2 * c.padding[0] - c.dilation * (kh - 1) - 1) / c.stride) + 1;
        const ow = Math.floor((w + 2 * c.padding[1] - c.dilation * (kw - 1) - 1) / c.stride) + 1;
        if (c.simd) {
          const s = { height: h, width: w, channels: c.weight.shape[2], kernel: kh };
          const ok = await prepareModule(shapeKey(s), () => depthwiseModuleBytes(s, depthwiseCode()));
          if (!ok) c.simd = false;
          else simdCount++;
        } else if (!c.depthwise && onWasm) {
          c.wasmConv = await prepareConv(c, c.bias !== null, c.activation === 'elu');
          if (c.wasmConv) convCount++;
        }
        h = oh;
        w = ow;
      }
    }
  } catch (e) {
    for (const t of owned) t.dispose();
    throw e;
  }

  const pad = (
    p: [number, number],
  ): 'valid' | [[number, number], [number, number], [number, number], [number, number]] =>
    p[0] || p[1]
      ? [
          [0, 0],
          [p[0], p[0]],
          [p[1], p[1]],
          [0, 0],
        ]
      : 'valid';
  const run: CoreRunner = (imagesNCHW) =>
    tf.tidy(() => {
      // one input channel: NCHW and NHWC are the same bytes, a reshape (no copy) instead of a transpose
      const [b0, c0, h0, w0] = imagesNCHW.shape;
      let h: tf.Tensor4D = c0 === 1 ? imagesNCHW.reshape([b0, h0, w0, 1]) : nchwToNhwc(imagesNCHW);
      const outs: tf.Tensor4D[] = [];
      for (const convs of layers) {
        for (const c of convs) {
          if (c.wasmConv) {
            const inputs: tf.NamedTensorMap = { x: h, filter: c.weight };
            if (c.bias) inputs.bias = c.bias;
            h = tf.engine().runKernel(CONV_KERNEL, inputs, { key: c.wasmConv.key }) as tf.Tensor4D;
          } else if (c.simd) {
            h = tf.engine().runKernel(KERNEL, { x: h, filter: c.weight }, {}) as tf.Tensor4D;
            if (c.bias) h = h.add(c.bias);
          } else if (c.depthwise) {
            // fused depthwise takes no explicit padding: pad first
            const p = pad(c.padding);
            h = c.bias
              ? tf.fused.depthwiseConv2d({
                  x: p === 'valid' ? h : tf.pad(h, p),
                  filter: c.weight,
                  strides: c.stride,
                  pad: 'valid',
                  dilations: c.dilation,
                  bias: c.bias,
                  activation: c.activation,
                })
              : tf.depthwiseConv2d(h, c.weight, c.stride, p, 'NHWC', c.dilation);
          } else {
            h = c.bias
              ? tf.fused.conv2d({
                  x: h,
                  filter: c.weight,
                  strides: c.stride,
                  pad: pad(c.padding),
                  dilations: c.dilation,
                  bias: c.bias,
                  activation: c.activation,
                })
              : tf.conv2d(h, c.weight, c.stride, pad(c.padding), 'NHWC', c.dilation);
          }
        }
        outs.push(h);
      }
      const picked = core.arch.stack.map((i) => outs[i]);
      return picked.length === 1 ? picked[0] : tf.concat(picked, 3);
    });
  return {
    run,
    description: `BatchNorm folded into fused conv + ELU${
      simdCount + convCount
        ? `; ${[simdCount ? `${simdCount} depthwise` : '', convCount ? `${convCount} 1x1` : ''].filter(Boolean).join(' and ')} convs in our WebAssembly ${relaxedSimdAvailable() ? 'relaxed SIMD (fused multiply-add)' : 'SIMD'} kernels`
        : ''
    }`,
    dispose: () => {
      for (const t of owned) t.dispose();
    },
  };
}
