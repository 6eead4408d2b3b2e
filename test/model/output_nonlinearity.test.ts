/**
 * The encoder's output nonlinearity from a config's `nonlinearity_type` (FiringRateEncoder's: elu, Log1Exp =
 * softplus, identity), so that a model fine-tuned with another output predicts with it when reloaded: responses are
 * elu(y) + 1, softplus(y) or y of the same readout value y (checked against each other on the fixture, wasm), and the
 * per-entry definitions (model/output_loss.ts) agree with the tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import type { StateDict } from '../../src/io/host_tensor';
import { DEFAULT_MODEL_CONFIG, parseModelConfig } from '../../src/model/config';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { outputValue } from '../../src/model/output_loss';
import { fixtureStateDict, npy } from './fixture';

let sd: StateDict;
beforeAll(async () => {
  await initNodeBackend('wasm');
  sd = await fixtureStateDict();
});

describe('output nonlinearity from the config', () => {
  it('elu + 1 by default; Log1Exp and identity when the config says so', async () => {
    const images = npy('inputs.npy').data.subarray(0, 2 * 36 * 64) as Float32Array;
    const predict = async (nonlinearity: string | null) => {
      const config = nonlinearity
        ? parseModelConfig({ ...DEFAULT_MODEL_CONFIG, nonlinearity_type: nonlinearity }, 'c.json')
        : DEFAULT_MODEL_CONFIG;
      const enc = encoderFromStateDict(sd, config, 'model.pth');
      try {
        return { output: enc.output, r: (await enc.predict(images, { batchSize: 2 })).data as Float32Array };
      } finally {
        enc.dispose();
      }
    };
    const before = tf.memory().numTensors;
    const elu = await predict(null);
    const soft = await predict('Log1Exp');
    const id = await predict('identity');
    expect(tf.memory().numTensors).toBe(before);
    expect([elu.output, soft.output, id.output]).toEqual(['elu', 'softplus', 'identity']);
    let worst = 0,
      negatives = 0;
    for (let i = 0; i < id.r.length; i++) {
      const y = id.r[i];
      if (y < 0) negatives++;
      worst = Math.max(
        worst,
        Math.abs(elu.r[i] - outputValue('elu', y)),
        Math.abs(soft.r[i] - outputValue('softplus', y)),
      );
    }
    expect(worst).toBeLessThan(1e-5);
    expect(negatives, 'the identity output must show negative values for the check to mean anything').toBeGreaterThan(
      0,
    );
    expect(() => parseModelConfig({ nonlinearity_type: 'relu' }, 'c.json')).toThrow(/c\.json: .*nonlinearity_type/);
  });
});
