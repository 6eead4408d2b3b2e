/**
 * Readout positions of FullGaussian2d (neuralpredictors `sample_grid`): while training, each image draws its
 * own position per neuron, p = clamp(mu + Sigma . eps, -1, 1) with eps ~ N(0, I); at evaluation p = clamp(mu).
 *
 * Sigma by gauss_type (PyTorch shapes of the `sigma` parameter):
 *   full         (1, N, 2, 2): p_c = mu_c + sum_d sigma[n, c, d] * eps_d   (einsum "ancd,bnid->bnic")
 *   uncorrelated (1, N, 1, 2): p_c = mu_c + sigma[n, c] * eps_c
 *   isotropic    (1, N, 1, 1): p_c = mu_c + sigma[n] * eps_c
 * torch.clamp passes the gradient where min <= value <= max (bounds included) and blocks it elsewhere.
 */
import type { GaussType } from '../../model/readout_types';
import type { Rng } from '../../util/rng';

/** Fills `eps` (B, N, 2) with standard normal draws, in PyTorch's (b, n, d) order. */
export function drawNoise(rng: Rng, eps: Float32Array): void {
  for (let i = 0; i < eps.length; i++) eps[i] = rng.normal();
}

/**
 * Sampled positions for a batch: writes `positions` (B, N, 2) and `inside` (B, N, 2; 1 where the unclamped
 * value lay within [-1, 1], i.e. where the gradient passes the clamp).
 */
export function samplePositions(
  gaussType: GaussType,
  mu: ArrayLike<number>,
  sigma: Float32Array,
  eps: Float32Array,
  neurons: number,
  positions: Float32Array,
  inside: Uint8Array,
): void {
  const N = neurons;
  const B = eps.length / (2 * N);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const k = 2 * (b * N + n);
      const e0 = eps[k],
        e1 = eps[k + 1];
      let px: number, py: number;
      if (gaussType === 'full') {
        px = sigma[4 * n] * e0 + sigma[4 * n + 1] * e1 + mu[2 * n];
        py = sigma[4 * n + 2] * e0 + sigma[4 * n + 3] * e1 + mu[2 * n + 1];
      } else if (gaussType === 'uncorrelated') {
        px = e0 * sigma[2 * n] + mu[2 * n];
        py = e1 * sigma[2 * n + 1] + mu[2 * n + 1];
      } else {
        px = e0 * sigma[n] + mu[2 * n];
        py = e1 * sigma[n] + mu[2 * n + 1];
      }
      // float32 rounding of the pre-clamp value, as PyTorch computes it
      px = Math.fround(px);
      py = Math.fround(py);
      inside[k] = px >= -1 && px <= 1 ? 1 : 0;
      inside[k + 1] = py >= -1 && py <= 1 ? 1 : 0;
      positions[k] = px < -1 ? -1 : px > 1 ? 1 : px;
      positions[k + 1] = py < -1 ? -1 : py > 1 ? 1 : py;
    }
  }
}

/** Eval positions clamp(mu), (N, 2). */
export function meanPositions(
  mu: ArrayLike<number>,
  neurons: number,
  out = new Float32Array(neurons * 2),
): Float32Array {
  for (let i = 0; i < neurons * 2; i++) {
    const v = mu[i];
    out[i] = v < -1 ? -1 : v > 1 ? 1 : v;
  }
  return out;
}

/**
 * Backward of `samplePositions`: from dL/dp (B, N, 2) adds dL/dmu (N, 2) and dL/dsigma into the gradients.
 */
export function samplePositionsBackward(
  gaussType: GaussType,
  eps: Float32Array,
  inside: Uint8Array,
  gradPositions: Float32Array,
  neurons: number,
  gradMu: Float64Array | Float32Array,
  gradSigma: Float32Array,
): void {
  const N = neurons;
  const B = eps.length / (2 * N);
  for (let n = 0; n < N; n++) {
    let gmx = 0,
      gmy = 0,
      s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let b = 0; b < B; b++) {
      const k = 2 * (b * N + n);
      const gx = inside[k] ? gradPositions[k] : 0;
      const gy = inside[k + 1] ? gradPositions[k + 1] : 0;
      const e0 = eps[k],
        e1 = eps[k + 1];
      gmx += gx;
      gmy += gy;
      if (gaussType === 'full') {
        s0 += gx * e0;
        s1 += gx * e1;
        s2 += gy * e0;
        s3 += gy * e1;
      } else if (gaussType === 'uncorrelated') {
        s0 += gx * e0;
        s1 += gy * e1;
      } else {
        s0 += gx * e0 + gy * e1;
      }
    }
    gradMu[2 * n] += gmx;
    gradMu[2 * n + 1] += gmy;
    if (gaussType === 'full') {
      gradSigma[4 * n] += s0;
      gradSigma[4 * n + 1] += s1;
      gradSigma[4 * n + 2] += s2;
      gradSigma[4 * n + 3] += s3;
    } else if (gaussType === 'uncorrelated') {
      gradSigma[2 * n] += s0;
      gradSigma[2 * n + 1] += s1;
    } else {
      gradSigma[n] += s0;
    }
  }
}
