/**
 * The fused readout's loss and gradients against neuralpredictors/PyTorch autograd on the sensorium-sota fixture:
 * core output of all 8 inputs from the model's tfjs core, readout at the Gaussian means, summed Poisson loss
 * (eps 1e-12 as the fixture README states).
 */

import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { toFloat32 } from '../../../src/io/host_tensor';
import { DEFAULT_MODEL_CONFIG } from '../../../src/model/config';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import { readoutParams } from '../../../src/train/readout/readout_params';
import { readoutLossAndGrads, StepWorkspace } from '../../../src/train/readout/readout_step';
import { gradExcess, npy, readoutFromStateDict, SOTA, SOTA_KEY, sotaStateDict } from '../helpers';

describe('readout gradients vs the sensorium-sota fixture', () => {
  let grads: Map<string, Float32Array>;
  let loss: number;
  let C = 0,
    N = 0;

  beforeAll(async () => {
    await initNodeBackend('wasm');
    const sd = await sotaStateDict();
    const encoder = encoderFromStateDict(sd, { ...DEFAULT_MODEL_CONFIG }, 'model.pth', {
      readouts: [],
      trainable: false,
    });
    const inputs = npy(`${SOTA}/inputs.npy`);
    const y = tf.tidy(() =>
      encoder.coreForward(tf.tensor4d(toFloat32(inputs), inputs.shape as [number, number, number, number])),
    );
    const [B, H, W, Cc] = y.shape;
    const all = (await y.data()) as Float32Array;
    y.dispose();
    encoder.dispose();
    const maps = Array.from({ length: B }, (_, b) => all.slice(b * H * W * Cc, (b + 1) * H * W * Cc));
    const r = readoutFromStateDict(sd, SOTA_KEY);
    C = r.channels;
    N = r.neurons;
    const params = readoutParams(r);
    const step = readoutLossAndGrads({
      readout: r,
      params,
      geometry: { height: H, width: W, channels: Cc },
      maps,
      targets: toFloat32(npy(`${SOTA}/targets.npy`)),
      noise: null,
      lossScale: 1,
      gammaReadout: 0,
      logEps: 1e-12,
      workspace: new StepWorkspace(),
    });
    loss = step.loss;
    grads = new Map(params.map((p) => [p.name, p.grad]));
  });

  it('loss matches loss.json (relative 1e-5)', () => {
    const ref = (JSON.parse(readFileSync(`${SOTA}/loss.json`, 'utf8')) as { loss_float64: number }).loss_float64;
    expect(Math.abs(loss - ref) / Math.abs(ref)).toBeLessThan(1e-5);
  });

  it('grad_features and grad_bias', () => {
    const gf = toFloat32(npy(`${SOTA}/grad_features.npy`)); // (1, C, 1, N)
    const ours = grads.get('_features')!; // (N, C)
    const t = new Float32Array(C * N);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) t[c * N + n] = ours[n * C + c];
    expect(gradExcess(t, gf)).toBeLessThanOrEqual(1);
    expect(gradExcess(grads.get('bias')!, toFloat32(npy(`${SOTA}/grad_bias.npy`)))).toBeLessThanOrEqual(1);
  });

  it('grad of the position network (through the interpolation weights)', () => {
    for (const name of [
      'mu_transform.0.weight',
      'mu_transform.0.bias',
      'mu_transform.2.weight',
      'mu_transform.2.bias',
    ]) {
      const ref = toFloat32(npy(`${SOTA}/grad_${name.replace(/\./g, '_')}.npy`));
      const excess = gradExcess(grads.get(name)!, ref);
      expect(excess, name).toBeLessThanOrEqual(1);
    }
  });

  it('sigma gets no gradient at the means', () => {
    expect(grads.get('sigma')!.every((v) => v === 0)).toBe(true);
  });
});
