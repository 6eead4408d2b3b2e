/**
 * neuralpredictors' FullGaussian2d readout: each neuron reads the core's feature map at one position (bilinear,
 * grid_sample align_corners=True), takes a weighted sum over channels with its own feature vector and adds a bias.
 * The position is the Gaussian's mean mu in eval mode, and mu + Sigma noise (clamped to [-1, 1]) when sampling.
 * mu is a free parameter per neuron or comes from the cortex position network applied to source_grid.
 *
 * Layouts: features (C, N) (= torch (1, C, 1, N)); sigma as torch stores it without the leading 1:
 * full (N, 2, 2), uncorrelated (N, 2) (= torch (1, N, 1, 2)), isotropic (N, 1); mu (N, 2); positions (x, y).
 *
 * With shared features (neuralpredictors' `shared_features`, model/feature_sharing.ts) `features` is the group's
 * one (C, M) variable (torch `_features` (1, C, 1, M)), the same tf.Variable in every readout of the group, and
 * neuron n reads scales[n] * features[:, index[n]] (`neuronFeatures()`); `scales` (N) is the readout's own.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import type { FeatureSharing } from './feature_sharing';
import { gridSample } from './grid_sample';
import { PositionNetwork } from './position_network';
import { type GaussianReadoutInit, type GaussType, sigmaSize } from './readout_types';
import { variableFrom } from './variables';

export interface ReadoutForwardOptions {
  /** Draw positions from the Gaussians (training) instead of using the means (eval). Default false. */
  sample?: boolean;
  /** Standard-normal noise (B, N, 2) (or (B, N, 1, 2) as neuralpredictors draws it); drawn from `rng` if absent. */
  noise?: tf.Tensor | Float32Array;
  rng?: Rng;
}

export class FullGaussian2d {
  readonly kind = 'gaussian' as const;
  readonly neurons: number;
  readonly channels: number;
  readonly gaussType: GaussType;
  /** (C, N) own features, or (C, M) the shared ones (see the header). */
  readonly features: tf.Variable<tf.Rank.R2>;
  /** (N) each neuron's scale of its shared vector; null without sharing. */
  readonly scales: tf.Variable<tf.Rank.R1> | null;
  readonly sharing: FeatureSharing | null;
  /** (N) int32 copy of sharing.index for tf.gather; null without sharing. */
  private readonly sharingIndex: tf.Tensor1D | null;
  /** False when `features` was handed in by another readout of the group (which disposes it). */
  private readonly ownsFeatures: boolean;
  readonly bias: tf.Variable<tf.Rank.R1> | null;
  readonly sigma: tf.Variable;
  readonly mu: tf.Variable<tf.Rank.R2> | null;
  readonly positionNetwork: PositionNetwork | null;
  /** Buffer (not trained): the position network's input. */
  readonly sourceGrid: tf.Tensor2D | null;
  rng: Rng;

  /**
   * @param sharedFeatures the (C, M) variable of the group's first readout, when this readout shares it (then
   *   init.features is not read, and this readout does not dispose it).
   */
  constructor(init: GaussianReadoutInit, trainable = true, sharedFeatures?: tf.Variable<tf.Rank.R2>) {
    const { neurons: N, channels: C } = init;
    const check = (what: string, arr: Float32Array | null | undefined, n: number): void => {
      if (arr && arr.length !== n) throw new Error(`FullGaussian2d: ${what} has ${arr.length} values, expected ${n}`);
    };
    const sh = init.sharing ?? null;
    if (sharedFeatures && !sh) throw new Error('FullGaussian2d: shared features given without a sharing index');
    if (sh) {
      if (sh.index.length !== N)
        throw new Error(`FullGaussian2d: feature_sharing_index has ${sh.index.length} values, expected ${N}`);
      check('scales', sh.scales, N);
      if (sh.index.some((k) => k < 0 || k >= sh.matches))
        throw new Error(`FullGaussian2d: feature_sharing_index outside 0..${sh.matches - 1}`);
    }
    const M = sh ? sh.matches : N;
    if (sharedFeatures) {
      if (sharedFeatures.shape[0] !== C || sharedFeatures.shape[1] !== M)
        throw new Error(
          `FullGaussian2d: shared features are ${sharedFeatures.shape.join('x')}, expected ${C}x${M} (channels x matches)`,
        );
    } else check('features', init.features, C * M);
    check('bias', init.bias, N);
    check('sigma', init.sigma, N * sigmaSize(init.gaussType));
    check('mu', init.mu, N * 2);
    if (!init.mu === !init.positionNetwork) throw new Error('FullGaussian2d: give either mu or a position network');
    if (init.positionNetwork)
      check('source_grid', init.positionNetwork.sourceGrid, N * init.positionNetwork.sourceDims);
    this.neurons = N;
    this.channels = C;
    this.gaussType = init.gaussType;
    this.features = sharedFeatures ?? variableFrom(tf.tensor2d(init.features, [C, M]), trainable);
    this.ownsFeatures = !sharedFeatures;
    this.sharing = sh ? { index: Int32Array.from(sh.index), matches: sh.matches, original: sh.original } : null;
    this.scales = sh ? variableFrom(tf.tensor1d(sh.scales), trainable) : null;
    this.sharingIndex = sh ? tf.keep(tf.tensor1d(Int32Array.from(sh.index), 'int32')) : null;
    this.bias = init.bias ? variableFrom(tf.tensor1d(init.bias), trainable) : null;
    const sShape = init.gaussType === 'full' ? [N, 2, 2] : [N, sigmaSize(init.gaussType)];
    this.sigma = variableFrom(tf.tensor(init.sigma, sShape), trainable);
    this.mu = init.mu ? variableFrom(tf.tensor2d(init.mu, [N, 2]), trainable) : null;
    if (init.positionNetwork) {
      const p = init.positionNetwork;
      this.positionNetwork = new PositionNetwork(p.layers, p.finalTanh, trainable);
      this.sourceGrid = tf.keep(tf.tensor2d(p.sourceGrid, [N, p.sourceDims]));
    } else {
      this.positionNetwork = null;
      this.sourceGrid = null;
    }
    this.rng = new Rng(init.seed ?? 0);
  }

  /** The Gaussians' means mu (N, 2), before clamping. */
  mean(): tf.Tensor2D {
    if (this.positionNetwork) return this.positionNetwork.apply(this.sourceGrid!);
    return this.mu!.clone();
  }

  /**
   * neuralpredictors clamps a free mu to [-1, 1] in place (no_grad) every time it samples the grid; done here the
   * same way so that training follows the same path. (For a predicted mu that clamp acts on a temporary.)
   */
  private clampFreeMu(): void {
    if (this.mu) this.mu.assign(tf.tidy(() => tf.clipByValue(this.mu!, -1, 1)));
  }

  /** Eval-mode positions clamp(mu, -1, 1): (N, 2), (x, y). */
  grid(): tf.Tensor2D {
    this.clampFreeMu();
    return tf.tidy(() => tf.clipByValue(this.mean(), -1, 1));
  }

  /**
   * Positions clamp(Sigma noise + mu, -1, 1) for a batch: (B, N, 2). Full: per neuron the 2x2 matrix sigma[n]
   * (row = output coordinate, column = noise component) times the noise vector; uncorrelated / isotropic:
   * elementwise sigma * noise.
   */
  sampleGrid(batch: number, noise?: tf.Tensor | Float32Array, rng?: Rng): tf.Tensor3D {
    this.clampFreeMu();
    const N = this.neurons;
    return tf.tidy(() => {
      const z = this.noiseTensor(batch, noise, rng);
      const mu = this.mean().reshape([1, N, 2]);
      let offset: tf.Tensor;
      if (this.gaussType === 'full') {
        // sum_d sigma[n, c, d] * z[b, n, d]
        offset = this.sigma
          .reshape([1, N, 2, 2])
          .mul(z.reshape([batch, N, 1, 2]))
          .sum(3);
      } else {
        offset = z.mul(this.sigma.reshape([1, N, sigmaSize(this.gaussType)])); // isotropic broadcasts over (x, y)
      }
      return tf.clipByValue(offset.add(mu), -1, 1) as tf.Tensor3D;
    });
  }

  private noiseTensor(batch: number, noise: tf.Tensor | Float32Array | undefined, rng?: Rng): tf.Tensor3D {
    const n = batch * this.neurons * 2;
    if (noise === undefined) return tf.tensor3d((rng ?? this.rng).normalArray(n), [batch, this.neurons, 2]);
    const size = noise instanceof Float32Array ? noise.length : noise.size;
    if (size !== n) throw new Error(`noise has ${size} values, expected ${batch} x ${this.neurons} x 2`);
    return noise instanceof Float32Array
      ? tf.tensor3d(noise, [batch, this.neurons, 2])
      : noise.reshape([batch, this.neurons, 2]);
  }

  /** featureMap (B, H, W, C) -> (B, N): the readout before the output nonlinearity. */
  forward(featureMap: tf.Tensor4D, opts: ReadoutForwardOptions = {}): tf.Tensor2D {
    const [B, , , C] = featureMap.shape;
    if (C !== this.channels) throw new Error(`readout expects ${this.channels} feature channels, the core gives ${C}`);
    return tf.tidy(() => {
      const grid = opts.sample ? this.sampleGrid(B, opts.noise, opts.rng) : this.grid();
      const sampled = gridSample(featureMap, grid); // (B, N, C)
      let y = sampled.mul(this.featuresOfNeurons().transpose()).sum(2) as tf.Tensor2D; // (B, N)
      if (this.bias) y = y.add(this.bias);
      return y;
    });
  }

  /** (C, N) each neuron's features, differentiable (no copy without sharing: call inside a tidy). */
  private featuresOfNeurons(): tf.Tensor2D {
    if (!this.scales) return this.features;
    return tf.gather(this.features, this.sharingIndex!, 1).mul(this.scales) as tf.Tensor2D;
  }

  /** (C, N) each neuron's features (with sharing: its scale times its shared vector); the caller disposes it. */
  neuronFeatures(): tf.Tensor2D {
    return tf.tidy(() => (this.scales ? this.featuresOfNeurons() : this.features.clone()));
  }

  /**
   * sum |features|, neuralpredictors' feature_l1 (multiply by gamma_readout for the regularizer): with shared
   * features the L1 of the scaled features in the group's original readout, 0 in the others (as neuralpredictors).
   */
  featureL1(): tf.Scalar {
    if (this.sharing && !this.sharing.original) return tf.scalar(0);
    return tf.tidy(() => this.featuresOfNeurons().abs().sum() as tf.Scalar);
  }

  /** Trainable variables: `features` (shared: the group's one variable), bias, sigma, mu / network, scales. */
  variables(): tf.Variable[] {
    const v: tf.Variable[] = [this.features];
    if (this.bias) v.push(this.bias);
    v.push(this.sigma);
    if (this.mu) v.push(this.mu);
    if (this.positionNetwork) v.push(...this.positionNetwork.variables());
    if (this.scales) v.push(this.scales);
    return v;
  }

  dispose(): void {
    if (this.ownsFeatures) this.features.dispose();
    this.scales?.dispose();
    this.sharingIndex?.dispose();
    this.bias?.dispose();
    this.sigma.dispose();
    this.mu?.dispose();
    this.positionNetwork?.dispose();
    this.sourceGrid?.dispose();
  }
}
