/**
 * The end-to-end trainer's losses in tfjs ops (trainer.ts lossTensor, what autograd differentiates through the core)
 * against the per-entry definitions the fused readout kernel uses (model/output_loss.ts, themselves checked against
 * PyTorch in test/train/readout/loss_torch.test.ts): value and dL/dr for Poisson, MSE and the mean-variance
 * Gaussian, on positive rates and targets with negative values (Poisson: |t|). Tolerance 1e-4 relative (float32 tfjs
 * against float64 sums).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { LOSS_NAMES, lossGrad, lossValue } from '../../../src/model/output_loss';
import { lossTensor } from '../../../src/train/end_to_end/trainer';
import { poissonEps } from '../../../src/train/optim/losses';
import { Rng } from '../../../src/util/rng';

beforeAll(() => initNodeBackend('cpu'));

describe('end-to-end loss tensors', () => {
  it.each(LOSS_NAMES)('%s: value and gradient match model/output_loss.ts', (loss) => {
    const rng = new Rng(3);
    const B = 6,
      N = 9;
    const r = Float32Array.from({ length: B * N }, () => rng.range(0.05, 3));
    const t = Float32Array.from({ length: B * N }, () => rng.range(-1, 3));
    if (loss === 'poisson') for (let i = 0; i < t.length; i++) t[i] = Math.abs(t[i]);
    const before = tf.memory().numTensors;
    const tt = tf.tensor2d(t, [B, N]);
    const { value, grad } = tf.tidy(() => {
      const g = tf.valueAndGrad((x: tf.Tensor) => lossTensor(loss, x as tf.Tensor2D, tt, poissonEps));
      const { value, grad } = g(tf.tensor2d(r, [B, N]));
      return { value: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
    });
    tt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    let want = 0;
    for (let i = 0; i < r.length; i++) want += lossValue(loss, r[i], t[i], poissonEps);
    expect(Math.abs(value - want)).toBeLessThan(1e-4 * Math.abs(want));
    for (let i = 0; i < r.length; i++) {
      const g = lossGrad(loss, r[i], t[i], poissonEps);
      expect(Math.abs(grad[i] - g), `${loss} dL/dr[${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(g)));
    }
  });
});
