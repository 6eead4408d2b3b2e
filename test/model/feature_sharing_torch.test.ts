/**
 * An exported shared-feature model loads back into neuralpredictors: new readouts sharing their features (three
 * scans: the same six match ids, one in another order, one holding an id twice; Gaussian and factorized) get random
 * O(1) shared features, scales, biases, means / masks; the model is written as a .pth by our exporter
 * (model/to_state_dict.ts, io/torch_save.ts), and test/model/py/shared_readouts_np.py builds neuralpredictors'
 * MultiReadoutSharedParametersBase(share_features=True) with those match ids, loads the `readout.*` entries with
 * load_state_dict(strict=True) and predicts on our core's outputs: the responses agree within 1e-5 + 1e-5|ref|.
 * Skips with a one-line reason without the PyTorch environment (scripts/setup_torch.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { writeNpy } from '../../src/io/npy';
import { saveCheckpoint } from '../../src/io/torch_save';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../src/model/config';
import { encoderToStateDict } from '../../src/model/to_state_dict';
import { encoderWithNewReadouts, initCoreStateDict } from '../../src/train/end_to_end/new_model';
import { Rng } from '../../src/util/rng';
import { NEURALPREDICTORS, noTorchReason, TORCH_PYTHON } from '../fixtures/paths';
import { fixtureNpy } from './factorized_fixture';
import { expectClose } from './fixture';

const SCRIPT = fileURLToPath(new URL('./py/shared_readouts_np.py', import.meta.url));
const MATCH_IDS: Record<string, number[]> = {
  s0: [10, 11, 12, 13, 14, 15],
  s1: [14, 10, 15, 12, 11, 13],
  s2: [13, 12, 15, 10, 12, 14, 11],
};
const CONFIG: ModelConfig = {
  ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
  layers: 2,
  hidden_channels: 5,
  input_kern: 5,
  hidden_kern: 3,
  input_shape: [1, 16, 24],
  grid_mean_predictor: null,
  gauss_type: 'full',
};
const ready = existsSync(TORCH_PYTHON) && existsSync(join(NEURALPREDICTORS, 'neuralpredictors'));
const tmp = mkdtempSync(join(tmpdir(), 'v1x-share-np-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function randomize(v: tf.Variable, rng: Rng, scale: number, offset = 0): void {
  const t = tf.tensor(
    Float32Array.from({ length: v.size }, () => offset + scale * rng.normal()),
    v.shape,
  );
  v.assign(t);
  t.dispose();
}

if (!ready) console.log(noTorchReason('the neuralpredictors strict load of shared-feature readouts'));

describe('an exported shared-feature model in neuralpredictors', () => {
  beforeAll(async () => {
    await initNodeBackend('cpu');
  });

  for (const kind of ['gaussian', 'factorized'] as const) {
    it.skipIf(!ready)(`${kind}: load_state_dict(strict=True) and the same responses`, async () => {
      const keys = Object.keys(MATCH_IDS);
      const readouts = keys.map((key) => ({
        key,
        name: key,
        type: kind,
        neurons: MATCH_IDS[key].length,
        meanActivity: new Float64Array(MATCH_IDS[key].length).fill(0.5),
        matchIds: MATCH_IDS[key],
      }));
      const encoder = encoderWithNewReadouts(initCoreStateDict(CONFIG, 7), CONFIG, readouts, 7, 'new model', true);
      const dir = join(tmp, kind);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      try {
        const rng = new Rng(3);
        randomize(encoder.anyReadout('s0').features, rng, 0.5);
        for (const key of keys) {
          const r = encoder.anyReadout(key);
          randomize(r.scales!, rng, 0.3, 1);
          randomize(r.bias!, rng, 0.2);
          if (r.kind === 'gaussian') randomize(r.mu!, rng, 0.4);
          else randomize(r.spatial, rng, 1);
        }
        writeFileSync(join(dir, 'model.pth'), await saveCheckpoint(await encoderToStateDict(encoder)));
        const images = Float32Array.from({ length: 3 * 16 * 24 }, () => rng.normal());
        const maps = await encoder.coreOutput(images);
        writeFileSync(join(dir, 'maps.npy'), writeNpy(maps));
        const spec = {
          kind,
          gauss_type: 'full',
          keys,
          match_ids: MATCH_IDS,
          maps: Object.fromEntries(keys.map((k) => [k, join(dir, 'maps.npy')])),
        };
        writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
        const run = spawnSync(
          TORCH_PYTHON,
          [
            SCRIPT,
            '--neuralpredictors',
            NEURALPREDICTORS,
            '--model',
            join(dir, 'model.pth'),
            '--spec',
            join(dir, 'spec.json'),
            '--out',
            dir,
          ],
          { encoding: 'utf8' },
        );
        expect(run.status, run.stderr).toBe(0);
        const info = JSON.parse(run.stdout.trim().split('\n').pop()!) as { loaded: string[]; shared: boolean };
        expect(info.shared).toBe(true);
        expect(info.loaded).toContain('s2.feature_sharing_index');
        const errs: string[] = [];
        for (const key of keys) {
          const ours = await encoder.predict(images, { readout: key });
          const ref = fixtureNpy(join(dir, `responses_${key}.npy`)).data;
          errs.push(`${key} ${expectClose(`${kind} ${key}`, ours.data, ref, 1e-5, 1e-5).toExponential(1)}`);
        }
        console.log(`${kind}: neuralpredictors strict load, max |ours - theirs| ${errs.join(', ')}`);
      } finally {
        encoder.dispose();
      }
    });
  }
});
