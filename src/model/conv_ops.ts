/**
 * The core's convolutions (NHWC, cross-correlation as torch.nn.functional.conv2d) with PyTorch's symmetric
 * `padding` turned into tfjs' explicit padding. Gradients are tfjs' own on every backend; on wasm, whose 4.22
 * release lacks the backprop kernels, src/kernels/wasm/grad_kernels.ts registers them when the backend starts.
 */
import * as tf from '@tensorflow/tfjs';

export interface ConvGeometry {
  stride: number;
  dilation: number;
  /** Zero padding [rows, columns], the same on both sides (PyTorch's `padding`). */
  padding: [number, number];
}

type Padding = 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function tfPadding(p: [number, number]): Padding {
  return p[0] || p[1]
    ? [
        [0, 0],
        [p[0], p[0]],
        [p[1], p[1]],
        [0, 0],
      ]
    : 'valid';
}

/** x (B, H, W, Cin), w (kh, kw, Cin, Cout) -> (B, H', W', Cout). */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.conv2d(x, w, g.stride, tfPadding(g.padding), 'NHWC', g.dilation);
}

/** x (B, H, W, C), w (kh, kw, C, 1) -> (B, H', W', C): one filter per channel (PyTorch groups = C). */
export function depthwiseConv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.depthwiseConv2d(x, w, g.stride, tfPadding(g.padding), 'NHWC', g.dilation);
}
