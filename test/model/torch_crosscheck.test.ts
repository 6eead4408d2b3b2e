/**
 * Architecture variants the sensorium-sota fixture does not cover, checked against PyTorch
 * (test/model/py/torch_model_reference.py, run with the reference venv; skipped with the reason when it is missing):
 * plain hidden convs with biases, depth-separable convs with biases, non-affine BatchNorm with Bias2D / Scale2D,
 * pad_input, stack lists and null, final_nonlinearity=false, elu_offset, BatchNorm momentum null, uncorrelated and
 * isotropic Gaussians, free means (clamped in place), position networks of 0 and 2 hidden layers without tanh,
 * several readouts; then one training-mode step (batch statistics, running-average updates, sampled positions)
 * with the gradient of every parameter and of the images.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import type { HostTensor, StateDict } from '../../src/io/host_tensor';
import { parseNumericNpy, writeNpy } from '../../src/io/npy';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../src/model/config';
import { tfConvToTorch } from '../../src/model/core';
import type { Encoder } from '../../src/model/encoder';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { Rng } from '../../src/util/rng';
import { noTorchReason, TORCH_PYTHON as PYTHON } from '../fixtures/paths';
import { expectClose, expectGradClose } from './fixture';

const SCRIPT = fileURLToPath(new URL('./py/torch_model_reference.py', import.meta.url));
const skipReason = existsSync(PYTHON) ? '' : noTorchReason('the PyTorch cross-checks of architecture variants');
if (skipReason) console.log(skipReason);

interface Variant {
  name: string;
  config: ModelConfig;
  stateDict: StateDict;
  batch: number;
  /** Readout key -> gauss type and final tanh, as the Python side needs them. */
  readouts: Record<string, { type: string; final_tanh: boolean }>;
  trainReadout: string;
}

function makeVariants(): Variant[] {
  const rng = new Rng(21);
  const t = (shape: number[], scale = 0.3, offset = 0): HostTensor => ({
    dtype: 'float32',
    shape,
    data: rng.normalArray(shape.reduce((a, b) => a * b, 1)).map((v) => offset + scale * v),
  });
  const pos = (shape: number[]): HostTensor => ({
    dtype: 'float32',
    shape,
    data: rng.uniformArray(shape[0], 0.5, 1.5),
  });
  const nbt = (v: number): HostTensor => ({ dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(v)) });
  const bn = (sd: StateDict, layer: number, c: number, affine: boolean): void => {
    const p = `core.features.layer${layer}.norm.`;
    if (affine) {
      sd.set(p + 'weight', t([c], 0.2, 1));
      sd.set(p + 'bias', t([c], 0.1));
    }
    sd.set(p + 'running_mean', t([c], 0.2));
    sd.set(p + 'running_var', pos([c]));
    sd.set(p + 'num_batches_tracked', nbt(7));
  };
  const cfg = (over: Partial<ModelConfig>): ModelConfig => ({
    ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
    ...over,
  });

  // A: plain and depth-separable convs with biases, non-affine BatchNorm + Bias2D / Scale2D, pad_input, stack [0, 2],
  // no final ELU, elu_offset, uncorrelated Gaussian with free means (two of them outside [-1, 1]).
  const a: StateDict = new Map();
  a.set('core.features.layer0.conv.weight', t([4, 2, 5, 5]));
  bn(a, 0, 4, false);
  a.set('core.features.layer0.bias.bias', t([1, 4, 1, 1], 0.2));
  a.set('core.features.layer1.conv.weight', t([4, 4, 3, 3]));
  a.set('core.features.layer1.conv.bias', t([4], 0.1));
  bn(a, 1, 4, true);
  for (const [n, s] of [
    ['in_depth_conv', [4, 4, 1, 1]],
    ['spatial_conv', [4, 1, 5, 5]],
    ['out_depth_conv', [4, 4, 1, 1]],
  ] as const) {
    a.set(`core.features.layer2.ds_conv.${n}.weight`, t([...s], 0.4));
    a.set(`core.features.layer2.ds_conv.${n}.bias`, t([4], 0.1));
  }
  bn(a, 2, 4, false);
  a.set('core.features.layer2.scale.scale', t([1, 4, 1, 1], 0.2, 1));
  const muA = t([1, 7, 1, 2], 0.5);
  (muA.data as Float32Array).set([1.3, -1.1], 4);
  a.set('readout.a._mu', muA);
  a.set('readout.a.sigma', { dtype: 'float32', shape: [1, 7, 1, 2], data: rng.uniformArray(14, 0.05, 0.3) });
  a.set('readout.a._features', t([1, 8, 1, 7]));
  a.set('readout.a.bias', t([7], 0.2));

  // B: valid first conv, depth-separable without biases, stack null, BatchNorm momentum null (cumulative average),
  // two readouts with position networks (2 hidden layers, isotropic; 0 hidden layers, full), no final tanh.
  const b: StateDict = new Map();
  b.set('core.features.layer0.conv.weight', t([3, 1, 5, 5]));
  bn(b, 0, 3, true);
  b.set('core.features.layer1.ds_conv.in_depth_conv.weight', t([3, 3, 1, 1], 0.5));
  b.set('core.features.layer1.ds_conv.spatial_conv.weight', t([3, 1, 3, 3], 0.5));
  b.set('core.features.layer1.ds_conv.out_depth_conv.weight', t([3, 3, 1, 1], 0.5));
  bn(b, 1, 3, true);
  b.set('readout.iso.sigma', { dtype: 'float32', shape: [1, 5, 1, 1], data: rng.uniformArray(5, 0.05, 0.3) });
  b.set('readout.iso._features', t([1, 6, 1, 5]));
  b.set('readout.iso.bias', t([5], 0.2));
  b.set('readout.iso.source_grid', t([5, 3], 0.5));
  b.set('readout.iso.mu_transform.0.weight', t([4, 3], 0.5));
  b.set('readout.iso.mu_transform.0.bias', t([4], 0.1));
  b.set('readout.iso.mu_transform.2.weight', t([4, 4], 0.5));
  b.set('readout.iso.mu_transform.2.bias', t([4], 0.1));
  b.set('readout.iso.mu_transform.4.weight', t([2, 4], 0.5));
  b.set('readout.iso.mu_transform.4.bias', t([2], 0.1));
  b.set('readout.full0.sigma', t([1, 6, 2, 2], 0.2));
  b.set('readout.full0._features', t([1, 6, 1, 6]));
  b.set('readout.full0.bias', t([6], 0.2));
  b.set('readout.full0.source_grid', t([6, 3], 0.5));
  b.set('readout.full0.mu_transform.0.weight', t([2, 3], 0.5));
  b.set('readout.full0.mu_transform.0.bias', t([2], 0.1));

  return [
    {
      name: 'A: plain + depth-separable convs with biases, Bias2D/Scale2D, pad_input, stack [0, 2], uncorrelated, free mu',
      config: cfg({
        pad_input: true,
        final_nonlinearity: false,
        stack: [0, 2],
        elu_offset: -0.5,
        input_shape: [2, 10, 12],
        gauss_type: 'uncorrelated',
        grid_mean_predictor: null,
      }),
      stateDict: a,
      batch: 3,
      readouts: { a: { type: 'uncorrelated', final_tanh: false } },
      trainReadout: 'a',
    },
    {
      name: 'B: valid conv, stack null, momentum null, isotropic + full readouts with position networks, no tanh',
      config: cfg({
        pad_input: false,
        stack: null,
        momentum: null,
        input_shape: [1, 12, 14],
        grid_mean_predictor: {
          type: 'cortex',
          input_dimensions: 3,
          hidden_layers: 2,
          hidden_features: 4,
          final_tanh: false,
        },
      }),
      stateDict: b,
      batch: 4,
      readouts: { iso: { type: 'isotropic', final_tanh: false }, full0: { type: 'full', final_tanh: false } },
      trainReadout: 'iso',
    },
  ];
}

describe.skipIf(!!skipReason).each(makeVariants())('PyTorch cross-check, $name', (v) => {
  let dir: string;
  let ref: Map<string, HostTensor<'float32'>>;
  let enc: Encoder;
  const rng = new Rng(99);
  const [C, H, W] = v.config.input_shape;
  const images = rng.normalArray(v.batch * C * H * W);

  beforeAll(async () => {
    await initNodeBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'v1x-torch-xcheck-'));
    const files: Record<string, string> = {};
    let i = 0;
    for (const [k, t] of v.stateDict) {
      files[k] = `sd_${i++}.npy`;
      writeFileSync(join(dir, files[k]), writeNpy(t));
    }
    const enc0 = encoderFromStateDict(v.stateDict, v.config, 'variant.pth');
    const n = enc0.readout(v.trainReadout).neurons;
    enc0.dispose();
    writeFileSync(join(dir, 'images.npy'), writeNpy({ dtype: 'float32', shape: [v.batch, C, H, W], data: images }));
    writeFileSync(
      join(dir, 'noise.npy'),
      writeNpy({ dtype: 'float32', shape: [v.batch, n, 2], data: rng.normalArray(v.batch * n * 2) }),
    );
    writeFileSync(
      join(dir, 'loss_weights.npy'),
      writeNpy({ dtype: 'float32', shape: [v.batch, n], data: rng.normalArray(v.batch * n) }),
    );
    writeFileSync(
      join(dir, 'spec.json'),
      JSON.stringify({ config: v.config, files, readouts: v.readouts, train_readout: v.trainReadout }),
    );
    execFileSync(PYTHON, [SCRIPT, dir], { encoding: 'utf8', timeout: 120_000 });
    const index = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<string, string>;
    ref = new Map(
      Object.entries(index).map(([k, f]) => [
        k,
        parseNumericNpy(new Uint8Array(readFileSync(join(dir, f))), f) as HostTensor<'float32'>,
      ]),
    );
    enc = encoderFromStateDict(v.stateDict, v.config, 'variant.pth');
  });
  afterAll(() => {
    enc?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const r = (k: string): Float32Array => {
    const t = ref.get(k);
    if (!t) throw new Error(`the PyTorch reference has no '${k}'`);
    return t.data;
  };

  it('eval: core output, grids and responses of every readout', async () => {
    const x = { dtype: 'float32' as const, shape: [v.batch, C, H, W], data: images };
    expectClose('core', (await enc.coreOutput(x)).data, r('core_eval'), 1e-4, 1e-4);
    for (const key of Object.keys(v.readouts)) {
      const g = enc.readout(key).grid();
      expectClose(`grid ${key}`, await g.data(), r(`grid_${key}`), 1e-6, 1e-6);
      g.dispose();
      expectClose(`responses ${key}`, (await enc.predict(x, { readout: key })).data, r(`eval_${key}`), 1e-4, 1e-4);
    }
  });

  it('training step: batch-statistics BatchNorm, running averages, sampled positions, every gradient', async () => {
    const xs = tf.variable(tf.tensor4d(images, [v.batch, C, H, W]));
    const readout = enc.readout(v.trainReadout);
    const n = readout.neurons;
    const noise = parseNumericNpy(new Uint8Array(readFileSync(join(dir, 'noise.npy')))).data as Float32Array;
    const weights = tf.tensor2d(
      parseNumericNpy(new Uint8Array(readFileSync(join(dir, 'loss_weights.npy')))).data as Float32Array,
      [v.batch, n],
    );
    const sampled = readout.sampleGrid(v.batch, noise);
    expectClose('sampled grid', await sampled.data(), r('sampled_grid'), 1e-6, 1e-6);
    sampled.dispose();
    const vars = [...enc.core.trainableVariables(), ...readout.variables(), xs];
    let responses: Float32Array = new Float32Array();
    const { grads, value } = tf.variableGrads(() => {
      const y = enc.forward(xs, { readout: v.trainReadout, training: true, sample: true, noise });
      responses = y.dataSync() as Float32Array;
      return y.mul(weights).sum() as tf.Scalar;
    }, vars);
    expectClose('training-mode responses', responses, r('train_responses'), 1e-4, 1e-4);
    for (const layer of enc.core.layers) {
      if (!layer.norm) continue;
      const i = layer.spec.index;
      expectClose(`running_mean ${i}`, await layer.norm.runningMean.data(), r(`running_mean_${i}`), 1e-6, 1e-5);
      expectClose(`running_var ${i}`, await layer.norm.runningVar.data(), r(`running_var_${i}`), 1e-6, 1e-5);
      expect(layer.norm.numBatchesTracked).toBe(r(`num_batches_tracked_${i}`)[0]);
    }
    // Every gradient, mapped back to its state_dict key and PyTorch layout.
    const check = async (key: string, g: tf.Tensor | undefined): Promise<void> => {
      expect(g, `gradient of ${key}`).toBeDefined();
      // Floor: the gradients here are O(0.1-10); a conv bias feeding batch-statistics BatchNorm has gradient zero
      // up to float32 round-off (~1e-7) on both sides.
      expectGradClose(`grad ${key}`, await g!.data(), r(`grad:${key}`), 1e-5);
    };
    let checked = 0;
    for (const layer of enc.core.layers) {
      for (const c of layer.convs) {
        const gw = tf.tidy(() => tfConvToTorch(grads[c.weight.name] as tf.Tensor4D, c.spec.groups > 1));
        await check(c.spec.weightKey, gw);
        gw.dispose();
        if (c.bias) await check(c.spec.biasKey!, grads[c.bias.name]);
        checked += c.bias ? 2 : 1;
      }
      const np = layer.spec.batchNorm?.prefix;
      if (layer.norm?.weight) {
        await check(`${np}weight`, grads[layer.norm.weight.name]);
        checked++;
      }
      if (layer.norm?.bias) {
        await check(`${np}bias`, grads[layer.norm.bias.name]);
        checked++;
      }
      if (layer.bias) {
        await check(layer.spec.biasKey!, grads[layer.bias.name]);
        checked++;
      }
      if (layer.scale) {
        await check(layer.spec.scaleKey!, grads[layer.scale.name]);
        checked++;
      }
    }
    const p = `readout.${v.trainReadout}.`;
    await check(`${p}_features`, grads[readout.features.name]);
    await check(`${p}bias`, grads[readout.bias!.name]);
    await check(`${p}sigma`, grads[readout.sigma.name]);
    checked += 3;
    if (readout.mu) {
      await check(`${p}_mu`, grads[readout.mu.name]);
      checked++;
    }
    for (const [i, w] of (readout.positionNetwork?.weights ?? []).entries()) {
      await check(`${p}mu_transform.${2 * i}.weight`, grads[w.name]);
      await check(`${p}mu_transform.${2 * i}.bias`, grads[readout.positionNetwork!.biases[i].name]);
      checked += 2;
    }
    expectGradClose('grad images', await grads[xs.name].data(), r('grad_images'));
    // Nothing left unchecked: every parameter the PyTorch side differentiated has been compared.
    const torchGrads = [...ref.keys()].filter((k) => k.startsWith('grad:'));
    expect(checked).toBe(torchGrads.length);
    tf.dispose([xs, weights, value]);
    tf.dispose(Object.values(grads));
  });
});
