/**
 * A readout's parameters copied to host arrays in PyTorch layouts, for code that computes the readout without
 * tfjs (the trainer's fused CPU kernel, views, exports).
 */
import type { GaussType } from './config';
import type { FullGaussian2d } from './gaussian_readout';

export interface ReadoutHostParams {
  neurons: number;
  channels: number;
  gaussType: GaussType;
  /** (C, N) = torch `_features` (1, C, 1, N) flattened. */
  features: Float32Array;
  /** (N); zeros when the readout has no bias (see hasBias). */
  bias: Float32Array;
  hasBias: boolean;
  /** (N, 2, 2): the matrix that multiplies the noise (diagonal for 'uncorrelated' and 'isotropic'). */
  sigma: Float32Array;
  /** As stored: full (N, 2, 2), uncorrelated (N, 2), isotropic (N, 1). */
  sigmaRaw: Float32Array;
  /** Free means (N, 2), or null with a position network. */
  mu: Float32Array | null;
  positionNetwork: {
    /** Linear layers in order, weights (out, in) row-major; ELU between, tanh after the last if finalTanh. */
    layers: { weight: Float32Array; bias: Float32Array; inFeatures: number; outFeatures: number }[];
    finalTanh: boolean;
  } | null;
  /** (N, D) position-network input, or null. */
  sourceGrid: Float32Array | null;
  sourceDims: number;
  /** Eval positions clamp(mu, -1, 1), (N, 2) (x, y). */
  grid: Float32Array;
}

export async function readoutHostParams(readout: FullGaussian2d): Promise<ReadoutHostParams> {
  const N = readout.neurons;
  const copy = async (t: { data(): Promise<unknown> }): Promise<Float32Array> => Float32Array.from(await t.data() as Float32Array);
  const sigmaRaw = await copy(readout.sigma);
  const sigma = new Float32Array(N * 4);
  for (let n = 0; n < N; n++) {
    if (readout.gaussType === 'full') sigma.set(sigmaRaw.subarray(4 * n, 4 * n + 4), 4 * n);
    else {
      const sx = readout.gaussType === 'uncorrelated' ? sigmaRaw[2 * n] : sigmaRaw[n];
      const sy = readout.gaussType === 'uncorrelated' ? sigmaRaw[2 * n + 1] : sigmaRaw[n];
      sigma[4 * n] = sx;
      sigma[4 * n + 3] = sy;
    }
  }
  const pn = readout.positionNetwork;
  const gridT = readout.grid();
  let grid: Float32Array;
  try { grid = await copy(gridT); } finally { gridT.dispose(); }
  return {
    neurons: N,
    channels: readout.channels,
    gaussType: readout.gaussType,
    features: await copy(readout.features),
    bias: readout.bias ? await copy(readout.bias) : new Float32Array(N),
    hasBias: readout.bias !== null,
    sigma,
    sigmaRaw,
    mu: readout.mu ? await copy(readout.mu) : null,
    positionNetwork: pn ? {
      layers: await Promise.all(pn.weights.map(async (w, i) => ({
        weight: await copy(w), bias: await copy(pn.biases[i]), inFeatures: w.shape[1]!, outFeatures: w.shape[0]!,
      }))),
      finalTanh: pn.finalTanh,
    } : null,
    sourceGrid: readout.sourceGrid ? await copy(readout.sourceGrid) : null,
    sourceDims: readout.sourceGrid ? readout.sourceGrid.shape[1] : 0,
    grid,
  };
}
