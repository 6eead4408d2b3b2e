/**
 * Model objects -> state_dict with neuralpredictors key names and PyTorch layouts, so that a trained readout (alone
 * or with its core) can be written as a .pth that neuralpredictors' load_state_dict accepts.
 */
import * as tf from '@tensorflow/tfjs';
import type { HostTensor, StateDict } from '../io/host_tensor';
import { type Stacked2dCore, tfConvToTorch } from './core';
import type { Encoder, Readout } from './encoder';
import type { FullFactorized2d } from './factorized_readout';
import type { FullGaussian2d } from './gaussian_readout';
import { sigmaShape } from './readout_types';

async function host(t: tf.Tensor, shape: number[]): Promise<HostTensor<'float32'>> {
  return { dtype: 'float32', shape, data: Float32Array.from((await t.data()) as Float32Array) };
}

function int64Scalar(v: number): HostTensor<'int64'> {
  return { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(Math.round(v))) };
}

/** neuralpredictors' `feature_sharing_index` buffer: (N) int64, as np.unique's inverse becomes in torch. */
function int64Vector(v: ArrayLike<number>): HostTensor<'int64'> {
  return { dtype: 'int64', shape: [v.length], data: BigInt64Array.from(Array.from(v), (x) => BigInt(x)) };
}

/** Keys `core.features.layer<i>.*` (no passthrough buffers; see encoderToStateDict). */
export async function coreToStateDict(core: Stacked2dCore): Promise<StateDict> {
  const sd: StateDict = new Map();
  for (const l of core.layers) {
    for (const c of l.convs) {
      const w = tf.tidy(() => tfConvToTorch(c.weight, c.spec.groups > 1));
      try {
        sd.set(c.spec.weightKey, await host(w, w.shape));
      } finally {
        w.dispose();
      }
      if (c.bias && c.spec.biasKey) sd.set(c.spec.biasKey, await host(c.bias, c.bias.shape));
    }
    if (l.norm && l.spec.batchNorm) {
      const p = l.spec.batchNorm.prefix;
      if (l.norm.weight) sd.set(`${p}weight`, await host(l.norm.weight, l.norm.weight.shape));
      if (l.norm.bias) sd.set(`${p}bias`, await host(l.norm.bias, l.norm.bias.shape));
      sd.set(`${p}running_mean`, await host(l.norm.runningMean, l.norm.runningMean.shape));
      sd.set(`${p}running_var`, await host(l.norm.runningVar, l.norm.runningVar.shape));
      sd.set(`${p}num_batches_tracked`, int64Scalar(l.norm.numBatchesTracked));
    }
    const C = l.spec.outChannels;
    if (l.bias && l.spec.biasKey) sd.set(l.spec.biasKey, await host(l.bias, [1, C, 1, 1]));
    if (l.scale && l.spec.scaleKey) sd.set(l.spec.scaleKey, await host(l.scale, [1, C, 1, 1]));
  }
  return sd;
}

/** Keys `readout.<key>.*` in the readout's parameter order (FullGaussian2d's or FullFactorized2d's). */
export async function readoutToStateDict(readout: Readout, key: string): Promise<StateDict> {
  return readout.kind === 'factorized' ? factorizedToStateDict(readout, key) : gaussianToStateDict(readout, key);
}

/**
 * FullFactorized2d: `_features` (N, C), `spatial` (N, h, w), `bias` (N) when it has one; neuralpredictors' order.
 * Shared features: `_features` (M, C) (the group's, under every readout), `scales` (N, 1), `feature_sharing_index`.
 */
async function factorizedToStateDict(readout: FullFactorized2d, key: string): Promise<StateDict> {
  const sd: StateDict = new Map();
  const p = `readout.${key}.`;
  const M = readout.sharing ? readout.sharing.matches : readout.neurons;
  sd.set(`${p}_features`, await host(readout.features, [M, readout.channels]));
  if (readout.scales) sd.set(`${p}scales`, await host(readout.scales, [readout.neurons, 1]));
  sd.set(`${p}spatial`, await host(readout.spatial, [readout.neurons, readout.height, readout.width]));
  if (readout.bias) sd.set(`${p}bias`, await host(readout.bias, [readout.neurons]));
  if (readout.sharing) sd.set(`${p}feature_sharing_index`, int64Vector(readout.sharing.index));
  return sd;
}

async function gaussianToStateDict(readout: FullGaussian2d, key: string): Promise<StateDict> {
  const sd: StateDict = new Map();
  const p = `readout.${key}.`;
  const N = readout.neurons;
  if (readout.mu) sd.set(`${p}_mu`, await host(readout.mu, [1, N, 1, 2]));
  sd.set(`${p}sigma`, await host(readout.sigma, sigmaShape(readout.gaussType, N)));
  // Shared features: the group's (1, C, 1, M) under every readout, then this readout's scales (1, 1, 1, N)
  sd.set(`${p}_features`, await host(readout.features, [1, readout.channels, 1, readout.sharing?.matches ?? N]));
  if (readout.scales) sd.set(`${p}scales`, await host(readout.scales, [1, 1, 1, N]));
  if (readout.bias) sd.set(`${p}bias`, await host(readout.bias, [N]));
  if (readout.positionNetwork) {
    const pn = readout.positionNetwork;
    // Buffers come before child modules in a PyTorch state_dict.
    sd.set(`${p}source_grid`, await host(readout.sourceGrid!, readout.sourceGrid!.shape));
    for (let i = 0; i < pn.weights.length; i++) {
      sd.set(`${p}mu_transform.${2 * i}.weight`, await host(pn.weights[i], pn.weights[i].shape));
      sd.set(`${p}mu_transform.${2 * i}.bias`, await host(pn.biases[i], pn.biases[i].shape));
    }
  }
  if (readout.sharing) sd.set(`${p}feature_sharing_index`, int64Vector(readout.sharing.index));
  return sd;
}

/** The full model: core (with passthrough buffers first, as PyTorch orders them) and every readout. */
export async function encoderToStateDict(encoder: Encoder): Promise<StateDict> {
  const sd: StateDict = new Map(encoder.passthrough);
  for (const [k, v] of await coreToStateDict(encoder.core)) sd.set(k, v);
  for (const [key, r] of encoder.readouts) for (const [k, v] of await readoutToStateDict(r, key)) sd.set(k, v);
  return sd;
}
