/**
 * The factorized readout in the model library: detection per data key from keys and shapes (also beside a
 * Gaussian readout in one checkpoint), errors in words, config keys, the encoder holding either readout, the
 * state_dict round trip, and the masks' host form and geometry. On neuralpredictors' saved model
 * (test/fixtures/factorized/model) and readouts built around it.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { type HostTensor, InputError, type StateDict, toFloat32 } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { describeArchitecture, inferArchitecture } from '../../src/model/architecture';
import { factorizedOptionsFromConfig, type ModelConfig, parseModelConfig } from '../../src/model/config';
import { effectiveMasks, maskGeometry, pixelToGrid } from '../../src/model/factorized_masks';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { factorizedHostParams } from '../../src/model/host_params';
import { DEFAULT_FACTORIZED_OPTIONS } from '../../src/model/readout_types';
import { encoderToStateDict, readoutToStateDict } from '../../src/model/to_state_dict';
import { readoutStateDict } from '../../src/train/export';
import { initReadout, REFERENCE_READOUT } from '../../src/train/readout/readout_init';
import { FACTORIZED_FIXTURES, fixtureNpy } from './factorized_fixture';
import { expectClose } from './fixture';

const DIR = FACTORIZED_FIXTURES + 'model/';
let sd: StateDict;
let config: ModelConfig;
beforeAll(async () => {
  await initNodeBackend('cpu');
  sd = await readCheckpoint(new Uint8Array(readFileSync(DIR + 'model.pth')), 'model.pth');
  config = parseModelConfig(JSON.parse(readFileSync(DIR + 'config.json', 'utf8')), 'config.json');
});

const edit = (f: (s: StateDict) => void): StateDict => {
  const s = new Map(sd);
  f(s);
  return s;
};
const zeros = (shape: number[]): HostTensor => ({
  dtype: 'float32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

function errorOf(s: StateDict, c = config): string {
  try {
    inferArchitecture(s, c, 'model.pth');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

/** The fixture model with a second, Gaussian readout 'g' (free means, 5 neurons) on the same core. */
function mixed(): StateDict {
  const g = initReadout(
    { neurons: 5, channels: 8, meanActivity: new Float32Array(5).fill(0.5) },
    { ...REFERENCE_READOUT, gaussType: 'isotropic', positionNet: null },
    3,
  );
  return new Map([...sd, ...readoutStateDict(g, 'g')]);
}

describe('detection', () => {
  it("reads neuralpredictors' FullFactorized2d: kind, shapes, options from the config, parameter count", () => {
    const a = inferArchitecture(sd, config, 'model.pth');
    expect(a.readouts).toHaveLength(1);
    const r = a.readouts[0];
    expect(r).toMatchObject({
      key: 'fx',
      kind: 'factorized',
      neurons: 12,
      channels: 8,
      bias: true,
      gaussType: null,
      positionNetwork: null,
    });
    expect(r.factorized).toEqual({ height: 16, width: 28, options: { ...DEFAULT_FACTORIZED_OPTIONS } });
    expect(r.parameters).toBe(12 * (16 * 28 + 8) + 12);
    expect(describeArchitecture(a).join('\n')).toContain(
      "readout 'fx' (default): FullFactorized2d, 12 neurons, 8 features, mask 16x28 (normalized), bias; 5,484 parameters",
    );
  });

  it('a checkpoint may mix the kinds across data keys; without a bias the count drops by N', () => {
    const s = mixed();
    s.delete('readout.fx.bias');
    const a = inferArchitecture(s, config, 'model.pth');
    expect(a.readouts.map((r) => [r.key, r.kind, r.bias])).toEqual([
      ['fx', 'factorized', false],
      ['g', 'gaussian', true],
    ]);
    expect(a.readouts[0].parameters).toBe(12 * (16 * 28 + 8));
    expect(a.readouts[1].parameters).toBe(5 * 8 + 5 + 5 + 10); // features, bias, sigma, mu
  });

  it('mis-shaped masks, features and mixed keys are errors in words', () => {
    expect(errorOf(edit((s) => s.set('readout.fx.spatial', zeros([12, 15, 28]))))).toContain(
      "readout 'fx': 'readout.fx.spatial' has shape (12, 15, 28), a 15x28 mask, but the core outputs 16x28 maps (for the config's input_shape 1x20x32",
    );
    expect(errorOf(edit((s) => s.set('readout.fx.spatial', zeros([12, 448]))))).toContain(
      "'readout.fx.spatial' has shape (12, 448), expected (neurons, height, width)",
    );
    expect(errorOf(edit((s) => s.set('readout.fx._features', zeros([12, 9]))))).toContain(
      "'readout.fx._features' has 9 channels, but the core outputs 8",
    );
    expect(errorOf(edit((s) => s.set('readout.fx._features', zeros([11, 8]))))).toContain(
      "'readout.fx._features' has shape (11, 8), expected (12, channels)",
    );
    expect(errorOf(edit((s) => s.set('readout.fx.bias', zeros([13]))))).toContain(
      "'readout.fx.bias' has shape (13,), expected (12,)",
    );
    expect(errorOf(edit((s) => s.set('readout.fx.sigma', zeros([1, 12, 1, 1]))))).toContain(
      "readout 'fx': has a FullFactorized2d mask 'readout.fx.spatial' and FullGaussian2d keys ('readout.fx.sigma'): one readout cannot be both",
    );
    expect(errorOf(edit((s) => s.delete('readout.fx.spatial')))).toContain(
      "'readout.fx._features' has shape (12, 8), a FullFactorized2d's (neurons, channels), but there is no mask 'readout.fx.spatial'",
    );
    expect(errorOf(edit((s) => s.set('readout.fx.feature_sharing_index', zeros([12]))))).toContain(
      "shared features need both 'readout.fx.scales' and 'readout.fx.feature_sharing_index'",
    );
  });
});

describe('config keys', () => {
  it("neuralpredictors' names, checked; shared features refused", () => {
    const c = parseModelConfig(
      {
        normalize: false,
        constrain_pos: true,
        positive_weights: true,
        positive_spatial: true,
        spatial_and_feature_reg_weight: 0.5,
        factorized_l1: 'neuralpredictors',
        init_noise: 0.01,
      },
      'c.json',
    );
    expect(factorizedOptionsFromConfig(c)).toEqual({
      normalize: false,
      constrainPos: true,
      positiveWeights: true,
      positiveSpatial: true,
      regWeight: 0.5,
      l1Form: 'neuralpredictors',
    });
    expect(c.init_noise).toBe(0.01);
    expect(() => parseModelConfig({ factorized_l1: 'both' }, 'c.json')).toThrow(
      "config key 'factorized_l1' must be 'per_neuron' or 'neuralpredictors'",
    );
    expect(() => parseModelConfig({ normalize: 1 }, 'c.json')).toThrow("config key 'normalize' must be true or false");
    expect(() => parseModelConfig({ spatial_and_feature_reg_weight: -1 }, 'c.json')).toThrow(
      'must be a non-negative number',
    );
    expect(() => parseModelConfig({ init_noise: 0 }, 'c.json')).toThrow(
      "config key 'init_noise' must be a positive number",
    );
    expect(() => parseModelConfig({ shared_features: { match_ids: [1, 2] } }, 'c.json')).toThrow(
      "config key 'shared_features'",
    );
    // the options reach the model
    const a = inferArchitecture(
      sd,
      { ...config, ...c, input_shape: config.input_shape, momentum: config.momentum },
      'model.pth',
    );
    expect(a.readouts[0].factorized?.options).toMatchObject({
      normalize: false,
      constrainPos: true,
      l1Form: 'neuralpredictors',
    });
  });
});

describe('encoder with either readout', () => {
  it("predicts neuralpredictors' responses, holds both kinds, says which accessor fits, round-trips its state_dict", async () => {
    const s = mixed();
    const before = tf.memory().numTensors;
    const enc = encoderFromStateDict(s, config, 'model.pth');
    try {
      expect(enc.anyReadout('fx').kind).toBe('factorized');
      expect(enc.anyReadout('g').kind).toBe('gaussian');
      expect(enc.factorizedReadout().neurons).toBe(12);
      expect(enc.readout('g').neurons).toBe(5);
      expect(() => enc.readout('fx')).toThrow("readout 'fx' is a FullFactorized2d (factorized), not a FullGaussian2d");
      expect(() => enc.factorizedReadout('g')).toThrow(
        "readout 'g' is a FullGaussian2d (gaussian), not a FullFactorized2d",
      );
      const images = fixtureNpy(DIR + 'images.npy');
      const y = await enc.predict(images, { readout: 'fx' });
      expectClose('responses', y.data, fixtureNpy(DIR + 'responses.npy').data, 1e-4, 1e-4);
      expect((await enc.predict(images, { readout: 'g' })).shape).toEqual([3, 5]);
      // state_dict: the factorized keys in neuralpredictors' order and layouts, every value as read
      const out = await encoderToStateDict(enc);
      expect([...out.keys()].filter((k) => k.startsWith('readout.fx.'))).toEqual([
        'readout.fx._features',
        'readout.fx.spatial',
        'readout.fx.bias',
      ]);
      for (const [k, v] of s) {
        const w = out.get(k)!;
        expect(w.shape, k).toEqual(v.shape);
        if (v.dtype === 'float32') expect(Array.from(toFloat32(w)), k).toEqual(Array.from(toFloat32(v)));
      }
      expect(out.size).toBe(s.size);
      const ro = await readoutToStateDict(enc.anyReadout('fx'), 'other');
      expect([...ro.keys()]).toEqual(['readout.other._features', 'readout.other.spatial', 'readout.other.bias']);
    } finally {
      enc.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('masks on the host', () => {
  it("effectiveMasks is the model's normalizedSpatial for every option; the host params carry masks and geometry", async () => {
    const enc = encoderFromStateDict(sd, config, 'model.pth');
    try {
      const r = enc.factorizedReadout();
      const spatial = Float32Array.from((await r.spatial.data()) as Float32Array);
      for (const o of [
        { normalize: true, constrainPos: false, positiveSpatial: false },
        { normalize: true, constrainPos: true, positiveSpatial: false },
        { normalize: false, constrainPos: false, positiveSpatial: true },
        { normalize: true, constrainPos: false, positiveSpatial: true },
      ]) {
        const m = tf.tidy(() => {
          // neuralpredictors' normalized_spatial, written out in tfjs ops
          const norm = tf.tensor3d(spatial, [12, 16, 28]);
          let w = o.normalize ? norm.div(norm.square().sum([1, 2], true).sqrt().add(1e-6)) : norm;
          if (o.constrainPos) w = tf.relu(w);
          else if (o.positiveSpatial) w = tf.abs(w);
          return w;
        });
        expectClose(`masks ${JSON.stringify(o)}`, effectiveMasks(spatial, 12, 16, 28, o), await m.data(), 1e-6, 1e-6);
        m.dispose();
      }
      const hp = await factorizedHostParams(r);
      expect(hp).toMatchObject({ neurons: 12, channels: 8, height: 16, width: 28, hasBias: true });
      expectClose('masks = normalizedSpatial', hp.masks, await r.normalizedSpatial().data(), 1e-6, 1e-6);
      expect(hp.features).toEqual(Float32Array.from(toFloat32(sd.get('readout.fx._features')!)));
      expect(hp.geometry.peak).toHaveLength(24);
    } finally {
      enc.dispose();
    }
  });

  it('maskGeometry: peak, centroid, spread and half-maximum size of known masks', () => {
    const H = 5,
      W = 9;
    const m = new Float32Array(3 * H * W);
    // neuron 0: one pixel at (x 6, y 1)
    m[1 * W + 6] = 1;
    // neuron 1: a plus of 5 pixels around (x 2, y 3), centre 2, arms 1 (negative weights count by |m|)
    const o1 = H * W;
    m[o1 + 3 * W + 2] = -2;
    for (const [x, y] of [
      [1, 3],
      [3, 3],
      [2, 2],
      [2, 4],
    ])
      m[o1 + y * W + x] = 1;
    // neuron 2: all zeros
    const g = maskGeometry(m, 3, H, W);
    expect(Array.from(g.peak.subarray(0, 2))).toEqual([pixelToGrid(6, W), pixelToGrid(1, H)]);
    expect(g.spread[0]).toBe(0);
    expect(g.halfMaxPixels[0]).toBe(1);
    expectClose('plus peak', g.peak.subarray(2, 4), [pixelToGrid(2, W), pixelToGrid(3, H)], 1e-6, 0);
    expectClose('plus centre', g.centre.subarray(2, 4), [pixelToGrid(2, W), pixelToGrid(3, H)], 1e-6, 0);
    expectClose('plus spread', [g.spread[1]], [Math.sqrt(4 / 8)], 1e-6, 0); // 4 arms of weight 1 at distance 1, total 8
    expect(g.halfMaxPixels[1]).toBe(5);
    expect(Array.from(g.peak.subarray(4, 6))).toEqual([0, 0]);
    expect(g.halfMaxPixels[2]).toBe(0);
  });
});
