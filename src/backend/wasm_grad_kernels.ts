/**
 * The gradient kernels that tfjs-backend-wasm 4.22 does not register, built from kernels it has, so that
 * tfjs' own gradients (tf.grad / tf.variableGrads / optimizers) run on wasm:
 *
 * - Conv2DBackpropFilter: dW[i, j, ci, co] = sum over batch and output pixels of xPad[b, y*s + i*d, ...] *
 *   dy[b, y, x, co], i.e. a correlation of the transposed input (ci, H, W, batch) with the transposed output
 *   gradient (Ho, Wo, batch, co) as the filter (batch is the summed "channel" axis); 1x1 convolutions are one
 *   matrix product instead.
 * - DepthwiseConv2dNativeBackpropFilter: the same idea per channel: a depthwise correlation over (channel,
 *   batch) pairs with dy as the filter, then a sum over the batch.
 * - DepthwiseConv2dNativeBackpropInput: the full correlation of dy (upsampled by the stride) with the filter
 *   rotated by 180 degrees, cropped to the unpadded input.
 * - UnsortedSegmentSum (the gradient of gather): a ScatterNd, which sums duplicate indices; ids outside
 *   [0, numSegments) are dropped, as TensorFlow does.
 *
 * A kernel may return a Tensor (the engine accepts it as the output) and runs with the tape off, so each one is
 * a tf.tidy of ordinary ops. Only NHWC is supported (the only layout tfjs' conv ops use on wasm).
 */
import * as tf from '@tensorflow/tfjs';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

/** The kernels this module registers, by name. */
export const WASM_GRAD_KERNELS = [
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
  if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`${kernel}: only NHWC is implemented, got ${dataFormat}`);
}

/** Explicit zero padding [top, bottom, left, right] and geometry, as tfjs computes it for the forward conv. */
function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs, depthwise: boolean) {
  const dil = a.dilations ?? 1;
  // tfjs' own gradients refuse dilated convolutions (and its cpu kernels ignore dilation), so there is nothing
  // to check a dilated version against
  if ((Array.isArray(dil) ? Math.max(...dil) : dil) > 1) throw new Error('wasm gradient kernels: dilation > 1 is not supported (neither by tfjs gradients)');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, dil,
    a.pad, a.dimRoundingMode, depthwise, 'channelsLast',
  );
  return info;
}

function padTo(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  if (!top && !bottom && !left && !right) return x;
  return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
}

/**
 * Crops or zero-extends axis 1 and 2 of `t` to [from, from + len): the padded input may be longer than what the
 * last output pixel reaches (stride that does not divide evenly), and those rows get no gradient.
 */
function window2d(t: tf.Tensor4D, fromH: number, lenH: number, fromW: number, lenW: number): tf.Tensor4D {
  const [, h, w] = t.shape;
  const extH = Math.max(0, fromH + lenH - h);
  const extW = Math.max(0, fromW + lenW - w);
  const e = extH || extW ? tf.pad(t, [[0, 0], [0, extH], [0, extW], [0, 0]]) : t;
  return e.slice([0, fromH, fromW, 0], [-1, lenH, lenW, -1]);
}

/** Every `step`-th entry along axes 1 and 2, `count` of them. */
function subsample2d(t: tf.Tensor4D, stepH: number, countH: number, stepW: number, countW: number): tf.Tensor4D {
  if (stepH === 1 && stepW === 1) return t.slice([0, 0, 0, 0], [-1, countH, countW, -1]);
  return tf.stridedSlice(t, [0, 0, 0, 0], [t.shape[0], (countH - 1) * stepH + 1, (countW - 1) * stepW + 1, t.shape[3]], [1, stepH, stepW, 1]) as tf.Tensor4D;
}

/** Inserts (s - 1) zeros between neighbouring pixels: (B, H, W, C) -> (B, (H-1)*sh+1, (W-1)*sw+1, C). */
function upsampleZeros(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [B, H, W, C] = t.shape;
  const z = tf.pad(t.reshape([B, H, 1, W, 1, C]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return z.reshape([B, H * sh, W * sw, C]).slice([0, 0, 0, 0], [B, (H - 1) * sh + 1, (W - 1) * sw + 1, C]);
}

/** dL/dW of tf.conv2d (NHWC, dilation 1 as tfjs' Conv2D gradient requires). */
export function conv2dBackpropFilterOps(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], a: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, a, false);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw, cin, cout] = filterShape;
    const { strideHeight: sh, strideWidth: sw } = info;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && !top && !bottom && !left && !right) {
      // A 1x1 convolution is a matrix product over all pixels.
      const x2 = x.reshape([-1, cin]);
      const dy2 = dy.reshape([-1, cout]);
      return tf.matMul(x2, dy2, true, false).reshape([1, 1, cin, cout]) as tf.Tensor4D;
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
export function depthwiseBackpropFilterOps(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], a: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, a, true);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw, C, m] = filterShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const [B] = x.shape;
    const [, Ho, Wo] = dy.shape;
    let xPad = padTo(x, top, bottom, left, right);
    if (m > 1) {
      // output channel c*m + q reads input channel c: repeat every input channel m times
      const [, Hp, Wp] = xPad.shape;
      xPad = xPad.reshape([B, Hp, Wp, C, 1]).tile([1, 1, 1, 1, m]).reshape([B, Hp, Wp, C * m]);
    }
    const Cm = C * m;
    const [, Hp, Wp] = xPad.shape;
    // one depthwise "channel" per (channel, image) pair; dy is the (dilated by the stride) filter
    const xr = xPad.transpose([1, 2, 3, 0]).reshape([1, Hp, Wp, Cm * B]) as tf.Tensor4D;
    const fr = dy.transpose([1, 2, 3, 0]).reshape([Ho, Wo, Cm * B, 1]) as tf.Tensor4D;
    const full = tf.depthwiseConv2d(xr, fr, 1, 'valid', 'NHWC', [sh, sw]); // (1, Hp - (Ho-1)sh, ..., Cm*B)
    const taps = subsample2d(full, dh, kh, dw, kw); // tap i sits at offset i * dilation
    return taps.reshape([kh, kw, Cm, B]).sum(3).reshape([kh, kw, C, m]) as tf.Tensor4D;
  });
}

/** dL/dx of tf.depthwiseConv2d (NHWC). */
export function depthwiseBackpropInputOps(inputShape: [number, number, number, number], dy: tf.Tensor4D, filter: tf.Tensor4D, a: ConvAttrs): tf.Tensor4D {
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
    const dyFull = tf.pad(dyUp, [[0, 0], [keH - 1, keH - 1], [keW - 1, keW - 1], [0, 0]]);
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
    const idx = tf.tensor2d(Int32Array.from(keep, (i) => ids[i]), [keep.length, 1], 'int32');
    return tf.scatterND(idx, rows, [numSegments, ...rest]);
  });
}

let registered = false;

/**
 * Registers the missing kernels on the wasm backend (idempotent; kernels wasm already has are left alone).
 * Call after the wasm backend is imported; it does not need to be the active backend.
 */
export function registerWasmGradKernels(): void {
  if (registered) return;
  registered = true;
  const reg = (kernelName: string, kernelFunc: (args: { inputs: Record<string, unknown>; attrs?: Record<string, unknown> }) => tf.Tensor): void => {
    if (tf.getKernel(kernelName, 'wasm')) return;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  };
  reg('Conv2DBackpropFilter', ({ inputs, attrs }) => {
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    nhwcOnly('Conv2DBackpropFilter', a.dataFormat);
    return conv2dBackpropFilterOps(tensorInput(inputs.x, 'Conv2DBackpropFilter', 'x') as tf.Tensor4D,
      tensorInput(inputs.dy, 'Conv2DBackpropFilter', 'dy') as tf.Tensor4D, a.filterShape, a);
  });
  reg('DepthwiseConv2dNativeBackpropFilter', ({ inputs, attrs }) => {
    const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    return depthwiseBackpropFilterOps(tensorInput(inputs.x, 'DepthwiseConv2dNativeBackpropFilter', 'x') as tf.Tensor4D,
      tensorInput(inputs.dy, 'DepthwiseConv2dNativeBackpropFilter', 'dy') as tf.Tensor4D, a.filterShape, a);
  });
  reg('DepthwiseConv2dNativeBackpropInput', ({ inputs, attrs }) => {
    const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    return depthwiseBackpropInputOps(a.inputShape, tensorInput(inputs.dy, 'DepthwiseConv2dNativeBackpropInput', 'dy') as tf.Tensor4D,
      tensorInput(inputs.filter, 'DepthwiseConv2dNativeBackpropInput', 'filter') as tf.Tensor4D, a);
  });
  reg('UnsortedSegmentSum', ({ inputs, attrs }) => {
    const numSegments = (attrs as { numSegments: number }).numSegments;
    return unsortedSegmentSumOps(tensorInput(inputs.x, 'UnsortedSegmentSum', 'x'), tensorInput(inputs.segmentIds, 'UnsortedSegmentSum', 'segmentIds'), numSegments);
  });
}
