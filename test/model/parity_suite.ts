/**
 * Parity with neuralpredictors on the sensorium-sota fixture, on one tfjs backend: forward (core, responses,
 * grid, sampled grid and responses) and the Poisson loss with every gradient the fixture holds.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, type NodeBackend } from '../../src/backend/node';
import { DEFAULT_MODEL_CONFIG } from '../../src/model/config';
import type { Encoder } from '../../src/model/encoder';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { type GridSampleMode, setGridSampleMode } from '../../src/model/grid_sample';
import { expectClose, expectGradClose, fixtureLoss, fixtureStateDict, npy } from './fixture';

export function defineParitySuite(backend: NodeBackend, gridSample: GridSampleMode, gradientNote: string): void {
  describe(`sensorium-sota parity on ${backend}, grid_sample ${gridSample}`, () => {
    let enc: Encoder;
    const inputs = npy('inputs.npy');
    const first2 = (): tf.Tensor4D => tf.tensor4d(inputs.data.subarray(0, 2 * 36 * 64), [2, 1, 36, 64]);

    beforeAll(async () => {
      await initNodeBackend(backend);
      setGridSampleMode(gridSample);
      enc = encoderFromStateDict(await fixtureStateDict(), DEFAULT_MODEL_CONFIG, 'model.pth');
    });
    afterAll(() => enc?.dispose());

    it('core_output (2, 64, 28, 56) within 1e-4 + 1e-4|ref|', async () => {
      const y = await enc.coreOutput({
        dtype: 'float32',
        shape: [2, 1, 36, 64],
        data: inputs.data.subarray(0, 2 * 36 * 64),
      });
      expect(y.shape).toEqual([2, 64, 28, 56]);
      const err = expectClose('core_output', y.data, npy('core_output.npy').data, 1e-4, 1e-4);
      console.log(`[${backend}] core_output max abs error ${err.toExponential(2)}`);
    });

    it('responses (8, 7776), eval mode, within 1e-4 + 1e-4|ref|', async () => {
      const y = await enc.predict(inputs, { batchSize: 8 });
      expect(y.shape).toEqual([8, 7776]);
      const err = expectClose('responses', y.data, npy('responses.npy').data, 1e-4, 1e-4);
      console.log(`[${backend}] responses max abs error ${err.toExponential(2)}`);
    });

    it('grid (7776, 2) within 1e-6', async () => {
      const g = enc.readout().grid();
      expectClose('grid', await g.data(), npy('grid.npy').data, 1e-6, 0);
      g.dispose();
    });

    it('sampled_grid and sampled_responses with the fixture noise', async () => {
      const noise = npy('noise.npy'); // (2, 7776, 1, 2)
      const g = enc.readout().sampleGrid(2, noise.data);
      expectClose('sampled_grid', await g.data(), npy('sampled_grid.npy').data, 1e-6, 0);
      g.dispose();
      const x = first2();
      const y = enc.forward(x, { sample: true, noise: noise.data });
      expectClose('sampled_responses', await y.data(), npy('sampled_responses.npy').data, 1e-4, 1e-4);
      // Zero noise reproduces the eval responses (the README's own consistency check).
      const y0 = enc.forward(x, { sample: true, noise: new Float32Array(2 * 7776 * 2) });
      expectClose('zero-noise responses', await y0.data(), npy('responses.npy').data.subarray(0, 2 * 7776), 1e-4, 1e-4);
      tf.dispose([x, y, y0]);
    });

    it(`Poisson loss and every gradient (features, bias, mu_transform.*, inputs)${gradientNote}`, async () => {
      const r = enc.readout();
      const pn = r.positionNetwork!;
      const x = tf.variable(tf.tensor4d(inputs.data, [8, 1, 36, 64]));
      const targets = tf.tensor2d(npy('targets.npy').data, [8, 7776]);
      const vars = [r.features, r.bias!, pn.weights[0], pn.biases[0], pn.weights[1], pn.biases[1], x];
      const names = [
        'grad_features',
        'grad_bias',
        'grad_mu_transform_0_weight',
        'grad_mu_transform_0_bias',
        'grad_mu_transform_2_weight',
        'grad_mu_transform_2_bias',
        'grad_inputs',
      ];
      const { value, grads } = tf.variableGrads(() => {
        const pred = enc.forward(x);
        return pred.sub(targets.mul(pred.add(1e-12).log())).sum() as tf.Scalar;
      }, vars);
      const loss = (await value.data())[0];
      const ref = fixtureLoss().loss_float64;
      console.log(
        `[${backend}] loss ${loss} (reference ${ref}, rel. error ${(Math.abs(loss - ref) / ref).toExponential(2)})`,
      );
      expect(Math.abs(loss - ref) / ref).toBeLessThanOrEqual(1e-5);
      for (let i = 0; i < vars.length; i++) {
        const g = grads[vars[i].name];
        expect(g, names[i]).toBeDefined();
        const err = expectGradClose(names[i], await g.data(), npy(`${names[i]}.npy`).data);
        console.log(`[${backend}] ${names[i]} max abs error ${err.toExponential(2)}`);
      }
      tf.dispose([value, x, targets]);
      tf.dispose(Object.values(grads));
    });
  });
}
