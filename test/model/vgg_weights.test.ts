/**
 * The random VGG core (model/vgg_weights.ts) and its frozen form (experiments/vgg_core.ts):
 * - torchvision's init: conv weights N(0, 2 / (out * k * k)) (kaiming_normal_, fan_out, relu), zero biases; the
 *   seed reproduces the weights and another seed changes them;
 * - the torchvision-state_dict check names the file and the mis-shaped key;
 * - vggFrozenCore fits OutBatchNorm to the images: on them, the normalized conv2_2 output has per-channel mean 0
 *   and variance 1 (unbiased), computed here from the core's own pre-BatchNorm activations;
 * - a torchvision state_dict given as a model is refused with a pointer to `v1x finetune --vgg16`.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { vggFrozenCore } from '../../src/experiments/vgg_core';
import { toFloat32 } from '../../src/io/host_tensor';
import { inferArchitecture } from '../../src/model/architecture';
import { defaultParsedConfig } from '../../src/model/config';
import { nchwToNhwc } from '../../src/model/encoder';
import { OUT_BATCHNORM_PREFIX, TL_PREFIX } from '../../src/model/transfer_learning_core';
import { randomTransferLearningStateDict, transferLearningFromTorchvision } from '../../src/model/vgg_weights';
import { Rng } from '../../src/util/rng';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

describe('random VGG core', () => {
  it("draws torchvision's init, reproducibly from the seed", () => {
    const a = randomTransferLearningStateDict(7);
    const b = randomTransferLearningStateDict(7);
    const c = randomTransferLearningStateDict(8);
    expect([...a.keys()].filter((k) => k.startsWith(TL_PREFIX))).toEqual(
      [0, 2, 5, 7].flatMap((i) => [`${TL_PREFIX}${i}.weight`, `${TL_PREFIX}${i}.bias`]),
    );
    for (const [i, out] of [
      [0, 64],
      [2, 64],
      [5, 128],
      [7, 128],
    ]) {
      const w = toFloat32(a.get(`${TL_PREFIX}${i}.weight`)!);
      let s2 = 0;
      for (const v of w) s2 += v * v;
      const std = Math.sqrt(s2 / w.length);
      const want = Math.sqrt(2 / (out * 9));
      expect(Math.abs(std / want - 1), `conv ${i}: std ${std} vs ${want}`).toBeLessThan(w.length > 10000 ? 0.02 : 0.1);
      expect(toFloat32(a.get(`${TL_PREFIX}${i}.bias`)!).every((v) => v === 0)).toBe(true);
    }
    expect(Array.from(toFloat32(a.get(`${TL_PREFIX}5.weight`)!))).toEqual(
      Array.from(toFloat32(b.get(`${TL_PREFIX}5.weight`)!)),
    );
    expect(toFloat32(a.get(`${TL_PREFIX}5.weight`)!)[0]).not.toBe(toFloat32(c.get(`${TL_PREFIX}5.weight`)!)[0]);
    expect(Array.from(toFloat32(a.get(`${OUT_BATCHNORM_PREFIX}running_var`)!)).every((v) => v === 1)).toBe(true);
  });

  it('a torchvision state_dict with a wrong shape is refused, naming the file and key', () => {
    const tv = new Map();
    for (const [k, v] of randomTransferLearningStateDict(1)) {
      const m = /TransferLearning\.(\d+)\.(weight|bias)$/.exec(k);
      if (m) tv.set(`features.${m[1]}.${m[2]}`, v);
    }
    expect(transferLearningFromTorchvision(tv, 'vgg16.pth').size).toBe(13);
    tv.set('features.5.weight', { dtype: 'float32', shape: [128, 64, 5, 5], data: new Float32Array(128 * 64 * 25) });
    tv.delete('features.7.bias');
    expect(() => transferLearningFromTorchvision(tv, 'vgg16.pth')).toThrow(
      /vgg16\.pth.*'features\.5\.weight' has shape \(128, 64, 5, 5\), vgg16's is \(128, 64, 3, 3\).*missing 'features\.7\.bias'/,
    );
  });

  it('vggFrozenCore fits OutBatchNorm to the images (mean 0, variance 1 on them) and runs', async () => {
    const rng = new Rng(2);
    const B = 10;
    const images = new Float32Array(B * 24 * 32).map(() => rng.normal());
    const core = await vggFrozenCore({ weights: { kind: 'random', seed: 4 }, images, imageShape: [1, 24, 32] });
    expect(core.vgg.description).toContain('BatchNorm statistics from 10 images');
    const enc = core.encoder;
    const norm = enc.core.layers[3].norm!;
    const x = tf.tensor4d(images, [B, 1, 24, 32]);
    const [mean, variance] = tf.tidy(() => {
      // normalized pre-activation: (h - running_mean) / sqrt(running_var + eps) (weight 1, bias 0)
      const h = enc.core.preNormActivation(nchwToNhwc(x), 3);
      const z = h.sub(norm.runningMean).div(norm.runningVar.add(1e-5).sqrt()).reshape([-1, 128]);
      const m = z.mean(0);
      const n = z.shape[0];
      return [
        m,
        z
          .sub(m)
          .square()
          .sum(0)
          .div(n - 1),
      ];
    });
    const ms = await mean.data();
    const vs = await variance.data();
    for (let c = 0; c < 128; c++) {
      expect(Math.abs(ms[c])).toBeLessThan(1e-3);
      if (norm.runningVar.dataSync()[c] > 1e-2) expect(Math.abs(vs[c] - 1)).toBeLessThan(1e-2);
    }
    const y = await core.run(x);
    expect(y.shape).toEqual([B, 12, 16, 128]);
    expect((await y.data()).every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
    tf.dispose([x, y, mean, variance]);
    core.dispose();
  });
});

describe('a torchvision state_dict given as a model', () => {
  it('is refused with a pointer to v1x finetune --vgg16', () => {
    const sd = new Map();
    for (const [k, v] of randomTransferLearningStateDict(1)) {
      const m = /TransferLearning\.(\d+)\.(weight|bias)$/.exec(k);
      if (m) sd.set(`features.${m[1]}.${m[2]}`, v);
    }
    sd.set('classifier.6.bias', { dtype: 'float32', shape: [1000], data: new Float32Array(1000) });
    expect(() => inferArchitecture(sd, defaultParsedConfig().config, 'vgg16-397923af.pth')).toThrow(
      /vgg16-397923af\.pth.*torchvision network's state_dict.*v1x finetune --vgg16 FILE/,
    );
  });
});
