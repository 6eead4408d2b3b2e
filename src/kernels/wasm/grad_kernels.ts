/**
 * The gradient kernels that tfjs-backend-wasm 4.22 does not register, built from kernels it has, so that
 * tfjs' own gradients (tf.grad / tf.variableGrads / optimizers) run on wasm:
 *
 * - Conv2DBackpropFilter: dW[i, j, ci, co] = sum over batch and output pixels of xPad[b, y*s + i*d, ...] *
 *   dy[b, y, x, co], i.e. a correlation of the transposed input (ci, H, W, batch) with the transposed output
 *   gradient (Ho, Wo, batch, co) as the filter (batch is the summed "channel" axis); 1x1 convolutions are one
 *   matrix product instead.
 * - DepthwiseConv2dNativeBackpropFilter: the same correlation per channel, computed for small groups of
 *   channels as a dense one whose diagonal is kept (wasm runs dense convs far faster than huge depthwise ones).
 * - For the core's depthwise layers (stride 1, odd square "same" kernels, channels a multiple of 4) both depthwise
 *   gradients run as WebAssembly SIMD kernels instead (depthwise_grad.ts), ~3-5x faster.
 * - DepthwiseConv2dNativeBackpropInput: the full correlation of dy (upsampled by the stride) with the filter
 *   rotated by 180 degrees, cropped to the unpadded input.
 * - Conv2DBackpropInput (replacing wasm's own loop kernel, 10-15x slower): the full correlation of dy with the
 *   rotated, transposed filter, as one forward conv.
 * - UnsortedSegmentSum (the gradient of gather): a ScatterNd, which sums duplicate indices; ids outside
 *   [0, numSegments) are dropped, as TensorFlow does.
 *
 * A kernel may return a Tensor (the engine accepts it as the output) and runs with the tape off, so each one is
 * a tf.tidy of ordinary ops. Only NHWC is supported (the only layout tfjs' conv ops use on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { depthwiseFilterGradSimd, depthwiseSameSimd, simdDepthwiseGradApplies } from './depthwise_grad';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

/** The kernels this module registers, by name (Conv2DBackpropInput replaces wasm's own, which is slow). */
export const WASM_GRAD_KERNELS = [
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
] as const;

function tensorInput(t: unknown, kernel: string, name: string): tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw new Error(`${kernel}: input '${name}' must be a tf.Tensor`);
  return t;
}

function nhwcOnly(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC')
    throw new Error(`${kernel}: only NHWC is implemented, got ${dataFormat}`);
}

/** Explicit zero padding [top, bottom, left, right] and geometry, as tfjs computes it for the forward conv. */
function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs, depthwise: boolean) {
  const dil = a.dilations ?? 1;
  // tfjs' own gradients refuse dilated convolutions (and its cpu kernels ignore dilation), so there is nothing
  // to check a dilated version against
  if ((Array.isArray(dil) ? Math.max(...dil) : dil) > 1)
    throw new Error('wasm gradient kernels: dilation > 1 is not supported (neither by tfjs gradients)');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    dil,
    a.pad,
    a.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return info;
}

function padTo(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  if (!top && !bottom && !left && !right) return x;
  return tf.pad(x, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]);
}

/**
 * Crops or zero-extends axis 1 and 2 of `t` to [from, from + len): the padded input may be longer than what the
 * last output pixel reaches (stride that does not divide evenly), and those rows get no gradient.
 */
function window2d(t: tf.Tensor4D, fromH: number, lenH: number, fromW: number, lenW: number): tf.Tensor4D {
  const [, h, w] = t.shape;
  const extH = Math.max(0, fromH + lenH - h);
  const extW = Math.max(0, fromW + lenW - w);
  const e =
    extH || extW
      ? tf.pad(t, [
          [0, 0],
          [0, extH],
          [0, extW],
          [0, 0],
        ])
      : t;
  return e.slice([0, fromH, fromW, 0], [-1, lenH, lenW, -1]);
}

/** Every `step`-th entry along axes 1 and 2, `count` of them. */
function subsample2d(t: tf.Tensor4D, stepH: number, countH: number, stepW: number, countW: number): tf.Tensor4D {
  if (stepH === 1 && stepW === 1) return t.slice([0, 0, 0, 0], [-1, countH, countW, -1]);
  return tf.stridedSlice(
    t,
    [0, 0, 0, 0],
    [t.shape[0], (countH - 1) * stepH + 1, (countW - 1) * stepW + 1, t.shape[3]],
    [1, stepH, stepW, 1],
  ) as tf.Tensor4D;
}

/** Inserts (s - 1) zeros between neighbouring pixels: (B, H, W, C) -> (B, (H-1)*sh+1, (W-1)*sw+1, C). */
function upsampleZeros(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [B, H, W, C] = t.shape;
  const z = tf.pad(t.reshape([B, H, 1, W, 1, C]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return z
    .reshape([B, H * sh, W * sw, C])
    .slice([0, 0, 0, 0], [B, (H - 1) * sh + 1, (W - 1) * sw + 1, C]) as tf.Tensor4D;
}

/** dL/dW of tf.conv2d (NHWC, dilation 1 as tfjs' Conv2D gradient requires). */
export function conv2dBackpropFilterOps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  a: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, a, false);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw, cin, cout] = filterShape;
    const { strideHeight: sh, strideWidth: sw } = info;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && !top && !bottom && !left && !right) {
      // A 1x1 convolution is a matrix product over all pixels.
      // (an explicit transpose then a plain product is ~3x faster on wasm than matMul's transposeA)
      const xT = x.reshape([-1, cin]).transpose();
      const dy2 = dy.reshape([-1, cout]);
      return tf.matMul(xT, dy2).reshape([1, 1, cin, cout]) as tf.Tensor4D;
    }
    const xPad = padTo(x, top, bottom, left, right);
    const xT = xPad.transpose([3, 1, 2, 0]) as tf.Tensor4D; // (cin, Hp, Wp, B)
    const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // (Ho, Wo, B, cout)
    // out[ci, i, j, co] = sum_{y, x, b} xT[ci, i + y*sh, j + x*sw, b] dyT[y, x, b, co]: dy as a dilated filter
    const full = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]);
    const dw = full.slice([0, 0, 0, 0], [cin, kh, kw, cout]);
    return dw.transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** dL/dW of tf.depthwiseConv2d (NHWC), filter (kh, kw, C, multiplier). */
export function depthwiseBackpropFilterOps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  a: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, a, true);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw, C, m] = filterShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const [B] = x.shape;
    let xPad = padTo(x, top, bottom, left, right);
    if (m > 1) {
      // output channel c*m + q reads input channel c: repeat every input channel m times
      const [, Hp, Wp] = xPad.shape;
      xPad = xPad
        .reshape([B, Hp, Wp, C, 1])
        .tile([1, 1, 1, 1, m])
        .reshape([B, Hp, Wp, C * m]);
    }
    const Cm = C * m;
    // Per group of g channels, a dense correlation of the transposed input (g, Hp, Wp, B) with the transposed dy
    // (Ho, Wo, B, g) as a (stride-dilated) filter gives every (input channel, output channel) pair of the group;
    // the diagonal is the answer. g times the work of the depthwise form, but it runs on wasm's GEMM path, where
    // a depthwise conv with a Ho x Wo kernel takes a slow generic path (~1.5-2x slower at 16 channels).
    const xT = xPad.transpose([3, 1, 2, 0]) as tf.Tensor4D; // (Cm, Hp, Wp, B)
    const dyT = dy.transpose([3, 1, 2, 0]) as tf.Tensor4D; // (Cm, Ho, Wo, B)
    const parts: tf.Tensor[] = [];
    for (let s = 0; s < Cm; s += DEPTHWISE_FILTER_GROUP) {
      const g = Math.min(DEPTHWISE_FILTER_GROUP, Cm - s);
      const xs = g === Cm ? xT : xT.slice([s, 0, 0, 0], [g, -1, -1, -1]);
      const fs = (g === Cm ? dyT : dyT.slice([s, 0, 0, 0], [g, -1, -1, -1])).transpose([1, 2, 3, 0]) as tf.Tensor4D; // (Ho, Wo, B, g)
      const full = tf.conv2d(xs, fs, 1, 'valid', 'NHWC', [sh, sw]); // (g, Hp - (Ho-1)sh, Wp - (Wo-1)sw, g)
      const taps = subsample2d(full, dh, kh, dw, kw); // tap i sits at offset i * dilation
      parts.push(taps.mul(tf.eye(g).reshape([g, 1, 1, g])).sum(3)); // (g, kh, kw)
    }
    const dW = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    return dW.transpose([1, 2, 0]).reshape([kh, kw, C, m]) as tf.Tensor4D;
  });
}

/** dL/dx of tf.depthwiseConv2d (NHWC). */
export function depthwiseBackpropInputOps(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  a: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, a, true);
    const { top, left } = info.padInfo;
    const [kh, kw, C, m] = filter.shape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const [B, H, W] = inputShape;
    const keH = (kh - 1) * dh + 1;
    const keW = (kw - 1) * dw + 1;
    // dxPad[p] = sum_i dyUp[p - i*d] w[i]: correlate the zero-padded, stride-upsampled dy with the flipped filter
    const dyUp = upsampleZeros(dy, sh, sw);
    const dyFull = tf.pad(dyUp, [
      [0, 0],
      [keH - 1, keH - 1],
      [keW - 1, keW - 1],
      [0, 0],
    ]);
    const wRot = tf.reverse(filter, [0, 1]).reshape([kh, kw, C * m, 1]) as tf.Tensor4D;
    let dxPad = tf.depthwiseConv2d(dyFull, wRot, 1, 'valid', 'NHWC', [dh, dw]); // (B, Hp', Wp', C*m)
    if (m > 1) dxPad = dxPad.reshape([B, dxPad.shape[1], dxPad.shape[2], C, m]).sum(4) as tf.Tensor4D;
    return window2d(dxPad, top, H, left, W);
  });
}

/** TensorFlow's UnsortedSegmentSum: out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s. */
export function unsortedSegmentSumOps(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const idRank = segmentIds.rank;
    const lead = segmentIds.size;
    const rest = x.shape.slice(idRank);
    const ids = segmentIds.dataSync();
    const keep: number[] = [];
    for (let i = 0; i < lead; i++) if (ids[i] >= 0 && ids[i] < numSegments) keep.push(i);
    if (keep.length === 0) return tf.zeros([numSegments, ...rest], x.dtype);
    let rows = x.reshape([lead, ...rest]);
    if (keep.length !== lead) rows = tf.gather(rows, tf.tensor1d(Int32Array.from(keep), 'int32'));
    const idx = tf.tensor2d(
      Int32Array.from(keep, (i) => ids[i]),
      [keep.length, 1],
      'int32',
    );
    return tf.scatterND(idx, rows, [numSegments, ...rest]);
  });
}

/** Channels per dense correlation in the depthwise filter gradient (fastest measured at 16-32 channels). */
const DEPTHWISE_FILTER_GROUP = 8;

/** dL/dx of tf.conv2d (NHWC, dilation 1): the full correlation of dy (upsampled by the stride) with the rotated, transposed filter. */
export function conv2dBackpropInputOps(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  a: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, a, false);
    const { top, left, bottom, right } = info.padInfo;
    const [kh, kw] = filter.shape;
    const { strideHeight: sh, strideWidth: sw } = info;
    const [, H, W] = inputShape;
    const wT = filter.transpose([0, 1, 3, 2]) as tf.Tensor4D; // (kh, kw, out, in)
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && !top && !bottom && !left && !right)
      return tf.conv2d(dy, wT, 1, 'valid');
    const dyUp = upsampleZeros(dy, sh, sw);
    const dyFull = tf.pad(dyUp, [
      [0, 0],
      [kh - 1, kh - 1],
      [kw - 1, kw - 1],
      [0, 0],
    ]);
    const dxPad = tf.conv2d(dyFull, tf.reverse(wT, [0, 1]) as tf.Tensor4D, 1, 'valid');
    return window2d(dxPad, top, H, left, W);
  });
}

let simdEnabled = true;

/** Test hook: use (true, the default) or skip the WebAssembly SIMD depthwise gradient kernels where they apply. */
export function setDepthwiseGradSimd(on: boolean): void {
  simdEnabled = on;
}

function simdApplies(xShape: readonly number[], filterShape: readonly number[], a: ConvAttrs): boolean {
  if (a.dilations !== undefined && (Array.isArray(a.dilations) ? Math.max(...a.dilations) : a.dilations) > 1)
    return false;
  const info = convInfo(xShape as number[], filterShape as number[], a, true);
  return (
    info.outHeight === xShape[1] &&
    info.outWidth === xShape[2] &&
    simdDepthwiseGradApplies(
      xShape,
      filterShape,
      info.padInfo,
      [info.strideHeight, info.strideWidth],
      [info.dilationHeight, info.dilationWidth],
    )
  );
}

let registered = false;

/**
 * Registers the missing kernels on the wasm backend (idempotent; kernels wasm already has are left alone).
 * Call after the wasm backend is imported; it does not need to be the active backend.
 */
export function registerWasmGradKernels(): void {
  if (registered) return;
  registered = true;
  const reg = (
    kernelName: string,
    kernelFunc: (args: {
      inputs: Record<string, unknown>;
      attrs?: Record<string, unknown>;
      backend: unknown;
    }) => tf.Tensor | tf.TensorInfo,
    replace = false,
  ): void => {
    if (tf.getKernel(kernelName, 'wasm')) {
      if (!replace) return;
      tf.unregisterKernel(kernelName, 'wasm');
    }
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };
  // wasm has this one, but as plain loops: 10-15x slower than the same sum as a forward conv (XNNPACK)
  reg(
    'Conv2DBackpropInput',
    ({ inputs, attrs }) => {
      const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
      nhwcOnly('Conv2DBackpropInput', a.dataFormat);
      return conv2dBackpropInputOps(
        a.inputShape,
        tensorInput(inputs.dy, 'Conv2DBackpropInput', 'dy') as tf.Tensor4D,
        tensorInput(inputs.filter, 'Conv2DBackpropInput', 'filter') as tf.Tensor4D,
        a,
      );
    },
    true,
  );
  reg('Conv2DBackpropFilter', ({ inputs, attrs }) => {
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    nhwcOnly('Conv2DBackpropFilter', a.dataFormat);
    return conv2dBackpropFilterOps(
      tensorInput(inputs.x, 'Conv2DBackpropFilter', 'x') as tf.Tensor4D,
      tensorInput(inputs.dy, 'Conv2DBackpropFilter', 'dy') as tf.Tensor4D,
      a.filterShape,
      a,
    );
  });
  reg('DepthwiseConv2dNativeBackpropFilter', ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    const x = tensorInput(inputs.x, 'DepthwiseConv2dNativeBackpropFilter', 'x');
    const dy = tensorInput(inputs.dy, 'DepthwiseConv2dNativeBackpropFilter', 'dy');
    if (simdEnabled && simdApplies(x.shape, a.filterShape, a)) {
      const out = depthwiseFilterGradSimd(backend, x, dy, a.filterShape[0]);
      if (out) return out;
    }
    return depthwiseBackpropFilterOps(x as tf.Tensor4D, dy as tf.Tensor4D, a.filterShape, a);
  });
  reg('DepthwiseConv2dNativeBackpropInput', ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    const dy = tensorInput(inputs.dy, 'DepthwiseConv2dNativeBackpropInput', 'dy');
    const filter = tensorInput(inputs.filter, 'DepthwiseConv2dNativeBackpropInput', 'filter');
    if (simdEnabled && simdApplies(a.inputShape, filter.shape, a)) {
      // dx = "same" depthwise conv of dy with the filter rotated by 180 degrees
      const rot = tf.reverse(filter, [0, 1]);
      try {
        const out = depthwiseSameSimd(backend, dy, rot);
        if (out) return out;
      } finally {
        rot.dispose();
      }
    }
    return depthwiseBackpropInputOps(a.inputShape, dy as tf.Tensor4D, filter as tf.Tensor4D, a);
  });
  reg('UnsortedSegmentSum', ({ inputs, attrs }) => {
    const numSegments = (attrs as { numSegments: number }).numSegments;
    return unsortedSegmentSumOps(
      tensorInput(inputs.x, 'UnsortedSegmentSum', 'x'),
      tensorInput(inputs.segmentIds, 'UnsortedSegmentSum', 'segmentIds'),
      numSegments,
    );
  });
}
