/**
 * `v1x finetune --vgg16 random` (issue 14): a readout trained on the task-driven core (VGG16 cut after conv2_2,
 * torchvision's init from --seed, BatchNorm fitted to the scan's training images, ReLU) on a small simulated scan
 * (30 neurons, 290 trials, 3 epochs), as a user runs it. The full model it writes is an ordinary neuralpredictors
 * model: v1x reads it back with no config (the keys say TransferLearningCore, vgg16, 8 children) and, when the
 * PyTorch reference environment is there, neuralpredictors' own TransferLearningCore + FullGaussian2d load it
 * strictly and predict the same responses within 1e-4 + 1e-4|ref|. Bad uses fail with a message naming the cause.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { toFloat32 } from '../../src/io/host_tensor';
import { writeNpy } from '../../src/io/npy';
import { loadScanFromPath } from '../../src/io/scan/node_dir_source';
import { normalizedImages } from '../../src/io/scan/normalize';
import { tierIndices } from '../../src/io/scan/tiers';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { defaultParsedConfig } from '../../src/model/config';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { noTorchReason, TORCH_PYTHON, VGG } from '../fixtures/paths';
import { fixtureNpy } from '../model/factorized_fixture';
import { expectClose } from '../model/fixture';

const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'bin/v1x.mjs');
const DEMO = join(ROOT, 'public/demo/model.pth');
const DEMO_CONFIG = join(ROOT, 'public/demo/config.json');
const dir = mkdtempSync(join(tmpdir(), 'v1x-vgg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('v1x finetune --vgg16', () => {
  const scan = join(dir, 's.zip');
  const full = join(dir, 'model.pth');

  it('trains a readout on a random VGG16 conv2_2 core and writes a neuralpredictors model', async () => {
    const sim = v1x(
      'simulate',
      '--checkpoint',
      DEMO,
      '--config',
      DEMO_CONFIG,
      '--neurons',
      '30',
      '--seed',
      '3',
      '--trials',
      '200,50,10x4',
      '--out',
      scan,
    );
    expect(sim.code, sim.stderr).toBe(0);
    const r = v1x(
      'finetune',
      '--vgg16',
      'random',
      '--scan',
      scan,
      '--out',
      join(dir, 'readout.pth'),
      '--full-model',
      full,
      '--max-epochs',
      '3',
      '--seed',
      '5',
      '--threads',
      '1',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "core: vgg16 features cut after 8 children (128x18x32 out), random weights (torchvision's init, seed 5), BatchNorm statistics from 200 images",
    );
    const out = JSON.parse(r.stdout);
    console.log(`random VGG16 conv2_2, 3 epochs: test correlation ${out.test_correlation.toFixed(3)}`);
    expect(out.checkpoint).toBe('vgg16-random-seed5');
    expect(Number.isFinite(out.test_correlation)).toBe(true);

    // read back with no config: the keys say what the core is
    await initNodeBackend('cpu');
    const sd = await readCheckpoint(new Uint8Array(readFileSync(full)), 'model.pth');
    expect(sd.has('core.features.TransferLearning.7.weight')).toBe(true);
    const mean = toFloat32(sd.get('core.features.OutBatchNorm.running_mean')!);
    expect(mean.some((v) => v !== 0)).toBe(true); // fitted, not torch's initial zeros
    const encoder = encoderFromStateDict(sd, defaultParsedConfig().config, 'model.pth');
    expect(encoder.architecture.core.transferLearning?.layers).toBe(8);
    const s = await loadScanFromPath(scan);
    const images = normalizedImages(s, tierIndices(s, 'test').slice(0, 6));
    const ours = await encoder.predict(images);
    encoder.dispose();
    if (!existsSync(TORCH_PYTHON)) {
      console.log(noTorchReason('loading the exported VGG model into neuralpredictors'));
      return;
    }
    const inPath = join(dir, 'images.npy');
    const refPath = join(dir, 'responses.npy');
    writeFileSync(inPath, writeNpy({ dtype: 'float32', shape: [6, 1, 36, 64], data: images }));
    const py = spawnSync(
      TORCH_PYTHON,
      [
        join(VGG, 'np_load_predict.py'),
        full,
        inPath,
        refPath,
        '--hidden-layers',
        '1',
        '--hidden-features',
        '30',
        '--final-tanh',
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(py.status, py.stderr).toBe(0);
    const e = expectClose('responses in neuralpredictors', ours.data, fixtureNpy(refPath).data, 1e-4, 1e-4);
    console.log(`exported VGG model in neuralpredictors (strict load): max |diff| responses ${e.toExponential(2)}`);
  }, 900_000);

  it('refuses --vgg16 with --checkpoint, and a missing file, naming it', () => {
    const both = v1x(
      'finetune',
      '--vgg16',
      'random',
      '--checkpoint',
      DEMO,
      '--scan',
      scan,
      '--out',
      join(dir, 'x.pth'),
    );
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('give --checkpoint or --vgg16, not both');
    const missing = join(dir, 'vgg16-397923af.pth');
    const r = v1x('finetune', '--vgg16', missing, '--scan', scan, '--out', join(dir, 'x.pth'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain('no such file');
  }, 300_000);
});
