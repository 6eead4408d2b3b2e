/**
 * neuralpredictors' "cortex" grid-mean predictor (FullGaussian2d.mu_transform): nn.Linear layers with ELU between
 * and an optional final tanh, mapping each neuron's source_grid (cortical) coordinates to its readout position
 * mu (x, y). Weights are kept in PyTorch's (out_features, in_features) layout so that export is a copy.
 */
import * as tf from '@tensorflow/tfjs';
import type { LinearParams } from './readout_types';
import { variableFrom } from './variables';

export class PositionNetwork {
  readonly weights: tf.Variable[];
  readonly biases: tf.Variable[];
  readonly finalTanh: boolean;

  constructor(layers: LinearParams[], finalTanh: boolean, trainable = true) {
    if (layers.length === 0) throw new Error('PositionNetwork needs at least one Linear layer');
    this.weights = layers.map((l) => variableFrom(tf.tensor2d(l.weight, [l.outFeatures, l.inFeatures]), trainable));
    this.biases = layers.map((l) => variableFrom(tf.tensor1d(l.bias), trainable));
    this.finalTanh = finalTanh;
  }

  get inputDimensions(): number {
    return this.weights[0].shape[1]!;
  }

  /** sourceGrid (N, D) -> mu (N, 2), unclamped. */
  apply(sourceGrid: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor2D = sourceGrid;
      this.weights.forEach((w, i) => {
        if (i > 0) h = tf.elu(h);
        h = tf.matMul(h, w, false, true).add(this.biases[i]);
      });
      return this.finalTanh ? tf.tanh(h) : h;
    });
  }

  variables(): tf.Variable[] {
    const out: tf.Variable[] = [];
    this.weights.forEach((w, i) => out.push(w, this.biases[i]));
    return out;
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }
}
