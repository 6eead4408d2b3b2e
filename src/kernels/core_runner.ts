/** What runs a frozen core: in this thread on tfjs tensors, or elsewhere (worker threads) on host arrays. */
import type * as tf from '@tensorflow/tfjs';

/** Runs the frozen core: normalized images (B, C, H, W) -> core output (B, H', W', C') NHWC, eval mode. */
export type CoreRunner = (imagesNCHW: tf.Tensor4D) => tf.Tensor4D;

/** A core that runs elsewhere (worker threads): host arrays in and out, several calls may be in flight. */
export interface HostCoreRunner {
  /** Normalized images (n, C, H, W) -> core output (n, H', W', C'). */
  runHost(images: Float32Array, n: number): Promise<Float32Array>;
  /** [C', H', W'] of the output. */
  readonly outputShape: [number, number, number];
  /** Calls to keep in flight (e.g. the number of worker threads). */
  readonly threads: number;
}
