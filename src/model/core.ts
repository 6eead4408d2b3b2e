/**
 * neuralpredictors' Stacked2dCore in tfjs, NHWC inside: per layer a conv (plain, or depth-separable 1x1 -> kxk
 * depthwise -> 1x1), BatchNorm (eval: running statistics; training: batch statistics and running-average
 * updates as torch.nn.BatchNorm2d), optional Bias2D/Scale2D, ELU; the output concatenates the `stack` layers.
 * The same class runs a TransferLearningCore (transfer_learning_core.ts describes it in these layer terms): the
 * image repeated to the network's channels, then per layer conv + bias, [OutBatchNorm], ReLU, [2x2 max pool].
 * Weights are tf.Variables in tfjs layouts (conv (kh, kw, in, out), depthwise (kh, kw, C, 1)).
 */
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../io/host_tensor';
import { toFloat32 } from '../io/host_tensor';
import type { ConvSpec, CoreArchitecture, CoreLayerSpec } from './architecture';
import { conv2d, depthwiseConv2d } from './conv_ops';
import { variableFrom } from './variables';

/** torch.nn.BatchNorm2d's default. */
export const BATCH_NORM_EPS = 1e-5;

export interface ConvParams {
  spec: ConvSpec;
  /** tfjs layout: (kh, kw, in, out), or (kh, kw, C, 1) for the depthwise conv. */
  weight: tf.Variable<tf.Rank.R4>;
  bias: tf.Variable<tf.Rank.R1> | null;
}

export interface BatchNormParams {
  runningMean: tf.Variable<tf.Rank.R1>;
  runningVar: tf.Variable<tf.Rank.R1>;
  weight: tf.Variable<tf.Rank.R1> | null;
  bias: tf.Variable<tf.Rank.R1> | null;
  numBatchesTracked: number;
}

export interface CoreLayerParams {
  spec: CoreLayerSpec;
  convs: ConvParams[];
  norm: BatchNormParams | null;
  /** Bias2DLayer / Scale2DLayer, stored as (C,). */
  bias: tf.Variable<tf.Rank.R1> | null;
  scale: tf.Variable<tf.Rank.R1> | null;
}

/** PyTorch (out, in, kh, kw) -> tfjs (kh, kw, in, out); depthwise (C, 1, kh, kw) -> (kh, kw, C, 1). */
export function torchConvToTf(t: tf.Tensor4D, depthwise: boolean): tf.Tensor4D {
  return tf.transpose(t, depthwise ? [2, 3, 0, 1] : [2, 3, 1, 0]);
}

/** Inverse of torchConvToTf. */
export function tfConvToTorch(t: tf.Tensor4D, depthwise: boolean): tf.Tensor4D {
  return tf.transpose(t, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
}

export interface CoreForwardOptions {
  /** BatchNorm with batch statistics, updating the running averages (PyTorch train()). Default false (eval). */
  training?: boolean;
}

export class Stacked2dCore {
  readonly arch: CoreArchitecture;
  readonly layers: CoreLayerParams[];

  /** `tensor(key)` returns the state_dict entry (PyTorch layout) for every key the architecture names. */
  constructor(arch: CoreArchitecture, tensor: (key: string) => HostTensor, trainable = true) {
    this.arch = arch;
    const vec = (key: string): tf.Variable<tf.Rank.R1> => {
      const t = tensor(key);
      return variableFrom(tf.tensor1d(toFloat32(t)), trainable);
    };
    const stat = (key: string): tf.Variable<tf.Rank.R1> => variableFrom(tf.tensor1d(toFloat32(tensor(key))), false);
    this.layers = arch.layers.map((spec) => {
      const convs = spec.convs.map((c): ConvParams => {
        const w = tensor(c.weightKey);
        const weight = tf.tidy(() =>
          torchConvToTf(tf.tensor4d(toFloat32(w), w.shape as [number, number, number, number]), c.groups > 1),
        );
        return { spec: c, weight: variableFrom(weight, trainable), bias: c.biasKey ? vec(c.biasKey) : null };
      });
      let norm: BatchNormParams | null = null;
      if (spec.batchNorm) {
        const p = spec.batchNorm.prefix;
        let nbt = 0;
        try {
          const t = tensor(`${p}num_batches_tracked`);
          nbt = Number(toFloat32(t)[0] ?? 0);
        } catch {
          /* absent in some checkpoints; only matters for momentum=null */
        }
        norm = {
          runningMean: stat(`${p}running_mean`),
          runningVar: stat(`${p}running_var`),
          weight: spec.batchNorm.affine ? vec(`${p}weight`) : null,
          bias: spec.batchNorm.affine ? vec(`${p}bias`) : null,
          numBatchesTracked: nbt,
        };
      }
      return {
        spec,
        convs,
        norm,
        bias: spec.biasKey ? vec(spec.biasKey) : null,
        scale: spec.scaleKey ? vec(spec.scaleKey) : null,
      };
    });
  }

  /** x (B, H, W, C_in) -> (B, H', W', C_out). */
  forward(x: tf.Tensor4D, opts: CoreForwardOptions = {}): tf.Tensor4D {
    const training = opts.training ?? false;
    return tf.tidy(() => {
      const outs: tf.Tensor4D[] = [];
      let h = this.repeatInput(x);
      for (const layer of this.layers) {
        h = this.layerForward(h, layer, training);
        outs.push(h);
      }
      const picked = this.arch.stack.map((i) => outs[i]);
      return picked.length === 1 ? picked[0] : tf.concat(picked, 3);
    });
  }

  /**
   * Layer `index`'s conv output before its BatchNorm, with layers 0..index-1 in eval mode: what the BatchNorm
   * normalizes (for fitting its statistics to images, experiments/batchnorm_fit.ts). x (B, H, W, C_in).
   */
  preNormActivation(x: tf.Tensor4D, index: number): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.repeatInput(x);
      for (let k = 0; k < index; k++) h = this.layerForward(h, this.layers[k], false);
      return this.convs(h, this.layers[index]);
    });
  }

  /** A greyscale image repeated to the channels an RGB network takes (TransferLearningCore.forward). */
  private repeatInput(x: tf.Tensor4D): tf.Tensor4D {
    const r = this.arch.inputRepeat ?? 1;
    return r > 1 ? tf.tile(x, [1, 1, 1, r]) : x;
  }

  private convs(h: tf.Tensor4D, layer: CoreLayerParams): tf.Tensor4D {
    for (const c of layer.convs) {
      const g = { stride: c.spec.stride, dilation: c.spec.dilation, padding: c.spec.padding };
      h = c.spec.groups > 1 ? depthwiseConv2d(h, c.weight, g) : conv2d(h, c.weight, g);
      if (c.bias) h = h.add(c.bias);
    }
    return h;
  }

  private layerForward(h: tf.Tensor4D, layer: CoreLayerParams, training: boolean): tf.Tensor4D {
    h = this.convs(h, layer);
    if (layer.norm) h = training ? this.batchNormTrain(h, layer.norm) : batchNormEval(h, layer.norm);
    if (layer.bias) h = h.add(layer.bias);
    if (layer.scale) h = h.mul(layer.scale);
    if (layer.spec.elu) h = tf.elu(h);
    if (layer.spec.relu) h = tf.relu(h);
    const p = layer.spec.maxPool;
    if (p) h = tf.maxPool(h, p.kernel, p.stride, 'valid');
    return h;
  }

  /**
   * torch BatchNorm2d in train(): normalize with the batch mean and biased variance; running_mean/var move by
   * `momentum` towards the batch mean and the unbiased variance (cumulative average when momentum is null).
   */
  private batchNormTrain(h: tf.Tensor4D, p: BatchNormParams): tf.Tensor4D {
    const n = h.shape[0] * h.shape[1] * h.shape[2];
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    p.numBatchesTracked += 1;
    const m = this.arch.momentum ?? 1 / p.numBatchesTracked;
    tf.tidy(() => {
      // Not connected to the loss, so no gradient flows through these updates.
      const vNew = variance.mul(n > 1 ? n / (n - 1) : 1);
      p.runningMean.assign(p.runningMean.mul(1 - m).add(mean.mul(m)));
      p.runningVar.assign(p.runningVar.mul(1 - m).add(vNew.mul(m)));
    });
    let y = h.sub(mean).mul(tf.rsqrt(variance.add(BATCH_NORM_EPS)));
    if (p.weight) y = y.mul(p.weight);
    if (p.bias) y = y.add(p.bias);
    return y as tf.Tensor4D;
  }

  /** Parameters a fine-tuning optimizer may change (not the running statistics). */
  trainableVariables(): tf.Variable[] {
    const v: tf.Variable[] = [];
    for (const l of this.layers) {
      for (const c of l.convs) {
        v.push(c.weight);
        if (c.bias) v.push(c.bias);
      }
      if (l.norm?.weight) v.push(l.norm.weight);
      if (l.norm?.bias) v.push(l.norm.bias);
      if (l.bias) v.push(l.bias);
      if (l.scale) v.push(l.scale);
    }
    return v;
  }

  /** The first layer's filters (kh, kw, C_in, C_out), e.g. for the Laplace regularizer or for display. */
  get firstLayerWeight(): tf.Variable<tf.Rank.R4> {
    return this.layers[0].convs[0].weight;
  }

  dispose(): void {
    for (const l of this.layers) {
      for (const c of l.convs) {
        c.weight.dispose();
        c.bias?.dispose();
      }
      if (l.norm) {
        l.norm.runningMean.dispose();
        l.norm.runningVar.dispose();
        l.norm.weight?.dispose();
        l.norm.bias?.dispose();
      }
      l.bias?.dispose();
      l.scale?.dispose();
    }
  }
}

/** (v - running_mean) / sqrt(running_var + eps) * weight + bias, as one scale and shift per channel. */
function batchNormEval(h: tf.Tensor4D, p: BatchNormParams): tf.Tensor4D {
  let scale = tf.rsqrt(p.runningVar.add(BATCH_NORM_EPS));
  if (p.weight) scale = scale.mul(p.weight);
  let shift = p.runningMean.mul(scale).neg();
  if (p.bias) shift = shift.add(p.bias);
  return h.mul(scale).add(shift);
}
