/**
 * Parity of our FullFactorized2d (src/model/factorized_readout.ts) with neuralpredictors' own FullFactorized2d,
 * on the fixtures test/fixtures/factorized/make_fixtures.py made with it (README there): for every case
 * (normalize on/off, constrain_pos, positive_spatial, positive_weights, no bias + regularizer weight + elu offset,
 * and the sensorium-sota core's real output), on tfjs' cpu and wasm backends:
 *   readout output and elu+1 responses, the parameters after the forward pass (constrain_pos clamps in place),
 *   the regularizer (sum and mean) and its gradients, the Poisson loss and its gradients w.r.t. spatial,
 *   _features, bias and the input feature map;
 * each within |ours - ref| <= 1e-4 + 1e-4 |ref| elementwise (the issue's tolerance). Also: the small
 * Stacked2dCore + FullFactorized2d model neuralpredictors saved (zip and legacy .pth) predicts its responses
 * through our core + this readout.
 */

import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, type NodeBackend } from '../../src/backend/node';
import { type StateDict, toFloat32 } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { inferArchitecture } from '../../src/model/architecture';
import { parseModelConfig } from '../../src/model/config';
import { FullFactorized2d } from '../../src/model/factorized_readout';
import { coreFromStateDict } from '../../src/model/from_state_dict';
import { variableFrom } from '../../src/model/variables';
import {
  FACTORIZED_CASES,
  FACTORIZED_FIXTURES,
  fixtureNpy,
  loadFactorizedCase,
  nchwToNhwcArray,
  nhwcToNchwArray,
} from './factorized_fixture';
import { expectClose } from './fixture';

const ATOL = 1e-4,
  RTOL = 1e-4;

for (const backend of ['cpu', 'wasm'] as NodeBackend[]) {
  describe(`FullFactorized2d parity with neuralpredictors on ${backend}`, () => {
    beforeAll(async () => {
      await initNodeBackend(backend);
    });

    for (const name of FACTORIZED_CASES) {
      it(`${name}: forward, regularizer, loss and gradients within 1e-4 + 1e-4|ref|`, async () => {
        const fx = await loadFactorizedCase(name);
        const { batch: B, channels: C, height: H, width: W, neurons: N } = fx.meta.shape;
        const off = fx.meta.elu_offset;
        const before = tf.memory().numTensors;
        const errs: string[] = [];
        const close = (what: string, a: ArrayLike<number>, file: string): void => {
          errs.push(`${what} ${expectClose(`${name} ${what}`, a, fx.npy(file).data, ATOL, RTOL).toExponential(1)}`);
        };

        // forward and regularizer (in that order, as a training step runs them)
        {
          const r = new FullFactorized2d(fx.init);
          const x = tf.tensor4d(fx.inputNHWC(), [B, H, W, C]);
          const y = r.forward(x);
          expect(y.shape).toEqual([B, N]);
          close('readout', await y.data(), 'readout_output.npy');
          const resp = tf.tidy(() => tf.elu(y.add(off)).add(1));
          close('responses', await resp.data(), 'responses.npy');
          if (fx.has('spatial_after.npy')) {
            close('spatial after forward', await r.spatial.data(), 'spatial_after.npy');
            close('features after forward', await r.features.data(), 'features_after.npy');
          }
          if (fx.has('normalized_spatial.npy')) {
            const m = r.normalizedSpatial();
            close('normalized_spatial', await m.data(), 'normalized_spatial.npy');
            m.dispose();
          }
          const reg = r.regularizer(),
            regMean = r.regularizer('mean');
          expectClose(`${name} regularizer`, await reg.data(), [fx.meta.regularizer], ATOL, RTOL);
          expectClose(`${name} regularizer mean`, await regMean.data(), [fx.meta.regularizer_mean], ATOL, RTOL);
          const rg = tf.variableGrads(() => r.regularizer(), [r.spatial, r.features]);
          close('reg grad spatial', await rg.grads[r.spatial.name].data(), 'reg_grad_spatial.npy');
          close('reg grad features', await rg.grads[r.features.name].data(), 'reg_grad_features.npy');
          tf.dispose([x, y, resp, reg, regMean, rg.value, ...Object.values(rg.grads)]);
          r.dispose();
          // this project's default form, per neuron, on the state after the forward pass (what the generator used)
          const after = fx.has('spatial_after.npy')
            ? { ...fx.init, spatial: fx.npy('spatial_after.npy').data, features: fx.npy('features_after.npy').data }
            : fx.init;
          const pn = new FullFactorized2d({ ...after, options: { ...fx.options, l1Form: 'per_neuron' } });
          const regPn = pn.regularizer();
          const want = [fx.meta.regularizer_per_neuron_form];
          expectClose(`${name} regularizer, per-neuron form`, await regPn.data(), want, ATOL, RTOL);
          regPn.dispose();
          pn.dispose();
        }

        // Poisson loss and gradients from the saved (pre-forward) state
        {
          const r = new FullFactorized2d(fx.init);
          const x = variableFrom(tf.tensor4d(fx.inputNHWC(), [B, H, W, C]), true);
          const t = tf.tensor2d(fx.npy('targets.npy').data, [B, N]);
          const vars = [...r.variables(), x];
          const { value, grads } = tf.variableGrads(() => {
            const resp = tf.elu(r.forward(x).add(off)).add(1);
            return resp.sub(t.mul(resp.add(1e-8).log())).sum() as tf.Scalar;
          }, vars);
          const loss = (await value.data())[0];
          expectClose(`${name} loss`, [loss], [fx.meta.loss], ATOL, RTOL);
          errs.push(`loss ${Math.abs(loss - fx.meta.loss).toExponential(1)}`);
          close('grad spatial', await grads[r.spatial.name].data(), 'grad_spatial.npy');
          close('grad features', await grads[r.features.name].data(), 'grad_features.npy');
          if (r.bias) close('grad bias', await grads[r.bias.name].data(), 'grad_bias.npy');
          close('grad input', nhwcToNchwArray(await grads[x.name].data(), B, H, W, C), 'grad_input.npy');
          tf.dispose([x, t, value, ...Object.values(grads)]);
          r.dispose();
        }
        expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
        console.log(`[${backend}] ${name} max abs errors: ${errs.join(', ')}`);
      });
    }

    describe('neuralpredictors-saved Stacked2dCore + FullFactorized2d (for v1x predict)', () => {
      const dir = FACTORIZED_FIXTURES + 'model/';
      const config = parseModelConfig(JSON.parse(readFileSync(dir + 'config.json', 'utf8')), 'config.json');
      const images = fixtureNpy(dir + 'images.npy'); // (3, 1, 20, 32)
      const B = images.shape[0];

      for (const file of ['model.pth', 'model_legacy.pth']) {
        let sd: StateDict;
        beforeAll(async () => {
          sd = await readCheckpoint(new Uint8Array(readFileSync(dir + file)), file);
        });
        afterAll(() => {
          /* nothing held */
        });

        it(`${file}: core output and responses within 1e-4 + 1e-4|ref|`, async () => {
          const coreSd: StateDict = new Map([...sd].filter(([k]) => !k.startsWith('readout.')));
          const arch = inferArchitecture(coreSd, config, file);
          expect(arch.readouts).toEqual([]);
          const core = coreFromStateDict(coreSd, arch.core, file, false);
          const [C, H, W] = arch.core.outputShape;
          const g = (k: string): Float32Array => Float32Array.from(toFloat32(sd.get(`readout.fx.${k}`)!));
          const N = sd.get('readout.fx.bias')!.shape[0];
          expect(sd.get('readout.fx.spatial')!.shape).toEqual([N, H, W]);
          expect(sd.get('readout.fx._features')!.shape).toEqual([N, C]);
          const ro = new FullFactorized2d(
            {
              neurons: N,
              channels: C,
              height: H,
              width: W,
              spatial: g('spatial'),
              features: g('_features'),
              bias: g('bias'),
            },
            false,
          );
          const x = tf.tensor4d(nchwToNhwcArray(images.data, B, images.shape[1], images.shape[2], images.shape[3]), [
            B,
            images.shape[2],
            images.shape[3],
            images.shape[1],
          ]);
          const feat = core.forward(x);
          expectClose(
            `${file} core output`,
            nhwcToNchwArray(await feat.data(), B, H, W, C),
            fixtureNpy(dir + 'core_output.npy').data,
            ATOL,
            RTOL,
          );
          const resp = tf.tidy(() => tf.elu(ro.forward(feat)).add(1));
          const err = expectClose(
            `${file} responses`,
            await resp.data(),
            fixtureNpy(dir + 'responses.npy').data,
            ATOL,
            RTOL,
          );
          console.log(`[${backend}] ${file}: responses max abs error ${err.toExponential(2)}`);
          tf.dispose([x, feat, resp]);
          ro.dispose();
          core.dispose();
        });
      }
    });
  });
}
