/**
 * One check for the end-to-end trainer's fused factorized batch (factorizedBatchGradients): its loss and every
 * gradient (core and readout) against tfjs autograd of the same Poisson loss with the readout's regularizer and the
 * Sensorium core regularizer, within |a - b| <= 1e-4 max|b| + 1e-3 |b|; no tensor left behind. Shared by
 * factorized.test.ts and feature_sharing.test.ts (a plain and a shared-feature readout).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { FusedFactorizedReadout } from '../../../src/kernels/factorized_readout';
import type { Encoder } from '../../../src/model/encoder';
import { nchwToNhwc } from '../../../src/model/encoder';
import { coreRegularizer, SENSORIUM_CORE_REGULARIZER } from '../../../src/train/end_to_end/regularizers';
import type { EndToEndScan } from '../../../src/train/end_to_end/scan_data';
import { factorizedBatchGradients } from '../../../src/train/end_to_end/trainer';
import type { Param } from '../../../src/train/readout/readout_params';

/** |a - b| <= 1e-4 max|b| + 1e-3 |b| everywhere; returns the worst ratio (<= 1 passes). */
export function excess(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let maxB = 0;
  for (let i = 0; i < b.length; i++) maxB = Math.max(maxB, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < b.length; i++)
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-4 * maxB + 1e-3 * Math.abs(b[i]) + 1e-12));
  return worst;
}

/**
 * The first `n` training images of scan `s` through `encoder`'s factorized readout for `s.key`, fused and by
 * autograd; expects them equal (see above) and returns one line for the log.
 */
export function expectFusedMatchesAutograd(
  encoder: Encoder,
  s: EndToEndScan,
  imageShape: readonly [number, number, number],
  opts: { n?: number; lossScale?: number } = {},
): string {
  const readout = encoder.factorizedReadout(s.key);
  const coreVars = encoder.core.trainableVariables();
  const vars = [...coreVars, ...readout.variables()];
  const params = new Map<tf.Variable, Param>(
    vars.map((v) => [
      v,
      { name: v.name, value: Float32Array.from(v.dataSync() as Float32Array), grad: new Float32Array(v.size) },
    ]),
  );
  const n = opts.n ?? 20;
  const lossScale = opts.lossScale ?? 2.5;
  const N = s.neurons;
  const [C, H, W] = imageShape;
  const images = s.train.images.slice(0, n * C * H * W);
  const targets = s.train.responses.slice(0, n * N);
  const before = tf.memory().numTensors;
  const loss = factorizedBatchGradients({
    encoder,
    readout,
    kernel: new FusedFactorizedReadout({ height: readout.height, width: readout.width, channels: readout.channels }, N),
    params,
    coreVars,
    images,
    batch: n,
    targets,
    lossScale,
    logEps: 1e-8,
    coreRegularizer: SENSORIUM_CORE_REGULARIZER,
  });
  expect(tf.memory().numTensors).toBe(before);
  const { value, grads } = tf.variableGrads(() => {
    const r = encoder.outputNonlinearity(
      readout.forward(encoder.core.forward(nchwToNhwc(tf.tensor4d(images, [n, C, H, W])), { training: true })),
    );
    const t = tf.tensor2d(targets, [n, N]);
    const poisson = r.sub(t.mul(r.add(1e-8).log())).sum();
    return poisson
      .mul(lossScale)
      .add(readout.regularizer())
      .add(coreRegularizer(encoder.core, SENSORIUM_CORE_REGULARIZER)) as tf.Scalar;
  }, vars);
  try {
    const ref = value.dataSync()[0];
    expect(Math.abs(loss - ref)).toBeLessThan(1e-4 * Math.abs(ref));
    const worst: string[] = [];
    for (const v of vars) {
      const e = excess(params.get(v)!.grad, grads[v.name].dataSync() as Float32Array);
      worst.push(`${v.name.replace(/^.*\//, '')} ${e.toFixed(3)}`);
      expect(e, v.name).toBeLessThanOrEqual(1);
    }
    return `loss ${loss.toFixed(3)} vs ${ref.toFixed(3)}; worst gradient ratios ${worst.join(', ')}`;
  } finally {
    value.dispose();
    tf.dispose(grads);
  }
}
