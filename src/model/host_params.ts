/**
 * A tfjs readout's parameters copied to host arrays in PyTorch layouts (readout_types.ts): a FullGaussian2d's as
 * ReadoutHostParams, a FullFactorized2d's as FactorizedHostParams (with its masks and their geometry).
 */

import { effectiveMasks, maskGeometry } from './factorized_masks';
import type { FullFactorized2d } from './factorized_readout';
import type { FullGaussian2d } from './gaussian_readout';
import { type FactorizedHostParams, type ReadoutHostParams, sigmaMatrix } from './readout_types';

/** A tensor's values, then the tensor disposed (each neuron's features: with sharing, its scale * shared vector). */
async function copyOwned(t: { data(): Promise<unknown>; dispose(): void }): Promise<Float32Array> {
  try {
    return Float32Array.from((await t.data()) as Float32Array);
  } finally {
    t.dispose();
  }
}

/** A FullFactorized2d's arrays, its effective masks and their geometry (peak = the neuron's position). */
export async function factorizedHostParams(readout: FullFactorized2d): Promise<FactorizedHostParams> {
  const { neurons: N, channels, height: H, width: W } = readout;
  const copy = async (t: { data(): Promise<unknown> }): Promise<Float32Array> =>
    Float32Array.from((await t.data()) as Float32Array);
  const spatial = await copy(readout.spatial);
  const masks = effectiveMasks(spatial, N, H, W, readout.options);
  return {
    neurons: N,
    channels,
    height: H,
    width: W,
    options: { ...readout.options },
    features: await copyOwned(readout.neuronFeatures()),
    bias: readout.bias ? await copy(readout.bias) : new Float32Array(N),
    hasBias: readout.bias !== null,
    spatial,
    masks,
    geometry: maskGeometry(masks, N, H, W),
  };
}

export async function readoutHostParams(readout: FullGaussian2d): Promise<ReadoutHostParams> {
  const N = readout.neurons;
  const copy = async (t: { data(): Promise<unknown> }): Promise<Float32Array> =>
    Float32Array.from((await t.data()) as Float32Array);
  const sigmaRaw = await copy(readout.sigma);
  const sigma = new Float32Array(N * 4);
  for (let n = 0; n < N; n++) sigma.set(sigmaMatrix(sigmaRaw, readout.gaussType, n), 4 * n);
  const pn = readout.positionNetwork;
  const gridT = readout.grid();
  let grid: Float32Array;
  try {
    grid = await copy(gridT);
  } finally {
    gridT.dispose();
  }
  return {
    neurons: N,
    channels: readout.channels,
    gaussType: readout.gaussType,
    features: await copyOwned(readout.neuronFeatures()),
    bias: readout.bias ? await copy(readout.bias) : new Float32Array(N),
    hasBias: readout.bias !== null,
    sigma,
    sigmaRaw,
    mu: readout.mu ? await copy(readout.mu) : null,
    positionNetwork: pn
      ? {
          layers: await Promise.all(
            pn.weights.map(async (w, i) => ({
              weight: await copy(w),
              bias: await copy(pn.biases[i]),
              inFeatures: w.shape[1]!,
              outFeatures: w.shape[0]!,
            })),
          ),
          finalTanh: pn.finalTanh,
        }
      : null,
    sourceGrid: readout.sourceGrid ? await copy(readout.sourceGrid) : null,
    sourceDims: readout.sourceGrid ? readout.sourceGrid.shape[1] : 0,
    grid,
  };
}
