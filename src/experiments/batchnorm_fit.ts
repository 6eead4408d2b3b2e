/**
 * BatchNorm statistics for a random core: a freshly initialized Stacked2dCore has running mean 0 and variance 1,
 * statistics of no image, so frozen in eval mode its layers are not normalized at all. Before such a core is
 * frozen, `fitBatchNormStatistics` sets each layer's running mean and variance to the exact per-channel mean and
 * variance of that layer's conv output over every position of every given image (the cell's training images),
 * layer by layer: layer l's statistics are taken with layers 0..l-1 already normalized by theirs. That is what
 * torch's BatchNorm2d(momentum=None) (a cumulative average) converges to over the images, computed exactly
 * instead of per batch; the variance is the unbiased one (n / (n - 1)), as torch keeps. The BatchNorm weights
 * and biases stay at their initial values (1, 0): nothing is trained. The layers before run by the core's own
 * forward (Stacked2dCore.preNormActivation), so a TransferLearningCore's ReLUs and pools are included.
 */
import * as tf from '@tensorflow/tfjs';
import type { Stacked2dCore } from '../model/core';
import { nchwToNhwc } from '../model/encoder';

/**
 * Sets the running statistics of every BatchNorm of `core` from `images` (normalized, (B, C, H, W) row-major
 * as `imageShape` = [C, H, W]), in place. Returns the number of layers fitted.
 */
export function fitBatchNormStatistics(
  core: Stacked2dCore,
  images: Float32Array,
  imageShape: readonly [number, number, number],
  batchSize = 64,
): number {
  const per = imageShape[0] * imageShape[1] * imageShape[2];
  const count = images.length / per;
  if (!Number.isInteger(count) || count < 1) throw new Error(`${images.length} values are not whole images of ${per}`);
  let fitted = 0;
  core.layers.forEach((layer, l) => {
    if (!layer.norm) return;
    const C = layer.norm.runningMean.shape[0];
    const sum = new Float64Array(C);
    const sumSq = new Float64Array(C);
    let n = 0;
    for (let start = 0; start < count; start += batchSize) {
      const b = Math.min(batchSize, count - start);
      const [s, s2, positions] = tf.tidy(() => {
        const x = tf.tensor4d(images.subarray(start * per, (start + b) * per), [b, ...imageShape]);
        const flat = core.preNormActivation(nchwToNhwc(x), l).reshape([-1, C]);
        return [flat.sum(0), flat.square().sum(0), flat.shape[0]] as const;
      });
      const a = s.dataSync();
      const a2 = s2.dataSync();
      for (let c = 0; c < C; c++) {
        sum[c] += a[c];
        sumSq[c] += a2[c];
      }
      s.dispose();
      s2.dispose();
      n += positions;
    }
    const mean = new Float32Array(C);
    const variance = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const m = sum[c] / n;
      mean[c] = m;
      variance[c] = Math.max(0, (sumSq[c] / n - m * m) * (n > 1 ? n / (n - 1) : 1));
    }
    tf.tidy(() => {
      layer.norm!.runningMean.assign(tf.tensor1d(mean));
      layer.norm!.runningVar.assign(tf.tensor1d(variance));
    });
    layer.norm.numBatchesTracked = Math.ceil(count / batchSize);
    fitted++;
  });
  return fitted;
}
