/**
 * The cortex position network of FullGaussian2d (neuralpredictors `init_grid_predictor`) on the host:
 * `mu = [tanh](Linear_L(... ELU(Linear_0(sourceGrid))))`, one row per neuron, with its backward pass.
 * Plain typed-array loops: the network is tiny (2 -> 30 -> 2 for the Sensorium readout) and runs once per step.
 *
 * Layer k is `mu_transform.<2k>` in the state dict (the ELUs occupy the odd indices of the nn.Sequential).
 */
import type { PositionNetParams } from '../../model/readout_types';
import type { Rng } from '../../util/rng';

export interface PositionNetConfig {
  inputDimensions: number;
  /** Number of hidden layers (0: a single Linear(in -> 2)). */
  hiddenLayers: number;
  hiddenFeatures: number;
  finalTanh: boolean;
}

/** The Sensorium 2022 SOTA readout's position network. */
export const SENSORIUM_POSITION_NET: PositionNetConfig = {
  inputDimensions: 2,
  hiddenLayers: 1,
  hiddenFeatures: 30,
  finalTanh: true,
};

/** Layer sizes of the nn.Sequential neuralpredictors builds for `config`. */
export function positionNetShapes(config: PositionNetConfig): Array<[inFeatures: number, outFeatures: number]> {
  const { inputDimensions: d, hiddenLayers: h, hiddenFeatures: f } = config;
  const shapes: Array<[number, number]> = [[d, h > 0 ? f : 2]];
  for (let i = 0; i < h; i++) shapes.push([f, i < h - 1 ? f : 2]);
  return shapes;
}

/**
 * New layers initialized as PyTorch's nn.Linear does (kaiming_uniform with a = sqrt(5), which gives the bound
 * 1 / sqrt(fan_in) for the weight; the bias uses the same bound). Draw order: layer by layer, weight then bias.
 */
export function initPositionNet(config: PositionNetConfig, rng: Rng): PositionNetParams {
  const layers = positionNetShapes(config).map(([inF, outF]) => {
    const bound = 1 / Math.sqrt(inF);
    const weight = new Float32Array(inF * outF);
    for (let i = 0; i < weight.length; i++) weight[i] = rng.range(-bound, bound);
    const bias = new Float32Array(outF);
    for (let i = 0; i < outF; i++) bias[i] = rng.range(-bound, bound);
    return { weight, bias, inFeatures: inF, outFeatures: outF };
  });
  return { layers, finalTanh: config.finalTanh };
}

/** Activations kept by `positionNetForward` for the backward pass. */
export interface PositionNetTape {
  neurons: number;
  /** inputs[k]: input of layer k, (N, in_k); inputs[0] is the source grid. */
  inputs: Float64Array[];
  /** preacts[k]: output of layer k before its nonlinearity, (N, out_k). */
  preacts: Float64Array[];
  /** (N, 2) network output (after the tanh when present). */
  output: Float64Array;
}

/** mu (N, 2) for the source grid (N, inputDimensions). Computed in float64. */
export function positionNetForward(net: PositionNetParams, sourceGrid: Float32Array, neurons: number): PositionNetTape {
  const inputs: Float64Array[] = [];
  const preacts: Float64Array[] = [];
  let h = Float64Array.from(sourceGrid);
  const last = net.layers.length - 1;
  net.layers.forEach((layer, k) => {
    const { weight, bias, inFeatures: I, outFeatures: O } = layer;
    if (h.length !== neurons * I)
      throw new Error(`position network layer ${k} expects ${I} inputs per neuron, got ${h.length / neurons}`);
    inputs.push(h);
    const z = new Float64Array(neurons * O);
    for (let n = 0; n < neurons; n++) {
      for (let o = 0; o < O; o++) {
        let s = bias[o];
        for (let i = 0; i < I; i++) s += weight[o * I + i] * h[n * I + i];
        z[n * O + o] = s;
      }
    }
    preacts.push(z);
    const a = new Float64Array(z.length);
    if (k < last) for (let i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : Math.expm1(z[i]);
    else if (net.finalTanh) for (let i = 0; i < z.length; i++) a[i] = Math.tanh(z[i]);
    else a.set(z);
    h = a;
  });
  return { neurons, inputs, preacts, output: h };
}

/** Gradients of the layers, in the same layout as the parameters. */
export interface LinearGrads {
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * Back-propagates dL/dmu (N, 2) through the network; adds into `grads` (one entry per layer).
 */
export function positionNetBackward(
  net: PositionNetParams,
  tape: PositionNetTape,
  gradMu: ArrayLike<number>,
  grads: LinearGrads[],
): void {
  const N = tape.neurons;
  const last = net.layers.length - 1;
  let g = new Float64Array(N * 2);
  for (let i = 0; i < g.length; i++) g[i] = gradMu[i];
  for (let k = last; k >= 0; k--) {
    const { weight, inFeatures: I, outFeatures: O } = net.layers[k];
    const z = tape.preacts[k];
    // through the nonlinearity that follows layer k
    if (k < last) for (let i = 0; i < g.length; i++) g[i] *= z[i] > 0 ? 1 : Math.exp(z[i]);
    else if (net.finalTanh)
      for (let i = 0; i < g.length; i++) {
        const t = Math.tanh(z[i]);
        g[i] *= 1 - t * t;
      }
    const x = tape.inputs[k];
    const gw = grads[k].weight,
      gb = grads[k].bias;
    const gx = new Float64Array(N * I);
    for (let o = 0; o < O; o++) {
      let sb = 0;
      for (let n = 0; n < N; n++) sb += g[n * O + o];
      gb[o] += sb;
      for (let i = 0; i < I; i++) {
        let sw = 0;
        for (let n = 0; n < N; n++) sw += g[n * O + o] * x[n * I + i];
        gw[o * I + i] += sw;
      }
    }
    if (k > 0) {
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < I; i++) {
          let s = 0;
          for (let o = 0; o < O; o++) s += g[n * O + o] * weight[o * I + i];
          gx[n * I + i] = s;
        }
      }
    }
    g = gx;
  }
}

/**
 * neuralpredictors' source grid: the first `inputDimensions` columns of cell_motor_coordinates, centred on
 * their mean and divided by the largest absolute value (one scale for all columns, so the aspect is kept).
 */
export function normalizeSourceGrid(
  coordinates: ArrayLike<number>,
  neurons: number,
  columns: number,
  inputDimensions: number,
): Float32Array {
  if (inputDimensions > columns)
    throw new Error(
      `position network wants ${inputDimensions} coordinates per neuron, cell_motor_coordinates has ${columns}`,
    );
  const out = new Float64Array(neurons * inputDimensions);
  for (let d = 0; d < inputDimensions; d++) {
    let m = 0;
    for (let n = 0; n < neurons; n++) m += coordinates[n * columns + d];
    m /= neurons;
    for (let n = 0; n < neurons; n++) out[n * inputDimensions + d] = coordinates[n * columns + d] - m;
  }
  let maxAbs = 0;
  for (let i = 0; i < out.length; i++) maxAbs = Math.max(maxAbs, Math.abs(out[i]));
  const scale = maxAbs > 0 ? 1 / maxAbs : 1;
  return Float32Array.from(out, (v) => v * scale);
}
