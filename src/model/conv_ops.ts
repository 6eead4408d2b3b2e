/**
 * The core's convolutions (NHWC, cross-correlation as torch.nn.functional.conv2d) with gradients that every
 * backend can compute. tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter and no DepthwiseConv2dNativeBackprop*
 * kernels, so on a backend that lacks them the gradient is written with forward convolutions, pads, reverses,
 * transposes and matrix products only (`portable`); elsewhere tfjs' own gradient is used (`native`).
 */
import * as tf from '@tensorflow/tfjs';

export interface ConvGeometry {
  stride: number;
  dilation: number;
  /** Zero padding [rows, columns], the same on both sides (PyTorch's `padding`). */
  padding: [number, number];
}

export type ConvGradientMode = 'auto' | 'native' | 'portable';
let mode: ConvGradientMode = 'auto';

/** Test hook: force one gradient implementation ('auto' picks native when the backend has the kernels). */
export function setConvGradientMode(m: ConvGradientMode): void {
  mode = m;
}

function usePortable(kernels: string[], g: ConvGeometry): boolean {
  if (g.stride !== 1 || g.dilation !== 1) return false; // the portable formulas below assume both are 1
  if (mode === 'portable') return true;
  if (mode === 'native') return false;
  const backend = tf.getBackend();
  return kernels.some((k) => !tf.getKernel(k, backend));
}

function explicitPad(p: [number, number]): [[number, number], [number, number], [number, number], [number, number]] {
  return [[0, 0], [p[0], p[0]], [p[1], p[1]], [0, 0]];
}

/** x (B, H, W, Cin), w (kh, kw, Cin, Cout) -> (B, H', W', Cout). */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const pad = g.padding[0] || g.padding[1] ? explicitPad(g.padding) : 'valid';
  if (!usePortable(['Conv2DBackpropFilter', 'Conv2DBackpropInput'], g)) {
    return tf.conv2d(x, w, g.stride, pad, 'NHWC', g.dilation);
  }
  return portableConv2d(x, w, g.padding);
}

/** x (B, H, W, C), w (kh, kw, C, 1) -> (B, H', W', C): one filter per channel (PyTorch groups = C). */
export function depthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const pad = g.padding[0] || g.padding[1] ? explicitPad(g.padding) : 'valid';
  if (!usePortable(['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'], g)) {
    return tf.depthwiseConv2d(x, w, g.stride, pad, 'NHWC', g.dilation);
  }
  return portableDepthwise(x, w, g.padding);
}

function is1x1(w: tf.Tensor4D, p: [number, number]): boolean {
  return w.shape[0] === 1 && w.shape[1] === 1 && p[0] === 0 && p[1] === 0;
}

const portableConv2d = (x: tf.Tensor4D, w: tf.Tensor4D, p: [number, number]): tf.Tensor4D => {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4] = args as tf.Tensor4D[];
    const save = args[2] as tf.GradSaveFunc;
    save([x4, w4]);
    const value = tf.conv2d(x4, w4, 1, p[0] || p[1] ? explicitPad(p) : 'valid');
    return {
      value,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor4D[];
        return conv2dGrads(dy, xs, ws, p);
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
};

/** [dL/dx, dL/dw] of a stride-1 conv2d, built from forward ops. */
export function conv2dGrads(dy: tf.Tensor4D, x: tf.Tensor4D, w: tf.Tensor4D, p: [number, number]): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const [B, H, W, cin] = x.shape;
    const [kh, kw, , cout] = w.shape;
    if (is1x1(w, p)) {
      // A 1x1 conv is a matrix product over all pixels.
      const x2 = x.reshape([B * H * W, cin]);
      const dy2 = dy.reshape([B * H * W, cout]);
      const w2 = w.reshape([cin, cout]);
      const dx = tf.matMul(dy2, w2, false, true).reshape([B, H, W, cin]) as tf.Tensor4D;
      const dw = tf.matMul(x2, dy2, true, false).reshape([1, 1, cin, cout]) as tf.Tensor4D;
      return [dx, dw];
    }
    // dx: full correlation of dy with the kernel rotated by 180 degrees, cropped to the unpadded input.
    const dyFull = tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]);
    const wRot = tf.reverse(w, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
    const dxPadded = tf.conv2d(dyFull, wRot, 1, 'valid');
    const dx = dxPadded.slice([0, p[0], p[1], 0], [B, H, W, cin]);
    // dw[i, j, ci, co] = sum over batch and pixels of xPadded[b, y+i, x+j, ci] * dy[b, y, x, co]: a valid
    // correlation with the batch as the summed "channel" axis.
    const xPad = p[0] || p[1] ? tf.pad(x, explicitPad(p)) : x;
    const xT = xPad.transpose([3, 1, 2, 0]) as tf.Tensor4D; // (cin, Hp, Wp, B)
    const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // (Ho, Wo, B, cout)
    const dw = tf.conv2d(xT, dyT, 1, 'valid').transpose([1, 2, 0, 3]) as tf.Tensor4D; // (kh, kw, cin, cout)
    return [dx, dw];
  });
}

const portableDepthwise = (x: tf.Tensor4D, w: tf.Tensor4D, p: [number, number]): tf.Tensor4D => {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4] = args as tf.Tensor4D[];
    const save = args[2] as tf.GradSaveFunc;
    save([x4, w4]);
    const value = tf.depthwiseConv2d(x4, w4, 1, p[0] || p[1] ? explicitPad(p) : 'valid');
    return {
      value,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor4D[];
        return depthwiseGrads(dy, xs, ws, p);
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
};

/** [dL/dx, dL/dw] of a stride-1 depthwise conv (channel multiplier 1), built from forward ops. */
export function depthwiseGrads(dy: tf.Tensor4D, x: tf.Tensor4D, w: tf.Tensor4D, p: [number, number]): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const [kh, kw] = w.shape;
    if (w.shape[3] !== 1) throw new Error('depthwise gradient: only channel multiplier 1 is implemented');
    const dyFull = tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]);
    const dxPadded = tf.depthwiseConv2d(dyFull, tf.reverse(w, [0, 1]) as tf.Tensor4D, 1, 'valid');
    const dx = dxPadded.slice([0, p[0], p[1], 0], [B, H, W, C]);
    // dw[i, j, c] = sum_b sum_pixels xPadded[b, y+i, x+j, c] * dy[b, y, x, c]: a depthwise correlation over
    // (channel, batch) pairs with dy as the filter, then a sum over the batch.
    const xPad = p[0] || p[1] ? tf.pad(x, explicitPad(p)) : x;
    const [, Hp, Wp] = xPad.shape;
    const [, Ho, Wo] = dy.shape;
    const xr = xPad.transpose([1, 2, 3, 0]).reshape([1, Hp, Wp, C * B]) as tf.Tensor4D;
    const fr = dy.transpose([1, 2, 3, 0]).reshape([Ho, Wo, C * B, 1]) as tf.Tensor4D;
    const dw = tf.depthwiseConv2d(xr, fr, 1, 'valid').reshape([kh, kw, C, B]).sum(3).reshape([kh, kw, C, 1]) as tf.Tensor4D;
    return [dx, dw];
  });
}
