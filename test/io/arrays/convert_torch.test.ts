/**
 * `v1x convert`'s zip read by neuralpredictors' own FileTreeDataset (third_party/neuralpredictors, or
 * $V1X_NEURALPREDICTORS) with its NeuroNormalizer: every trial's images and responses, raw and normalized, the tiers,
 * image ids and unit ids are what our loader reads from the same zip. Skips with one line when the PyTorch reference
 * environment (scripts/setup_torch.sh) is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../../src/io/npy';
import { normalizedImages, normalizedResponses } from '../../../src/io/scan';
import { loadScanFromPath } from '../../../src/io/scan/node_dir_source';
import { writeZip } from '../../../src/io/zip_archive';
import { Rng } from '../../../src/util/rng';
import { NEURALPREDICTORS, noTorchReason, TORCH_PYTHON } from '../../fixtures/paths';
import { PY_DIR } from '../torch_reference';

const haveTorch = existsSync(TORCH_PYTHON);
if (!haveTorch) console.log(noTorchReason("the check that neuralpredictors' FileTreeDataset reads v1x convert's zip"));
const BIN = join(__dirname, '../../../bin/v1x.mjs');
const dir = mkdtempSync(join(tmpdir(), 'v1x-convert-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveTorch)("v1x convert -> neuralpredictors' FileTreeDataset", () => {
  it('reads every trial, the normalization statistics and the trial and neuron tables as our loader does', async () => {
    const [N, C, H, W, K, M, R] = [40, 2, 5, 7, 6, 3, 4];
    const rng = new Rng(5);
    const images = Float32Array.from({ length: N * C * H * W }, () => rng.uniform() * 255);
    const responses = Float32Array.from({ length: N * K }, () => rng.gamma(2));
    const testImages = Uint8Array.from({ length: M * C * H * W }, () => rng.int(256));
    const repeats = Float32Array.from({ length: R * M * K }, () => rng.gamma(2));
    writeFileSync(
      join(dir, 'data.npz'),
      await writeZip([
        { name: 'images.npy', data: writeNpy({ dtype: 'float32', shape: [N, C, H, W], data: images }) },
        { name: 'responses.npy', data: writeNpy({ dtype: 'float32', shape: [N, K], data: responses }) },
        { name: 'test_images.npy', data: writeNpy({ dtype: 'uint8', shape: [M, C, H, W], data: testImages }) },
        { name: 'test_repeats.npy', data: writeNpy({ dtype: 'float32', shape: [R, M, K], data: repeats }) },
      ]),
    );
    const npz = join(dir, 'data.npz');
    const out = join(dir, 'static-np.zip');
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'convert',
        '--images',
        `${npz}:images`,
        '--responses',
        `${npz}:responses`,
        '--test-images',
        `${npz}:test_images`,
        '--test-repeats',
        `${npz}:test_repeats`,
        '--seed',
        '2',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const ours = await loadScanFromPath(out);
    const ref = JSON.parse(
      execFileSync(TORCH_PYTHON, [join(PY_DIR, 'read_filetree.py'), NEURALPREDICTORS, out, join(dir, 'unzipped')], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
        timeout: 120_000,
      }),
    );
    const T = N + R * M;
    expect(ref.length).toBe(T);
    expect(ref.n_neurons).toBe(K);
    expect(ref.img_shape).toEqual([1, C, H, W]);
    expect(ref.image_dtype).toBe('float32');
    // raw values: exactly the float32 values our loader holds
    expect(ref.images).toEqual(Array.from(ours.images));
    expect(ref.responses).toEqual(Array.from(ours.responses));
    expect(ref.tiers).toEqual(ours.tiers);
    expect(ref.frame_image_id).toEqual(Array.from(ours.frameImageId));
    expect(ref.unit_ids).toEqual(ours.unitIds);
    // normalized with the statistics the writer computed: NeuroNormalizer against ours, float32 rounding apart
    const all = Int32Array.from({ length: T }, (_, i) => i);
    const close = (a: ArrayLike<number>, b: number[]) => {
      let worst = 0;
      for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
      return worst;
    };
    expect(close(normalizedImages(ours, all), ref.norm_images)).toBeLessThan(1e-6);
    expect(close(normalizedResponses(ours, all), ref.norm_responses)).toBeLessThan(1e-6);
  });
});
