/**
 * Feature sharing across readouts (src/model/feature_sharing.ts) against neuralpredictors'
 * MultiReadoutSharedParametersBase(share_features=True): the models test/fixtures/feature_sharing/make_fixture.py
 * built with the vendored neuralpredictors (a small Stacked2dCore + three readouts sharing their features: one with
 * the match ids in another order, one holding an id twice), FullGaussian2d and FullFactorized2d. For each, on tfjs'
 * cpu and wasm backends: the checkpoint loads (one features variable for the group, the first readout the
 * original), each neuron's scaled features, the responses of every readout, the loss (Poisson of every readout +
 * each readout's regularizer as neuralpredictors counts it) and its gradients with respect to the shared features,
 * every readout's scales, bias, means / masks, and the images, within 1e-4 + 1e-4|ref| (gradients: 1e-4 max|ref| +
 * 1e-4|ref|, the model tests' tolerance); and the model exported again has neuralpredictors' keys and shapes.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, type NodeBackend } from '../../src/backend/node';
import { type StateDict, toFloat32 } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { registerWasmGradKernels } from '../../src/kernels/wasm/grad_kernels';
import { parseModelConfigWithInfo } from '../../src/model/config';
import type { Encoder } from '../../src/model/encoder';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { encoderToStateDict } from '../../src/model/to_state_dict';
import { FIXTURES } from '../fixtures/paths';
import { fixtureNpy } from './factorized_fixture';
import { expectClose, expectGradClose } from './fixture';

const DIR = `${FIXTURES}/feature_sharing`;

interface CaseMeta {
  kind: 'gaussian' | 'factorized';
  keys: string[];
  neurons: Record<string, number>;
  matches: number;
  losses: Record<string, number>;
  regularizers: Record<string, number>;
  loss: number;
  grads: string[];
}

async function loadCase(kind: string): Promise<{ meta: CaseMeta; sd: StateDict; encoder: () => Encoder }> {
  const d = `${DIR}/${kind}`;
  const meta = JSON.parse(readFileSync(`${d}/case.json`, 'utf8')) as CaseMeta;
  const sd = await readCheckpoint(new Uint8Array(readFileSync(`${d}/model.pth`)), 'model.pth');
  const parsed = parseModelConfigWithInfo(JSON.parse(readFileSync(`${d}/config.json`, 'utf8')), 'config.json');
  return {
    meta,
    sd,
    encoder: () => encoderFromStateDict(sd, parsed.config, 'model.pth', { configGiven: parsed.given }),
  };
}

/** The loss neuralpredictors' fixture computed: per readout Poisson(responses, targets) + its regularizer. */
function readoutLoss(enc: Encoder, key: string, images: tf.Tensor4D, targets: tf.Tensor2D, gamma: number): tf.Scalar {
  const r = enc.anyReadout(key);
  const y = enc.forward(images, { readout: key });
  const poisson = y.sub(targets.mul(y.add(1e-8).log())).sum();
  const reg = r.kind === 'gaussian' ? r.featureL1().mul(gamma) : r.regularizer();
  return poisson.add(reg) as tf.Scalar;
}

for (const backend of ['cpu', 'wasm'] as NodeBackend[]) {
  describe(`feature sharing parity with neuralpredictors on ${backend}`, () => {
    beforeAll(async () => {
      await initNodeBackend(backend);
      registerWasmGradKernels();
    });

    for (const kind of ['gaussian', 'factorized']) {
      it(`${kind}: loads, predicts, and its loss and gradients match`, async () => {
        const { meta, sd, encoder } = await loadCase(kind);
        const before = tf.memory().numTensors;
        const enc = encoder();
        const d = `${DIR}/${kind}`;
        const report: string[] = [];
        try {
          // the group: one variable, the first readout the original
          const first = enc.anyReadout(meta.keys[0]);
          for (const [i, key] of meta.keys.entries()) {
            const r = enc.anyReadout(key);
            expect(r.kind).toBe(kind);
            expect(r.features).toBe(first.features);
            expect(r.sharing?.original).toBe(i === 0);
            expect(r.sharing?.matches).toBe(meta.matches);
            expect(r.neurons).toBe(meta.neurons[key]);
            const arch = enc.architecture.readouts.find((a) => a.key === key)!;
            expect(arch.sharing).toEqual({ matches: meta.matches, source: meta.keys[0], original: i === 0 });
          }
          const img = fixtureNpy(`${d}/images.npy`);
          const images = tf.tensor4d(img.data, img.shape as [number, number, number, number]);
          const gamma = readGamma(kind);
          let total = 0;
          for (const key of meta.keys) {
            const r = enc.anyReadout(key);
            const f = r.neuronFeatures();
            // Gaussian (C, N); neuralpredictors' `features` (1, C, 1, N): the same order. Factorized (N, C) both.
            expectClose(`${key} features`, await f.data(), fixtureNpy(`${d}/features_${key}.npy`).data, 1e-6, 1e-6);
            f.dispose();
            const y = enc.forward(images, { readout: key });
            const err = expectClose(
              `${key} responses`,
              await y.data(),
              fixtureNpy(`${d}/responses_${key}.npy`).data,
              1e-4,
              1e-4,
            );
            y.dispose();
            report.push(`${key} responses ${err.toExponential(1)}`);
            const reg = tf.tidy(() => (r.kind === 'gaussian' ? r.featureL1().mul(gamma) : r.regularizer()));
            const regV = (await reg.data())[0];
            reg.dispose();
            expect(Math.abs(regV - meta.regularizers[key])).toBeLessThanOrEqual(
              1e-4 + 1e-4 * Math.abs(meta.regularizers[key]),
            );
            if (r.sharing && !r.sharing.original && r.kind === 'gaussian') expect(regV).toBe(0);
          }
          // loss and gradients over every readout
          const targets = meta.keys.map((k) => {
            const t = fixtureNpy(`${d}/targets_${k}.npy`);
            return tf.tensor2d(t.data, t.shape as [number, number]);
          });
          const vars = [...new Set(meta.keys.flatMap((k) => enc.anyReadout(k).variables()))];
          const lossFn = (x: tf.Tensor4D): tf.Scalar =>
            meta.keys.map((k, i) => readoutLoss(enc, k, x, targets[i], gamma)).reduce((a, b) => a.add(b) as tf.Scalar);
          const { value, grads } = tf.variableGrads(() => lossFn(images), vars);
          total = (await value.data())[0];
          expect(Math.abs(total - meta.loss)).toBeLessThanOrEqual(1e-4 * Math.abs(meta.loss));
          report.push(`loss ${total} vs ${meta.loss}`);
          const gImages = tf.grad((x: tf.Tensor) => lossFn(x as tf.Tensor4D))(images);
          report.push(
            `images ${expectGradClose('grad images', await gImages.data(), fixtureNpy(`${d}/grad_images.npy`).data).toExponential(1)}`,
          );
          gImages.dispose();
          for (const name of meta.grads) {
            const [, key, param] = /^readout\.([^.]+)\.(.+)$/.exec(name)!;
            const r = enc.anyReadout(key);
            const v =
              param === '_features'
                ? r.features
                : param === 'scales'
                  ? r.scales
                  : param === 'bias'
                    ? r.bias
                    : param === 'spatial' && r.kind === 'factorized'
                      ? r.spatial
                      : param === '_mu' && r.kind === 'gaussian'
                        ? r.mu
                        : param === 'sigma' && r.kind === 'gaussian'
                          ? r.sigma
                          : null;
            expect(v, `a variable for ${name}`).not.toBeNull();
            const g = grads[v!.name];
            const ref = fixtureNpy(`${d}/grad_${name}.npy`).data;
            const ours = g ? await g.data() : new Float32Array(ref.length); // no gradient = zero (sigma in eval)
            report.push(`${name} ${expectGradClose(`grad ${name}`, ours, ref, 1e-7).toExponential(1)}`);
          }
          value.dispose();
          tf.dispose(grads);
          tf.dispose(targets);
          images.dispose();

          // the export: neuralpredictors' keys and shapes, the group's features under every readout
          const out = await encoderToStateDict(enc);
          for (const [k, t] of sd) {
            if (!k.startsWith('readout.')) continue;
            const o = out.get(k);
            expect(o, `exported ${k}`).toBeDefined();
            expect(o!.shape).toEqual(t.shape);
            expect(o!.dtype).toBe(t.dtype);
            expectClose(`exported ${k}`, toFloat32(o!), toFloat32(t), 0, 0);
          }
          expect([...out.keys()].filter((k) => k.startsWith('readout.')).sort()).toEqual(
            [...sd.keys()].filter((k) => k.startsWith('readout.')).sort(),
          );
        } finally {
          enc.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
        console.log(`${backend} ${kind}: ${report.join('; ')}`);
      });
    }
  });
}

function readGamma(kind: string): number {
  const c = JSON.parse(readFileSync(`${DIR}/${kind}/config.json`, 'utf8')) as { gamma_readout: number };
  return c.gamma_readout;
}
