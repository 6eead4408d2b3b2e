/**
 * A torchvision VGG16 state_dict file (the layout of vgg16-397923af.pth: features.<i>.*, classifier.*; the real
 * shapes, 138,357,544 parameters, 553 MB) becomes the TransferLearningCore cut after conv2_2, reading only the kept
 * convs' bytes. test/fixtures/vgg/make_torchvision_file.py writes the file into a temporary folder with torch.save,
 * in the zip format and the legacy one (torchvision's 2017 files), the kept convs taken from the vgg fixture's
 * model.pth. Per format: the file is opened as a Blob (fs.openAsBlob: never read whole) and
 * - the core's state_dict holds exactly the kept convs, bit-equal to the fixture's, and a fresh OutBatchNorm;
 * - the reader's counts: nothing was inflated or read but data.pkl (or the legacy pickles) and the 8 kept
 *   storages (1,040,640 bytes), and the bytes fetched from the file are those plus the zip's directory and
 *   headers, under 0.5% of the file;
 * - with the fixture's OutBatchNorm and readout, the model predicts the fixture's PyTorch responses within
 *   1e-4 + 1e-4|ref|.
 * Needs the PyTorch reference environment (skips with a reason without it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openAsBlob, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { newReadStats } from '../../src/io/byte_source';
import { type StateDict, toFloat32 } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { parseModelConfigText } from '../../src/model/config';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { OUT_BATCHNORM_PREFIX, TL_PREFIX } from '../../src/model/transfer_learning_core';
import { readTorchvisionCore } from '../../src/model/vgg_weights';
import { noTorchReason, TORCH_PYTHON, VGG } from '../fixtures/paths';
import { fixtureNpy } from './factorized_fixture';
import { expectClose } from './fixture';

const skipReason = existsSync(TORCH_PYTHON) ? '' : noTorchReason('the torchvision VGG16 file test');
if (skipReason) console.log(skipReason);

/** The kept convs (features.0, 2, 5, 7) in float32 bytes: weights and biases. */
const KEPT_BYTES = 4 * (64 * 3 * 9 + 64 + 64 * 64 * 9 + 64 + 128 * 64 * 9 + 128 + 128 * 128 * 9 + 128);

describe.skipIf(!!skipReason)('a torchvision VGG16 state_dict file as a TransferLearningCore', () => {
  let dir = '';
  let fixture: StateDict;
  beforeAll(async () => {
    await initNodeBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'v1x-vgg16-'));
    for (const legacy of [false, true]) {
      const out = join(dir, legacy ? 'vgg16-legacy.pth' : 'vgg16.pth');
      const r = spawnSync(TORCH_PYTHON, [join(VGG, 'make_torchvision_file.py'), out, ...(legacy ? ['--legacy'] : [])], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      if (r.status !== 0) throw new Error(`make_torchvision_file.py failed: ${r.stderr || r.error}`);
    }
    fixture = await readCheckpoint(new Uint8Array(readFileSync(join(VGG, 'model.pth'))), 'model.pth');
  }, 600_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const format of ['zip', 'legacy'] as const) {
    it(`${format} format: only the kept convs are read, and the core predicts as PyTorch`, async () => {
      const path = join(dir, format === 'legacy' ? 'vgg16-legacy.pth' : 'vgg16.pth');
      const size = statSync(path).size;
      expect(size).toBeGreaterThan(550e6);
      const stats = newReadStats();
      const read = await readTorchvisionCore(await openAsBlob(path), 'vgg16.pth', {}, stats);
      expect(read.format).toBe(format);

      // the core's state_dict: the kept convs, bit-equal to the fixture's, and a fresh OutBatchNorm
      const convKeys = [0, 2, 5, 7].flatMap((i) => [`${TL_PREFIX}${i}.weight`, `${TL_PREFIX}${i}.bias`]);
      const bnKeys = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map(
        (k) => OUT_BATCHNORM_PREFIX + k,
      );
      expect([...read.stateDict.keys()].sort()).toEqual([...convKeys, ...bnKeys].sort());
      for (const k of convKeys) {
        expect(read.stateDict.get(k)!.shape, k).toEqual(fixture.get(k)!.shape);
        expect(
          Buffer.from(toFloat32(read.stateDict.get(k)!).buffer).equals(Buffer.from(toFloat32(fixture.get(k)!).buffer)),
          k,
        ).toBe(true);
      }

      // what was read: the pickle(s) and the 8 kept storages, nothing else
      const parts = [...stats.parts.entries()];
      const storages = parts.filter(([n]) => (format === 'zip' ? /\/data\/\d+$/.test(n) : n.startsWith('storage ')));
      const other = parts.filter((p) => !storages.includes(p)).map(([n]) => n);
      expect(storages.length).toBe(8);
      expect(storages.reduce((a, [, b]) => a + b, 0)).toBe(KEPT_BYTES);
      for (const n of other) expect(n).toMatch(format === 'zip' ? /(^|\/)(data\.pkl|byteorder)$/ : /^pickles$/);
      const pickleBytes = parts.filter(([n]) => other.includes(n)).reduce((a, [, b]) => a + b, 0);
      console.log(
        `${format}: ${size} bytes in the file; read ${stats.sourceBytes} bytes in ${stats.sourceReads} reads ` +
          `(${((100 * stats.sourceBytes) / size).toFixed(3)}%): ${KEPT_BYTES} of kept storages, ${pickleBytes} of pickle, ` +
          `parts ${parts.map(([n, b]) => `${n}=${b}`).join(', ')}`,
      );
      expect(stats.sourceBytes).toBeGreaterThanOrEqual(KEPT_BYTES);
      expect(stats.sourceBytes).toBeLessThan(0.005 * size);

      // with the fixture's OutBatchNorm and readout: the fixture's PyTorch responses
      const sd: StateDict = new Map(fixture);
      for (const k of convKeys) sd.set(k, read.stateDict.get(k)!);
      const cfg = parseModelConfigText(readFileSync(join(VGG, 'config.json'), 'utf8'), 'config.json');
      const encoder = encoderFromStateDict(sd, cfg.config, 'vgg16.pth + fixture readout', { configGiven: cfg.given });
      const resp = await encoder.predict(fixtureNpy(join(VGG, 'images.npy')), { readout: 'vgg' });
      const e = expectClose('responses', resp.data, fixtureNpy(join(VGG, 'responses.npy')).data, 1e-4, 1e-4);
      console.log(`${format}: max |diff| responses ${e.toExponential(2)}`);
      encoder.dispose();
    }, 300_000);
  }
});
