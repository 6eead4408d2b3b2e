/**
 * The wasm gradient kernels built from forward ops (src/backend/wasm_grad_kernels.ts) against the cpu backend's
 * own kernels, on random shapes: strides 1 (as the core uses) and 2, 'valid', 'same' and explicit padding,
 * channel multipliers 1 and 2, and through tfjs' gradient machinery (tf.grads of a conv) as the trainer uses it.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import {
  registerWasmGradKernels,
  setDepthwiseGradSimd,
  WASM_GRAD_KERNELS,
} from '../../../src/kernels/wasm/grad_kernels';
import { Rng } from '../../../src/util/rng';

type Host = { data: Float32Array; shape: number[] };
type Inputs = Record<string, Host | { data: Int32Array; shape: number[]; dtype: 'int32' }>;

function rand(rng: Rng, shape: number[]): Host {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return { data, shape };
}

/** Runs one kernel on a backend and returns its output as host data. */
async function runOn(
  backend: 'cpu' | 'wasm',
  kernel: string,
  inputs: Inputs,
  attrs: Record<string, unknown>,
): Promise<Host> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape, 'dtype' in v ? v.dtype : 'float32');
  const before = tf.memory().numTensors;
  const out = tf.engine().runKernel(kernel, ts as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const host = { data: Float32Array.from((await out.data()) as Float32Array), shape: out.shape };
  out.dispose();
  Object.values(ts).forEach((t) => t.dispose());
  expect(tf.memory().numTensors).toBe(before - Object.keys(ts).length);
  return host;
}

function expectClose(a: Host, b: Host, tol = 1e-4): void {
  expect(a.shape).toEqual(b.shape);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < b.data.length; i++) scale = Math.max(scale, Math.abs(b.data[i]));
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
  // sums of hundreds of products: compare relative to the largest value
  expect(worst / scale).toBeLessThan(tol);
}

function outSize(n: number, k: number, s: number, pad: string | number, padLo = 0, padHi = 0, d = 1): number {
  const ke = (k - 1) * d + 1;
  if (pad === 'same') return Math.ceil(n / s);
  if (pad === 'valid') return Math.ceil((n - ke + 1) / s);
  return Math.floor((n + padLo + padHi - ke) / s) + 1;
}

interface ConvCase {
  B: number;
  H: number;
  W: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  s: number;
  pad: 'valid' | 'same' | 'explicit';
  p?: [number, number];
  m?: number;
  d?: number;
}

function padAttr(c: ConvCase): unknown {
  return c.pad === 'explicit'
    ? [
        [0, 0],
        [c.p![0], c.p![0]],
        [c.p![1], c.p![1]],
        [0, 0],
      ]
    : c.pad;
}

const conv2dCases: ConvCase[] = [
  { B: 3, H: 12, W: 16, cin: 1, cout: 5, kh: 9, kw: 9, s: 1, pad: 'valid' }, // the core's first layer, small
  { B: 2, H: 9, W: 11, cin: 4, cout: 6, kh: 7, kw: 7, s: 1, pad: 'explicit', p: [3, 3] }, // hidden layer padding k//2
  { B: 2, H: 10, W: 7, cin: 3, cout: 4, kh: 3, kw: 5, s: 1, pad: 'same' },
  { B: 4, H: 6, W: 5, cin: 8, cout: 3, kh: 1, kw: 1, s: 1, pad: 'valid' }, // 1x1: matrix product path
  { B: 2, H: 11, W: 9, cin: 2, cout: 3, kh: 3, kw: 3, s: 2, pad: 'same' },
  { B: 1, H: 10, W: 10, cin: 2, cout: 2, kh: 4, kw: 3, s: 2, pad: 'valid' },
];

const depthwiseCases: ConvCase[] = [
  // the SIMD kernels' shapes: stride 1, odd square 'same' kernels, channels a multiple of 4
  { B: 3, H: 9, W: 13, cin: 8, cout: 8, kh: 5, kw: 5, s: 1, pad: 'explicit', p: [2, 2] },
  { B: 2, H: 7, W: 6, cin: 16, cout: 16, kh: 7, kw: 7, s: 1, pad: 'same' },
  { B: 2, H: 5, W: 11, cin: 4, cout: 4, kh: 3, kw: 3, s: 1, pad: 'explicit', p: [1, 1] },
  { B: 2, H: 9, W: 10, cin: 19, cout: 19, kh: 5, kw: 5, s: 1, pad: 'explicit', p: [2, 2] }, // several channel groups
  { B: 3, H: 10, W: 12, cin: 5, cout: 5, kh: 7, kw: 7, s: 1, pad: 'explicit', p: [3, 3] }, // ds_conv spatial conv
  { B: 2, H: 8, W: 9, cin: 4, cout: 4, kh: 3, kw: 3, s: 1, pad: 'same' },
  { B: 2, H: 9, W: 8, cin: 3, cout: 3, kh: 3, kw: 2, s: 1, pad: 'valid' },
  { B: 2, H: 8, W: 8, cin: 3, cout: 6, kh: 3, kw: 3, s: 1, pad: 'same', m: 2 },
  { B: 2, H: 11, W: 10, cin: 3, cout: 3, kh: 3, kw: 3, s: 2, pad: 'same' },
];

describe('wasm gradient kernels', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
    registerWasmGradKernels();
  });

  it('registers every kernel the wasm backend lacked', () => {
    for (const k of WASM_GRAD_KERNELS) expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
  });

  it.each(conv2dCases.map((c, i) => [i, c] as const))('Conv2DBackpropFilter/Input case %i match cpu', async (_, c) => {
    const rng = new Rng(10 + c.kh * 7 + c.s);
    const Ho = outSize(c.H, c.kh, c.s, c.pad === 'explicit' ? 0 : c.pad, c.p?.[0], c.p?.[0]);
    const Wo = outSize(c.W, c.kw, c.s, c.pad === 'explicit' ? 0 : c.pad, c.p?.[1], c.p?.[1]);
    const inputs = { x: rand(rng, [c.B, c.H, c.W, c.cin]), dy: rand(rng, [c.B, Ho, Wo, c.cout]) };
    const attrs = {
      strides: [c.s, c.s],
      pad: padAttr(c),
      dataFormat: 'NHWC',
      filterShape: [c.kh, c.kw, c.cin, c.cout],
    };
    expectClose(
      await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs),
      await runOn('cpu', 'Conv2DBackpropFilter', inputs, attrs),
    );
    const bi = { dy: inputs.dy, filter: rand(rng, [c.kh, c.kw, c.cin, c.cout]) };
    const ba = { strides: [c.s, c.s], pad: padAttr(c), dataFormat: 'NHWC', inputShape: [c.B, c.H, c.W, c.cin] };
    expectClose(await runOn('wasm', 'Conv2DBackpropInput', bi, ba), await runOn('cpu', 'Conv2DBackpropInput', bi, ba));
  });

  it.each(
    depthwiseCases.flatMap(
      (c, i) =>
        [
          [i, true, c],
          [i, false, c],
        ] as const,
    ),
  )('DepthwiseConv2dNativeBackpropFilter/Input case %i (SIMD %s) match cpu', async (_, simd, c) => {
    setDepthwiseGradSimd(simd);
    const rng = new Rng(20 + c.kh * 5 + c.s);
    const m = c.m ?? 1;
    const d = c.d ?? 1;
    const Ho = outSize(c.H, c.kh, c.s, c.pad === 'explicit' ? 0 : c.pad, c.p?.[0], c.p?.[0], d);
    const Wo = outSize(c.W, c.kw, c.s, c.pad === 'explicit' ? 0 : c.pad, c.p?.[1], c.p?.[1], d);
    const filterShape = [c.kh, c.kw, c.cin, m];
    const x = rand(rng, [c.B, c.H, c.W, c.cin]);
    const dy = rand(rng, [c.B, Ho, Wo, c.cin * m]);
    const filter = rand(rng, filterShape);
    const base = { strides: [c.s, c.s], pad: padAttr(c), dilations: [d, d] };
    const fa = { ...base, filterShape };
    expectClose(
      await runOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, fa),
      await runOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, fa),
    );
    const ia = { ...base, inputShape: x.shape };
    expectClose(
      await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, ia),
      await runOn('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, ia),
    );
    setDepthwiseGradSimd(true);
  });

  it('UnsortedSegmentSum matches cpu, with repeated, negative and out-of-range ids', async () => {
    const rng = new Rng(3);
    const x = rand(rng, [6, 4, 3]);
    const ids = { data: Int32Array.from([0, 2, 2, -1, 7, 0]), shape: [6], dtype: 'int32' as const };
    const attrs = { numSegments: 5 };
    expectClose(
      await runOn('wasm', 'UnsortedSegmentSum', { x, segmentIds: ids }, attrs),
      await runOn('cpu', 'UnsortedSegmentSum', { x, segmentIds: ids }, attrs),
      1e-6,
    );
    const none = { data: Int32Array.from([-1, 9, -3, 5, 5, 6]), shape: [6], dtype: 'int32' as const };
    expectClose(
      await runOn('wasm', 'UnsortedSegmentSum', { x, segmentIds: none }, attrs),
      await runOn('cpu', 'UnsortedSegmentSum', { x, segmentIds: none }, attrs),
      1e-6,
    );
  });

  it('tf.grads of conv2d, depthwiseConv2d and gather run on wasm and match cpu', async () => {
    const rng = new Rng(5);
    const x = rand(rng, [2, 10, 12, 3]);
    const w = rand(rng, [5, 5, 3, 4]);
    const dw = rand(rng, [3, 3, 4, 1]);
    const table = rand(rng, [7, 3]);
    const grads = async (backend: 'cpu' | 'wasm'): Promise<Host[]> => {
      await tf.setBackend(backend);
      const ts = [x, w, dw, table].map((h) => tf.tensor(h.data, h.shape));
      const before = tf.memory().numTensors;
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, t: tf.Tensor): tf.Scalar => {
        const y = tf.depthwiseConv2d(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), c as tf.Tensor4D, 1, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
        const g = tf.gather(t, tf.tensor1d([0, 3, 3, 6], 'int32'));
        return y.square().mean().add(g.square().sum()) as tf.Scalar;
      };
      const gs = tf.grads(f)(ts);
      const out = await Promise.all(
        gs.map(async (g) => ({ data: Float32Array.from((await g.data()) as Float32Array), shape: g.shape })),
      );
      tf.dispose(gs);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(ts);
      return out;
    };
    const a = await grads('wasm');
    const b = await grads('cpu');
    a.forEach((g, i) => expectClose(g, b[i]));
  });
});
