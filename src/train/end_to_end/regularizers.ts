/**
 * neuralpredictors' Stacked2dCore.regularizer() (layers/cores/conv2d.py, regularizers.py), differentiable in tfjs:
 *
 *   regularizer = gamma_hidden * group_sparsity + gamma_input * laplace
 *
 * - laplace: LaplaceL2norm on the first conv's filters: every (out, in) filter is convolved with the 3x3 Laplace
 *   kernel [[0,-1,0],[-1,4,-1],[0,-1,0]] with zero padding `laplace_padding` (Sensorium passes None = 1, i.e. a
 *   same-size output), then agg(laplace(w)^2) / agg(w^2) with agg = sum (use_avg_reg=False, Sensorium) or mean.
 * - group_sparsity: for each hidden plain conv, mean over (out, in) of sqrt(sum over the kernel of w^2), summed
 *   over layers 1..L-1 and divided by L-1. neuralpredictors skips it for depth-separable cores (it warns and
 *   ignores gamma_hidden), and so does this.
 *
 * Weights are in tfjs layout (kh, kw, in, out); the sums are the same as over PyTorch's (out, in, kh, kw).
 */
import * as tf from '@tensorflow/tfjs';
import type { Stacked2dCore } from '../../model/core';

export interface CoreRegularizerOptions {
  /** Weight of the Laplace term (Sensorium SOTA: 6.3831). */
  gammaInput: number;
  /** Weight of the group sparsity term (ignored for depth-separable hidden layers, as neuralpredictors). */
  gammaHidden: number;
  /** Zero padding of the Laplace convolution; null = kernel // 2 = 1 (Sensorium's laplace_padding=None). */
  laplacePadding: number | null;
  /** neuralpredictors' use_avg_reg: mean instead of sum in LaplaceL2norm (Sensorium: false). */
  useAvgReg: boolean;
}

/** The Sensorium 2022 SOTA core's regularizer settings. */
export const SENSORIUM_CORE_REGULARIZER: CoreRegularizerOptions = {
  gammaInput: 6.3831,
  gammaHidden: 0,
  laplacePadding: null,
  useAvgReg: false,
};

/** The 3x3 Laplace filter applied to every 2-D filter of w (kh, kw, in, out), as a 5-point stencil. */
export function laplaceFiltered(w: tf.Tensor4D, padding: number | null = null): tf.Tensor4D {
  return tf.tidy(() => {
    const p = padding ?? 1;
    const [kh, kw] = w.shape;
    const wp =
      p > 0
        ? tf.pad(w, [
            [p, p],
            [p, p],
            [0, 0],
            [0, 0],
          ])
        : w;
    const oh = kh + 2 * p - 2;
    const ow = kw + 2 * p - 2;
    if (oh < 1 || ow < 1)
      throw new Error(`Laplace regularizer: a ${kh}x${kw} filter with padding ${p} leaves nothing to filter`);
    const at = (dy: number, dx: number): tf.Tensor4D => wp.slice([1 + dy, 1 + dx, 0, 0], [oh, ow, -1, -1]);
    return at(0, 0).mul(4).sub(at(-1, 0)).sub(at(1, 0)).sub(at(0, -1)).sub(at(0, 1)) as tf.Tensor4D;
  });
}

/** LaplaceL2norm: agg(laplace(w)^2) / agg(w^2). */
export function laplaceL2norm(w: tf.Tensor4D, padding: number | null = null, avg = false): tf.Scalar {
  return tf.tidy(() => {
    const lap = laplaceFiltered(w, padding).square();
    const w2 = w.square();
    return (avg ? lap.mean().div(w2.mean()) : lap.sum().div(w2.sum())) as tf.Scalar;
  });
}

/** Stacked2dCore.group_sparsity(): 0 when the hidden layers are depth-separable (neuralpredictors ignores it). */
export function groupSparsity(core: Stacked2dCore): tf.Scalar {
  return tf.tidy(() => {
    const L = core.layers.length;
    const hidden = core.layers.slice(1);
    if (hidden.length === 0 || hidden.some((l) => l.spec.kind !== 'conv')) return tf.scalar(0);
    let s: tf.Scalar = tf.scalar(0);
    for (const l of hidden) s = s.add(l.convs[0].weight.square().sum([0, 1]).sqrt().mean());
    return s.div(L > 1 ? L - 1 : 1) as tf.Scalar;
  });
}

/**
 * gamma_hidden * group_sparsity + gamma_input * laplace (a scalar tensor; differentiable). A TransferLearningCore
 * has none (its regularizer() returns 0).
 */
export function coreRegularizer(core: Stacked2dCore, o: CoreRegularizerOptions): tf.Scalar {
  return tf.tidy(() => {
    let r: tf.Scalar = tf.scalar(0);
    if (core.arch.transferLearning) return r;
    if (o.gammaInput !== 0)
      r = r.add(laplaceL2norm(core.firstLayerWeight, o.laplacePadding, o.useAvgReg).mul(o.gammaInput));
    if (o.gammaHidden !== 0) r = r.add(groupSparsity(core).mul(o.gammaHidden));
    return r;
  });
}
