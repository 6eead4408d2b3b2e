/**
 * The whole model, neuralpredictors' FiringRateEncoder: core -> readout[data_key] -> elu(x + elu_offset) + 1.
 * A readout is a FullGaussian2d or a FullFactorized2d (`Readout`, told apart by `kind`); a checkpoint may hold
 * both kinds under different data keys. Host-facing methods take PyTorch-order images (B, C, H, W), already
 * normalized, and return PyTorch-order arrays; the differentiable methods take and return tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { type HostTensor, numel, type StateDict, shapeString } from '../io/host_tensor';
import type { ModelArchitecture } from './architecture';
import type { CoreForwardOptions, Stacked2dCore } from './core';
import type { FullFactorized2d } from './factorized_readout';
import type { FullGaussian2d, ReadoutForwardOptions } from './gaussian_readout';
import type { OutputNonlinearity } from './output_loss';
import { readoutClassName } from './readout_types';

/**
 * Either readout. Both have `kind`, `neurons`, `channels`, `features` (Gaussian (C, N), factorized (N, C): their
 * PyTorch layouts), `bias`, `forward(map NHWC, opts)` -> (B, N) before the output nonlinearity (the factorized one
 * ignores the sampling options), `variables()` and `dispose()`.
 */
export type Readout = FullGaussian2d | FullFactorized2d;

export interface EncoderForwardOptions extends ReadoutForwardOptions, CoreForwardOptions {
  /** Readout data key; default: the architecture's default readout. */
  readout?: string;
}

export interface BatchOptions {
  readout?: string;
  /** Images per forward pass (memory bound); default 16. */
  batchSize?: number;
}

/** Images as PyTorch order (B, C, H, W) float32: a host tensor, a tensor, or a flat array of whole images. */
export type ImagesNCHW = HostTensor | tf.Tensor4D | Float32Array;

export class Encoder {
  readonly architecture: ModelArchitecture;
  readonly core: Stacked2dCore;
  readonly readouts: Map<string, Readout>;
  readonly eluOffset: number;
  /**
   * The output nonlinearity (model/output_loss.ts): 'elu' = elu(x + elu_offset) + 1 (every published model),
   * 'softplus' or 'identity' for models trained that way (set by the trainer that chose it).
   */
  output: OutputNonlinearity = 'elu';
  /** state_dict entries the forward pass does not use (e.g. the Laplace regularizer's filter), kept for export. */
  readonly passthrough: StateDict;

  constructor(
    architecture: ModelArchitecture,
    core: Stacked2dCore,
    readouts: Map<string, Readout>,
    passthrough: StateDict = new Map(),
  ) {
    this.architecture = architecture;
    this.core = core;
    this.readouts = readouts;
    this.eluOffset = architecture.eluOffset;
    this.passthrough = passthrough;
  }

  get defaultReadout(): string | null {
    return this.readouts.has(this.architecture.defaultReadout ?? '')
      ? this.architecture.defaultReadout
      : (this.readouts.keys().next().value ?? null);
  }

  /** The readout `key` (default: the default readout), of either kind. */
  anyReadout(key?: string): Readout {
    const k = key ?? this.defaultReadout;
    if (k === null) throw new Error('this model has no readout (core only)');
    const r = this.readouts.get(k);
    if (!r) throw new Error(`no readout '${k}' (readouts: ${[...this.readouts.keys()].join(', ') || 'none'})`);
    return r;
  }

  /**
   * The Gaussian readout `key` (default: the default readout), for code that reads Gaussians (positions, sigma,
   * the position network); a factorized readout is an error that says so. `anyReadout` gives either kind.
   */
  readout(key?: string): FullGaussian2d {
    const r = this.anyReadout(key);
    if (r.kind !== 'gaussian') {
      throw new Error(
        `readout '${key ?? this.defaultReadout}' is a ${readoutClassName(r.kind)} (${r.kind}), not a FullGaussian2d: ` +
          'it has masks, not Gaussian positions',
      );
    }
    return r;
  }

  /** The factorized readout `key` (default: the default readout); a Gaussian one is an error that says so. */
  factorizedReadout(key?: string): FullFactorized2d {
    const r = this.anyReadout(key);
    if (r.kind !== 'factorized') {
      throw new Error(`readout '${key ?? this.defaultReadout}' is a FullGaussian2d (gaussian), not a FullFactorized2d`);
    }
    return r;
  }

  /** Images (B, C, H, W) -> core output (B, H', W', C') NHWC, differentiable. */
  coreForward(imagesNCHW: tf.Tensor4D, opts: CoreForwardOptions = {}): tf.Tensor4D {
    return tf.tidy(() => this.core.forward(nchwToNhwc(imagesNCHW), opts));
  }

  /** Images (B, C, H, W) -> responses (B, N) = elu(readout + elu_offset) + 1, differentiable. */
  forward(imagesNCHW: tf.Tensor4D, opts: EncoderForwardOptions = {}): tf.Tensor2D {
    const readout = this.anyReadout(opts.readout);
    return tf.tidy(() => this.outputNonlinearity(readout.forward(this.coreForward(imagesNCHW, opts), opts)));
  }

  /** Responses from a precomputed core output (B, H', W', C') NHWC (e.g. a frozen-core cache). */
  forwardFromCore(coreNHWC: tf.Tensor4D, opts: ReadoutForwardOptions & { readout?: string } = {}): tf.Tensor2D {
    const readout = this.anyReadout(opts.readout);
    return tf.tidy(() => this.outputNonlinearity(readout.forward(coreNHWC, opts)));
  }

  outputNonlinearity(y: tf.Tensor2D): tf.Tensor2D {
    if (this.output === 'softplus') return tf.softplus(y);
    if (this.output === 'identity') return tf.clone(y);
    return tf.tidy(() => tf.elu(this.eluOffset ? y.add(this.eluOffset) : y).add(1));
  }

  /** Throws a readable error if images of this shape cannot go through the model. */
  checkImageShape(shape: readonly number[], what = 'images'): void {
    const [c, h, w] = this.architecture.core.inputShape;
    if (shape.length !== 4)
      throw new Error(`${what} must be 4-D (batch, channels, height, width), got ${shapeString(shape)}`);
    if (shape[1] !== c || shape[2] !== h || shape[3] !== w) {
      throw new Error(
        `${what} have shape ${shapeString(shape)}, the model takes (batch, ${c}, ${h}, ${w}) (channels from the checkpoint, height and width from the config's input_shape)`,
      );
    }
  }

  /** Eval-mode responses (B, N) for any number of images, in batches. */
  async predict(images: ImagesNCHW, opts: BatchOptions = {}): Promise<HostTensor<'float32'>> {
    const readout = this.anyReadout(opts.readout);
    return this.batched(images, opts.batchSize, [readout.neurons], (x) => this.forward(x, { readout: opts.readout }));
  }

  /** Eval-mode core output (B, C', H', W') in PyTorch order. */
  async coreOutput(images: ImagesNCHW, opts: BatchOptions = {}): Promise<HostTensor<'float32'>> {
    const [c, h, w] = this.architecture.core.outputShape;
    return this.batched(images, opts.batchSize, [c, h, w], (x) => this.coreForward(x).transpose([0, 3, 1, 2]));
  }

  private async batched(
    images: ImagesNCHW,
    batchSize: number | undefined,
    itemShape: number[],
    f: (x: tf.Tensor4D) => tf.Tensor,
  ): Promise<HostTensor<'float32'>> {
    const [c, h, w] = this.architecture.core.inputShape;
    let data: Float32Array | null = null;
    let tensor: tf.Tensor4D | null = null;
    let shape: number[];
    if (images instanceof tf.Tensor) {
      tensor = images;
      shape = images.shape;
    } else if (images instanceof Float32Array) {
      if (images.length % (c * h * w) !== 0)
        throw new Error(`${images.length} values are not a whole number of ${c}x${h}x${w} images`);
      data = images;
      shape = [images.length / (c * h * w), c, h, w];
    } else {
      if (images.dtype !== 'float32') throw new Error(`images must be float32, got ${images.dtype}`);
      data = images.data as Float32Array;
      shape = images.shape;
    }
    this.checkImageShape(shape);
    const B = shape[0];
    const per = numel(itemShape);
    const out = new Float32Array(B * per);
    const bs = Math.max(1, Math.floor(batchSize ?? 16));
    const img = c * h * w;
    for (let start = 0; start < B; start += bs) {
      const n = Math.min(bs, B - start);
      const y = tf.tidy(() => {
        const x = tensor
          ? tensor.slice([start, 0, 0, 0], [n, c, h, w])
          : tf.tensor4d(data!.subarray(start * img, (start + n) * img), [n, c, h, w]);
        return f(x);
      });
      try {
        out.set((await y.data()) as Float32Array, start * per);
      } finally {
        y.dispose();
      }
    }
    return { dtype: 'float32', shape: [B, ...itemShape], data: out };
  }

  variables(): tf.Variable[] {
    return [...this.core.trainableVariables(), ...[...this.readouts.values()].flatMap((r) => r.variables())];
  }

  dispose(): void {
    this.core.dispose();
    for (const r of this.readouts.values()) r.dispose();
  }
}

/** (B, C, H, W) -> (B, H, W, C); a reshape when C = 1. */
export function nchwToNhwc(x: tf.Tensor4D): tf.Tensor4D {
  const [b, c, h, w] = x.shape;
  return c === 1 ? x.reshape([b, h, w, 1]) : x.transpose([0, 2, 3, 1]);
}

/** (B, H, W, C) -> (B, C, H, W). */
export function nhwcToNchw(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return c === 1 ? x.reshape([b, 1, h, w]) : x.transpose([0, 3, 1, 2]);
}
