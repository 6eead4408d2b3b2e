/**
 * Parity of the TransferLearningCore (src/model/transfer_learning_core.ts, run by core.ts) with neuralpredictors'
 * own TransferLearningCore: VGG16 cut after 8 children (conv2_2), OutBatchNorm, OutNonlin ReLU, greyscale repeated
 * to 3 channels, with a FullGaussian2d readout in a FiringRateEncoder, on the fixture test/fixtures/vgg/make_fixture.py
 * made (torchvision's VGG16 features built with torch.nn by hand, real shapes; README there). On tfjs' cpu and
 * wasm backends: the architecture read from the keys and config, the core output and responses in eval mode,
 * the core output in train mode (OutBatchNorm with batch statistics) and the running statistics it leaves, each
 * within |ours - ref| <= 1e-4 + 1e-4 |ref| elementwise (the tolerance); and the export gives back the
 * fixture's state_dict, key for key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, type NodeBackend } from '../../src/backend/node';
import { toFloat32 } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { describeArchitecture } from '../../src/model/architecture';
import { parseModelConfigText } from '../../src/model/config';
import { nchwToNhwc } from '../../src/model/encoder';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { encoderToStateDict } from '../../src/model/to_state_dict';
import { Rng } from '../../src/util/rng';
import { VGG } from '../fixtures/paths';
import { fixtureNpy } from './factorized_fixture';
import { expectClose } from './fixture';

const ATOL = 1e-4,
  RTOL = 1e-4;
const npy = (name: string) => fixtureNpy(join(VGG, name));

async function load() {
  const sd = await readCheckpoint(new Uint8Array(readFileSync(join(VGG, 'model.pth'))), 'model.pth');
  const cfg = parseModelConfigText(readFileSync(join(VGG, 'config.json'), 'utf8'), 'config.json');
  return { sd, cfg, encoder: encoderFromStateDict(sd, cfg.config, 'model.pth', { configGiven: cfg.given }) };
}

describe('TransferLearningCore architecture', () => {
  it('is read from core.features.TransferLearning.* / OutBatchNorm.* and the config', async () => {
    await initNodeBackend('cpu');
    const { encoder } = await load();
    const core = encoder.architecture.core;
    expect(core.transferLearning).toMatchObject({ modelName: 'vgg16', layers: 8, finalBatchNorm: true });
    expect(core.transferLearning!.children).toEqual([
      'conv 3x3 3->64',
      'ReLU',
      'conv 3x3 64->64',
      'ReLU',
      'MaxPool 2x2/2',
      'conv 3x3 64->128',
      'ReLU',
      'conv 3x3 128->128',
    ]);
    expect(core.inputRepeat).toBe(3);
    expect(core.inputShape).toEqual([1, 20, 28]);
    expect(core.outputShape).toEqual([128, 10, 14]);
    expect(core.layers.map((l) => [l.relu, l.maxPool?.kernel ?? null, l.batchNorm?.prefix ?? null])).toEqual([
      [true, null, null],
      [true, 2, null],
      [true, null, null],
      [true, null, 'core.features.OutBatchNorm.'],
    ]);
    expect(describeArchitecture(encoder.architecture)[0]).toContain('TransferLearningCore');
    encoder.dispose();
  });

  it('says what is wrong with a mis-shaped conv, an unknown network and a cut before the weights', async () => {
    const { sd, cfg } = await load();
    const bad = new Map(sd);
    const w = sd.get('core.features.TransferLearning.5.weight')!;
    bad.set('core.features.TransferLearning.5.weight', { ...w, shape: [128, 32, 3, 6] });
    expect(() => encoderFromStateDict(bad, cfg.config, 'bad.pth')).toThrow(
      /bad\.pth.*features child 5 \(conv 3x3 64->128\).*\(128, 32, 3, 6\), expected \(128, 64, 3, 3\)/,
    );
    expect(() => encoderFromStateDict(sd, { ...cfg.config, tl_model_name: 'resnet50' }, 'm.pth')).toThrow(
      /tl_model_name 'resnet50' is not a supported network/,
    );
    expect(() => encoderFromStateDict(sd, { ...cfg.config, layers: 6 }, 'm.pth', { configGiven: ['layers'] })).toThrow(
      /layers=6 .* weights for child 7/,
    );
  });
});

for (const backend of ['cpu', 'wasm'] as NodeBackend[]) {
  describe(`TransferLearningCore + FullGaussian2d parity with neuralpredictors on ${backend}`, () => {
    beforeAll(async () => {
      await initNodeBackend(backend);
    });

    it('core output and responses (eval) within 1e-4 + 1e-4|ref|', async () => {
      const { encoder } = await load();
      const before = tf.memory().numTensors;
      const images = npy('images.npy');
      const core = await encoder.coreOutput(images);
      const ref = npy('core_output.npy');
      expect(core.shape).toEqual(ref.shape);
      // not a trivial output: the ReLU leaves a good share of the values positive
      const positive = ref.data.filter((v) => v > 0).length / ref.data.length;
      expect(positive).toBeGreaterThan(0.2);
      const eCore = expectClose('core output', core.data, ref.data, ATOL, RTOL);
      const resp = await encoder.predict(images, { readout: 'vgg' });
      const eResp = expectClose('responses', resp.data, npy('responses.npy').data, ATOL, RTOL);
      console.log(`${backend}: max |diff| core output ${eCore.toExponential(2)}, responses ${eResp.toExponential(2)}`);
      expect(tf.memory().numTensors).toBe(before);
      encoder.dispose();
    });

    it('train mode: OutBatchNorm with batch statistics and the running statistics it leaves', async () => {
      const { encoder } = await load();
      const img = npy('images.npy');
      const x = tf.tensor4d(toFloat32(img), img.shape as [number, number, number, number]);
      const y = tf.tidy(() => encoder.core.forward(nchwToNhwc(x), { training: true }).transpose([0, 3, 1, 2]));
      const e = expectClose('core output (train)', await y.data(), npy('core_output_train.npy').data, ATOL, RTOL);
      const norm = encoder.core.layers[3].norm!;
      expectClose('running_mean', await norm.runningMean.data(), npy('running_mean_after.npy').data, ATOL, RTOL);
      expectClose('running_var', await norm.runningVar.data(), npy('running_var_after.npy').data, ATOL, RTOL);
      console.log(`${backend}: max |diff| core output in train mode ${e.toExponential(2)}`);
      tf.dispose([x, y]);
      encoder.dispose();
    });
  });
}

describe('TransferLearningCore with a FullFactorized2d readout', () => {
  it("reads out the core's 10x14 map: responses from neuralpredictors' core output within 1e-4 + 1e-4|ref|", async () => {
    await initNodeBackend('cpu');
    const { sd, cfg } = await load();
    const N = 5,
      C = 128,
      H = 10,
      W = 14;
    const rng = new Rng(9);
    const spatial = new Float32Array(N * H * W).map(() => rng.normal());
    const features = new Float32Array(N * C).map(() => rng.normal() * 0.05);
    const bias = new Float32Array(N).map(() => rng.normal() * 0.1);
    const fsd = new Map([...sd].filter(([k]) => k.startsWith('core.')));
    fsd.set('readout.f.spatial', { dtype: 'float32', shape: [N, H, W], data: spatial });
    fsd.set('readout.f._features', { dtype: 'float32', shape: [N, C], data: features });
    fsd.set('readout.f.bias', { dtype: 'float32', shape: [N], data: bias });
    const encoder = encoderFromStateDict(fsd, cfg.config, 'factorized.pth', { configGiven: cfg.given });
    expect(encoder.architecture.readouts[0]).toMatchObject({ kind: 'factorized', factorized: { height: H, width: W } });
    const resp = await encoder.predict(npy('images.npy'), { readout: 'f' });
    // expected: elu(sum_c f_c sum_hw m_hw x_chw + bias) + 1 with the mask L2-normalized (+ 1e-6), on the torch core output
    const x = npy('core_output.npy').data;
    const B = 3;
    const want = new Float32Array(B * N);
    for (let n = 0; n < N; n++) {
      let ss = 0;
      for (let p = 0; p < H * W; p++) ss += spatial[n * H * W + p] ** 2;
      const norm = Math.sqrt(ss) + 1e-6;
      for (let b = 0; b < B; b++) {
        let y = bias[n];
        for (let c = 0; c < C; c++) {
          let m = 0;
          for (let p = 0; p < H * W; p++) m += (spatial[n * H * W + p] / norm) * x[(b * C + c) * H * W + p];
          y += features[n * C + c] * m;
        }
        want[b * N + n] = (y > 0 ? y : Math.expm1(y)) + 1;
      }
    }
    const e = expectClose('factorized responses', resp.data, want, ATOL, RTOL);
    console.log(`TransferLearningCore + FullFactorized2d: max |diff| responses ${e.toExponential(2)}`);
    encoder.dispose();
  });
});

describe('TransferLearningCore export', () => {
  it("writes the fixture's state_dict back, key for key", async () => {
    await initNodeBackend('cpu');
    const { sd, encoder } = await load();
    const out = await encoderToStateDict(encoder);
    expect([...out.keys()].sort()).toEqual([...sd.keys()].sort());
    for (const [k, v] of sd) {
      expect(out.get(k)!.shape, k).toEqual(v.shape);
      if (v.dtype === 'float32') expect(Array.from(toFloat32(out.get(k)!)), k).toEqual(Array.from(toFloat32(v)));
    }
    encoder.dispose();
  });
});
