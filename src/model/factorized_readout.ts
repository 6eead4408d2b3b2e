/**
 * neuralpredictors' FullFactorized2d readout (Klindt et al. 2017, "what" and "where"): every neuron n has a
 * spatial mask m_n over the core's output map ("where") and a feature vector f_n over its channels ("what"):
 *
 *   y[b, n] = sum_c f[n, c] * sum_{h, w} m[n, h, w] * x[b, c, h, w]  + bias[n]
 *
 * the readout's output before the encoder's elu(y + elu_offset) + 1. Exactly as
 * `neuralpredictors/layers/readouts/factorized.py` (sinzlab/neuralpredictors, MIT) computes it:
 *
 * - `normalize` (default true): m = spatial / (sqrt(sum_{h,w} spatial^2) + 1e-6), per neuron; the epsilon is
 *   added after the square root.
 * - `constrain_pos`: the forward pass first clamps the feature parameter at 0 in place (`features.data.clamp_min_(0)`);
 *   the mask is clamped at 0 with `weight.data.clamp_min_(0)`, i.e. in the forward value only: the gradient passes
 *   through the clamp unchanged (straight-through). Without `normalize` that `weight` *is* the spatial parameter,
 *   so the parameter itself is clamped in place (here: `assign`), as in neuralpredictors.
 * - `positive_spatial` (ignored when `constrain_pos` is set, as neuralpredictors warns): m = |m|, gradient sign(m)
 *   with sign(0) = 0 as in torch (tfjs' own abs gradient gives -1 at 0; `torchAbs` below follows torch).
 * - `positive_weights`: neuralpredictors clamps the features only when its `weight` property is read, which neither
 *   `forward` nor `regularizer` does; so it changes nothing here either. `clampPositiveWeights()` does what reading
 *   `weight` does, for callers that want it.
 * - regularizer: `l1() * spatial_and_feature_reg_weight`. neuralpredictors' l1 sums the (N, 1) x (N,) broadcast in
 *   its code, an (N, N) outer product: l1 = (sum_n |m_n|_1) * (sum_n |f_n|_1) (`l1Form: 'neuralpredictors'`; its
 *   default weight 1.0; test/fixtures/factorized checks that this is what neuralpredictors computes). This
 *   project's default is the per-neuron form sum_n |m_n|_1 |f_n|_1 (`l1Form: 'per_neuron'`, the L1 norm of the
 *   readout's weight) at weight FACTORIZED_DEFAULT_REG_WEIGHT (readout_types.ts, README). reduction "mean"
 *   divides by N * C * h * w in either form.
 * - shared features (`shared_features`: model/feature_sharing.ts): `features` is the group's one (M, C) variable
 *   (`_features`, the same tf.Variable in every readout of the group) and neuron n's features are
 *   scales[n] * features[index[n]] (`scales` (N), torch (N, 1)), used by the forward pass and the regularizer of
 *   every readout; `constrain_pos` and `positive_weights` then clamp nothing (neuralpredictors clamps a temporary).
 * - `shift` is not supported.
 *
 * Layouts and state_dict mapping (neuralpredictors' own shapes; no transposes needed):
 *   readout.<key>.spatial    (N, h, w)  -> `spatial` (N, h, w), h = core output height, w = width
 *   readout.<key>._features  (N, C)     -> `features` (N, C)   (FullGaussian2d's are (1, C, 1, N); these are not)
 *   readout.<key>.bias       (N)        -> `bias` (N)          (absent when bias=False)
 * The forward takes the core's NHWC output (B, h, w, C), as the Gaussian readout does.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import type { FeatureSharing } from './feature_sharing';
import {
  DEFAULT_FACTORIZED_OPTIONS,
  FACTORIZED_DEFAULT_INIT_NOISE,
  type FactorizedOptions,
  type SharedFeaturesInit,
} from './readout_types';
import { variableFrom } from './variables';

/** neuralpredictors' epsilon in the mask normalization, added after the square root. */
export const FACTORIZED_NORM_EPS = 1e-6;

export type RegularizerReduction = 'sum' | 'mean';

export { DEFAULT_FACTORIZED_OPTIONS, type FactorizedOptions } from './readout_types';

export interface FactorizedReadoutInit {
  neurons: number;
  channels: number;
  /** Core output height h and width w (the mask's shape). */
  height: number;
  width: number;
  /** (N, h, w) row-major, neuralpredictors' `spatial`. */
  spatial: Float32Array;
  /** (N, C) row-major, neuralpredictors' `_features`; (M, C) with shared features. */
  features: Float32Array;
  /** (N); null: no bias term. */
  bias: Float32Array | null;
  options?: Partial<FactorizedOptions>;
  /** Shared features across readouts (neuralpredictors' share_features), or none. */
  sharing?: SharedFeaturesInit | null;
}

/** v.assign(t), then t disposed (assign shares t's data and leaves t registered as a tensor of its own). */
function assignFrom(v: tf.Variable, t: tf.Tensor): void {
  v.assign(t);
  t.dispose();
}

/** tf.customGrad for a function of one tensor (tfjs' typing passes the save function among the inputs). */
function unaryCustomGrad(
  f: (
    x: tf.Tensor,
    save: tf.GradSaveFunc,
  ) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor },
): (x: tf.Tensor) => tf.Tensor {
  type CustomFn = Parameters<typeof tf.customGrad>[0];
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => f(x, save)) as unknown as CustomFn) as unknown as (
    x: tf.Tensor,
  ) => tf.Tensor;
}

/** |x| with torch's gradient sign(x) (0 at 0). */
export const torchAbs = unaryCustomGrad((x, save) => {
  save([x]);
  return { value: tf.abs(x), gradFunc: (dy, saved) => dy.mul(tf.sign(saved[0])) };
});

/** max(x, 0) in the forward value, identity in the backward pass (neuralpredictors' `weight.data.clamp_min_(0)`). */
export const clampMinStraightThrough = unaryCustomGrad((x) => ({ value: tf.relu(x), gradFunc: (dy) => dy.clone() }));

/**
 * A new readout's arrays as neuralpredictors' `initialize` makes them: spatial and features N(0, init_noise)
 * (default 1e-3), bias = the mean response (`mean_activity`) or 0 without it. Draw order: spatial, features.
 */
export function initFactorizedReadout(
  shape: { neurons: number; channels: number; height: number; width: number },
  opts: {
    initNoise?: number;
    meanActivity?: ArrayLike<number> | null;
    bias?: boolean;
    seed?: number;
    rng?: Rng;
    options?: Partial<FactorizedOptions>;
  } = {},
): FactorizedReadoutInit {
  const { neurons: N, channels: C, height: H, width: W } = shape;
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const s = opts.initNoise ?? FACTORIZED_DEFAULT_INIT_NOISE;
  const spatial = rng.normalArray(N * H * W);
  for (let i = 0; i < spatial.length; i++) spatial[i] *= s;
  const features = rng.normalArray(N * C);
  for (let i = 0; i < features.length; i++) features[i] *= s;
  let bias: Float32Array | null = null;
  if (opts.bias ?? true) {
    bias = new Float32Array(N);
    if (opts.meanActivity) {
      if (opts.meanActivity.length !== N)
        throw new Error(`mean activity has ${opts.meanActivity.length} values for ${N} neurons`);
      bias.set(opts.meanActivity);
    }
  }
  return { ...shape, spatial, features, bias, options: opts.options };
}

export class FullFactorized2d {
  readonly kind = 'factorized' as const;
  readonly neurons: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly options: Readonly<FactorizedOptions>;
  /** (N, h, w): the raw mask parameter (before normalization and positivity). */
  readonly spatial: tf.Variable<tf.Rank.R3>;
  /** (N, C) own features, or (M, C) the shared ones (see the header). */
  readonly features: tf.Variable<tf.Rank.R2>;
  /** (N) each neuron's scale of its shared vector; null without sharing. */
  readonly scales: tf.Variable<tf.Rank.R1> | null;
  readonly sharing: FeatureSharing | null;
  /** (N) int32 copy of sharing.index for tf.gather; null without sharing. */
  private readonly sharingIndex: tf.Tensor1D | null;
  /** False when `features` was handed in by another readout of the group (which disposes it). */
  private readonly ownsFeatures: boolean;
  readonly bias: tf.Variable<tf.Rank.R1> | null;

  /**
   * @param sharedFeatures the (M, C) variable of the group's first readout, when this readout shares it (then
   *   init.features is not read, and this readout does not dispose it).
   */
  constructor(init: FactorizedReadoutInit, trainable = true, sharedFeatures?: tf.Variable<tf.Rank.R2>) {
    const { neurons: N, channels: C, height: H, width: W } = init;
    for (const [what, v] of [
      ['neurons', N],
      ['channels', C],
      ['height', H],
      ['width', W],
    ] as const) {
      if (!(Number.isInteger(v) && v > 0))
        throw new Error(`FullFactorized2d: ${what} must be a positive integer, got ${v}`);
    }
    const check = (what: string, arr: Float32Array | null, n: number, shape: string): void => {
      if (arr && arr.length !== n)
        throw new Error(`FullFactorized2d: ${what} has ${arr.length} values, expected ${n} ${shape}`);
    };
    const sh = init.sharing ?? null;
    if (sharedFeatures && !sh) throw new Error('FullFactorized2d: shared features given without a sharing index');
    if (sh) {
      if (sh.index.length !== N || sh.scales.length !== N)
        throw new Error(
          `FullFactorized2d: feature_sharing_index has ${sh.index.length} and scales ${sh.scales.length} values, expected ${N}`,
        );
      if (sh.index.some((k) => k < 0 || k >= sh.matches))
        throw new Error(`FullFactorized2d: feature_sharing_index outside 0..${sh.matches - 1}`);
    }
    const M = sh ? sh.matches : N;
    check('spatial', init.spatial, N * H * W, `(${N}, ${H}, ${W})`);
    if (sharedFeatures) {
      if (sharedFeatures.shape[0] !== M || sharedFeatures.shape[1] !== C)
        throw new Error(
          `FullFactorized2d: shared features are ${sharedFeatures.shape.join('x')}, expected ${M}x${C} (matches x channels)`,
        );
    } else check('features', init.features, M * C, `(${M}, ${C})`);
    check('bias', init.bias, N, `(${N})`);
    this.neurons = N;
    this.channels = C;
    this.height = H;
    this.width = W;
    this.options = { ...DEFAULT_FACTORIZED_OPTIONS, ...(init.options ?? {}) };
    this.spatial = variableFrom(tf.tensor3d(init.spatial, [N, H, W]), trainable);
    this.features = sharedFeatures ?? variableFrom(tf.tensor2d(init.features, [M, C]), trainable);
    this.ownsFeatures = !sharedFeatures;
    this.sharing = sh ? { index: Int32Array.from(sh.index), matches: sh.matches, original: sh.original } : null;
    this.scales = sh ? variableFrom(tf.tensor1d(sh.scales), trainable) : null;
    this.sharingIndex = sh ? tf.keep(tf.tensor1d(Int32Array.from(sh.index), 'int32')) : null;
    this.bias = init.bias ? variableFrom(tf.tensor1d(init.bias), trainable) : null;
  }

  /** neuralpredictors' `normalized_spatial`: the mask the forward pass uses, (N, h, w), differentiable. */
  normalizedSpatial(): tf.Tensor3D {
    const o = this.options;
    if (o.constrainPos && !o.normalize) {
      // `weight` is the parameter itself: clamp_min_(0) on it acts in place
      assignFrom(
        this.spatial,
        tf.tidy(() => tf.relu(this.spatial)),
      );
    }
    return tf.tidy(() => {
      let m: tf.Tensor3D = this.spatial;
      if (o.normalize) {
        const norm = m.square().sum([1, 2], true).sqrt().add(FACTORIZED_NORM_EPS);
        m = m.div(norm);
      } else {
        m = m.clone(); // a fresh tensor, so that callers may dispose it
      }
      if (o.constrainPos) {
        if (o.normalize) m = clampMinStraightThrough(m) as tf.Tensor3D;
      } else if (o.positiveSpatial) {
        m = torchAbs(m) as tf.Tensor3D;
      }
      return m;
    });
  }

  /**
   * In-place clamp of the features at 0 before a forward pass, as neuralpredictors' forward does with constrain_pos
   * (not with shared features: there its clamp acts on a temporary).
   */
  private clampFeaturesIfConstrained(): void {
    if (this.options.constrainPos && !this.sharing)
      assignFrom(
        this.features,
        tf.tidy(() => tf.relu(this.features)),
      );
  }

  /** What reading neuralpredictors' `weight` property does with positive_weights: clamp the features in place. */
  clampPositiveWeights(): void {
    if (this.options.positiveWeights && !this.sharing)
      assignFrom(
        this.features,
        tf.tidy(() => tf.relu(this.features)),
      );
  }

  /**
   * featureMap (B, h, w, C) NHWC -> (B, N): the readout before the output nonlinearity. Nothing is sampled, so
   * training and eval are the same; `_opts` (FullGaussian2d's sampling options) is accepted and ignored so that
   * either readout can be called the same way.
   */
  forward(featureMap: tf.Tensor4D, _opts?: { sample?: boolean }): tf.Tensor2D {
    const [B, H, W, C] = featureMap.shape;
    if (C !== this.channels || H !== this.height || W !== this.width) {
      throw new Error(
        `FullFactorized2d expects a ${this.height}x${this.width}x${this.channels} (h x w x channels) feature map, the core gives ${H}x${W}x${C}`,
      );
    }
    this.clampFeaturesIfConstrained();
    const N = this.neurons,
      HW = H * W;
    const mask = this.normalizedSpatial();
    try {
      return tf.tidy(() => {
        // Z[n, b, c] = sum_p m[n, p] x[b, p, c]: one (N, HW) x (HW, B*C) product
        const xt = featureMap
          .reshape([B, HW, C])
          .transpose([1, 0, 2])
          .reshape([HW, B * C]);
        const z = tf.matMul(mask.reshape([N, HW]), xt).reshape([N, B, C]);
        let y = z
          .mul(this.featuresOfNeurons().reshape([N, 1, C]))
          .sum(2)
          .transpose() as tf.Tensor2D; // (B, N)
        if (this.bias) y = y.add(this.bias);
        return y;
      });
    } finally {
      mask.dispose();
    }
  }

  /**
   * neuralpredictors' `regularizer(reduction)`: l1(reduction) * regWeight, l1 in the options' form (per neuron, or
   * neuralpredictors' outer product; see the header), divided by N * C * h * w for "mean". Differentiable.
   */
  regularizer(reduction: RegularizerReduction = 'sum'): tf.Scalar {
    return tf.tidy(() => this.l1(reduction).mul(this.options.regWeight) as tf.Scalar);
  }

  /** neuralpredictors' `l1(reduction)` (the regularizer without its weight), in the options' form. */
  l1(reduction: RegularizerReduction = 'sum'): tf.Scalar {
    const mask = this.normalizedSpatial();
    try {
      return tf.tidy(() => {
        let v: tf.Scalar;
        if (this.options.l1Form === 'neuralpredictors') {
          v = torchAbs(mask).sum().mul(torchAbs(this.featuresOfNeurons()).sum()) as tf.Scalar;
        } else {
          const m1 = torchAbs(mask).sum([1, 2]),
            f1 = torchAbs(this.featuresOfNeurons()).sum(1);
          v = m1.mul(f1).sum() as tf.Scalar;
        }
        if (reduction === 'mean') v = v.div(this.neurons * this.channels * this.height * this.width);
        return v;
      });
    } finally {
      mask.dispose();
    }
  }

  /** (N, C) each neuron's features, differentiable (no copy without sharing: call inside a tidy). */
  private featuresOfNeurons(): tf.Tensor2D {
    if (!this.scales) return this.features;
    return tf.gather(this.features, this.sharingIndex!, 0).mul(this.scales.reshape([this.neurons, 1])) as tf.Tensor2D;
  }

  /** (N, C) each neuron's features (with sharing: its scale times its shared vector); the caller disposes it. */
  neuronFeatures(): tf.Tensor2D {
    return tf.tidy(() => (this.scales ? this.featuresOfNeurons() : this.features.clone()));
  }

  /** Trainable parameters, in neuralpredictors' state_dict order: `_features`, `scales` (shared), `spatial`, `bias`. */
  variables(): tf.Variable[] {
    const v: tf.Variable[] = [this.features];
    if (this.scales) v.push(this.scales);
    v.push(this.spatial);
    if (this.bias) v.push(this.bias);
    return v;
  }

  /** Parameter count (the readout's own): N * (h * w + C) (+ N with bias); shared: N * (h * w + 1) (+ M * C in the original). */
  get parameterCount(): number {
    const N = this.neurons;
    const features = this.sharing
      ? N + (this.sharing.original ? this.sharing.matches * this.channels : 0)
      : N * this.channels;
    return N * this.height * this.width + features + (this.bias ? N : 0);
  }

  dispose(): void {
    this.spatial.dispose();
    if (this.ownsFeatures) this.features.dispose();
    this.scales?.dispose();
    this.sharingIndex?.dispose();
    this.bias?.dispose();
  }
}
