/**
 * fixtures/sim-scan/static-sim-a loads to the same arrays from the zip, from the unpacked folder and from
 * browser-style File objects, with the counts and statistics its README states; and, when the PyTorch
 * reference venv is there, to the same numbers NumPy reads (NeuroNormalizer's precision rule written out
 * in Python as neuralpredictors has it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileListScanSource } from '../../../src/io/scan/file_list_source';
import { loadScan } from '../../../src/io/scan/load_scan';
import { nodeDirScanSource, openScanPath } from '../../../src/io/scan/node_dir_source';
import { normalizedImages, normalizedResponses } from '../../../src/io/scan/normalize';
import { repeatGroups, tierCounts, tierIndices } from '../../../src/io/scan/tiers';
import type { Scan } from '../../../src/io/scan/types';
import { ZipArchive } from '../../../src/io/zip_archive';
import { noTorchReason, TORCH_PYTHON as PYTHON, SIM_ZIP as ZIP } from '../../fixtures/paths';

const havePython = existsSync(PYTHON);
if (!havePython) console.log(noTorchReason('the comparison of static-sim-a with what NumPy reads'));

let tmp = '';

/** Byte-for-byte equality of two typed arrays (vitest's toEqual walks millions of elements one by one). */
function sameBytes(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.constructor !== b.constructor) return false;
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}
let fromZip: Scan;
let fromDir: Scan;

/** Unpacks with `unzip` when installed, else entry by entry with our ZipArchive. */
async function unpack(zip: string, dest: string): Promise<void> {
  try {
    execFileSync('unzip', ['-q', zip, '-d', dest], { stdio: 'ignore' });
    return;
  } catch {
    /* no unzip: do it ourselves */
  }
  const archive = await ZipArchive.open(await openAsBlob(zip), zip);
  for (const name of archive.names()) {
    const out = join(dest, name);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, await archive.read(name));
  }
  await archive.close();
}

describe('static-sim-a', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'v1x-scan-'));
    await unpack(ZIP, tmp);
    const progress: number[] = [];
    fromZip = await loadScan(await openScanPath(ZIP), { onProgress: (done, total) => progress.push(done / total) });
    expect(progress.length).toBeGreaterThan(10);
    expect(progress.at(-1)).toBe(1);
    for (let k = 1; k < progress.length; k++) expect(progress[k]).toBeGreaterThanOrEqual(progress[k - 1]);
    // The folder that holds the scan root, as a user would pick it after unzipping.
    fromDir = await loadScan(nodeDirScanSource(tmp));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('has the counts, shapes and tiers of its README', () => {
    for (const scan of [fromZip, fromDir]) {
      expect(scan.name).toBe('static-sim-a');
      expect(scan.dataKey).toBe('90101-1-1');
      expect(scan.nTrials).toBe(5500);
      expect(scan.nNeurons).toBe(1000);
      expect(scan.imageShape).toEqual([1, 36, 64]);
      expect(scan.images).toBeInstanceOf(Uint8Array);
      expect(Object.fromEntries(tierCounts(scan))).toEqual({ train: 4000, validation: 500, test: 1000 });
      expect(scan.warnings).toEqual([]);
      const groups = repeatGroups(scan, 'test');
      expect(groups.length).toBe(100);
      expect(groups.every((g) => g.length === 10)).toBe(true);
      expect(repeatGroups(scan, 'train').every((g) => g.length === 1)).toBe(true);
      expect(new Set(scan.unitIds).size).toBe(1000);
      expect(scan.unitIds.every((u, i) => i === 0 || u > scan.unitIds[i - 1])).toBe(true);
      const order = Array.from(scan.trialIdx!).sort((a, b) => a - b);
      expect(order.every((v, i) => v === i)).toBe(true);
      expect(scan.frameImageClass!.every((c) => c === 'natural')).toBe(true);
      for (let n = 0; n < 1000; n++) {
        const z = scan.cellMotorCoordinates![3 * n + 2];
        expect(z >= 200 && z <= 300).toBe(true);
      }
    }
  });

  it('zip and folder give identical arrays', () => {
    expect(sameBytes(fromDir.images, fromZip.images)).toBe(true);
    expect(sameBytes(fromDir.responses, fromZip.responses)).toBe(true);
    expect(fromDir.tiers).toEqual(fromZip.tiers);
    expect(sameBytes(fromDir.frameImageId, fromZip.frameImageId)).toBe(true);
    expect(sameBytes(fromDir.trialIdx, fromZip.trialIdx)).toBe(true);
    expect(fromDir.unitIds).toEqual(fromZip.unitIds);
    expect(sameBytes(fromDir.cellMotorCoordinates, fromZip.cellMotorCoordinates)).toBe(true);
    expect(fromDir.statistics).toEqual(fromZip.statistics);
    expect(sameBytes(fromDir.normalizer.responsePrecision, fromZip.normalizer.responsePrecision)).toBe(true);
    expect([fromDir.normalizer.imageMean, fromDir.normalizer.imageStd]).toEqual([
      fromZip.normalizer.imageMean,
      fromZip.normalizer.imageStd,
    ]);
    // A changed value would be seen: the comparison is not vacuous.
    const copy = fromZip.responses.slice();
    copy[123456] += 1;
    expect(sameBytes(copy, fromZip.responses)).toBe(false);
  });

  it('browser-style File objects give the same arrays', async () => {
    // What a folder picker hands the page: one File per file, each with its path in the picked folder.
    const src = nodeDirScanSource(tmp);
    const files = await Promise.all(
      src
        .list()
        .map(async (p) => ({ file: await openAsBlob(join(tmp, 'static-sim-a', p)), path: `static-sim-a/${p}` })),
    );
    const scan = await loadScan(fileListScanSource(files));
    expect(scan.name).toBe('static-sim-a');
    expect(sameBytes(scan.responses, fromZip.responses)).toBe(true);
    expect(sameBytes(scan.images, fromZip.images)).toBe(true);
  });

  it('normalizes as the README says (NeuroNormalizer, stats_source all)', () => {
    const { imageMean, imageStd, responsePrecision } = fromZip.normalizer;
    expect(imageMean).toBeCloseTo(108.5272, 3);
    expect(imageStd).toBeCloseTo(58.8938, 3);
    const std = fromZip.statistics.responses.std;
    const threshold = (0.01 * std.reduce((a, b) => a + b, 0)) / std.length;
    // README: every neuron is above the threshold, so precision = 1 / std.
    for (let n = 0; n < 1000; n++) {
      expect(std[n]).toBeGreaterThan(threshold);
      expect(responsePrecision[n]).toBeCloseTo(1 / std[n], 5);
    }
    const test = tierIndices(fromZip, 'test');
    const imgs = normalizedImages(fromZip, test.subarray(0, 3));
    const per = 36 * 64;
    for (let k = 0; k < 3; k++) {
      for (const p of [0, 100, per - 1]) {
        expect(imgs[k * per + p]).toBeCloseTo((fromZip.images[test[k] * per + p] - 108.5272) / 58.8938, 4);
      }
    }
    const resp = normalizedResponses(fromZip, [5, 17]);
    expect(resp[1000 + 3]).toBeCloseTo(fromZip.responses[17 * 1000 + 3] / std[3], 5);
  });

  it.skipIf(!havePython)('matches what NumPy reads from the same files', () => {
    const script = `
import json, sys, numpy as np
root = sys.argv[1] + '/static-sim-a'
resp = np.stack([np.load(f'{root}/data/responses/{i}.npy') for i in range(5500)])
imgs = np.stack([np.load(f'{root}/data/images/{i}.npy') for i in range(5500)])
s = np.array(np.load(f'{root}/meta/statistics/responses/all/std.npy'))
# neuralpredictors NeuroNormalizer, verbatim
threshold = 0.01 * np.nanmean(s)
idx = s > threshold
prec = np.ones_like(s) / threshold
prec[idx] = 1 / s[idx]
m = np.load(f'{root}/meta/statistics/images/all/mean.npy')[()]
sd = np.load(f'{root}/meta/statistics/images/all/std.npy')[()]
tiers = np.load(f'{root}/meta/trials/tiers.npy')
test = np.where(tiers == 'test')[0]
print(json.dumps({
  'resp_sum': float(resp.astype(np.float64).sum()),
  'resp_rows': resp[[0, 17, 5499]].tolist(),
  'img_sum': int(imgs.astype(np.int64).sum()),
  'img_1234': imgs[1234].ravel().tolist(),
  'prec': prec.tolist(),
  'norm_img': ((imgs[test[:2]] - m) / sd).astype(np.float32).ravel().tolist(),
  'test_idx': test[:20].tolist(),
  'ids': np.load(f'{root}/meta/trials/frame_image_id.npy')[:50].tolist(),
  'cmc': np.load(f'{root}/meta/neurons/cell_motor_coordinates.npy')[:4].ravel().tolist(),
}))
`;
    const ref = JSON.parse(execFileSync(PYTHON, ['-c', script, tmp], { maxBuffer: 1 << 26 }).toString());
    let sum = 0;
    for (const v of fromZip.responses) sum += v;
    expect(sum).toBeCloseTo(ref.resp_sum, 2);
    for (const [k, t] of [0, 17, 5499].entries())
      expect(Array.from(fromZip.responses.subarray(t * 1000, t * 1000 + 1000))).toEqual(
        ref.resp_rows[k].map(Math.fround),
      );
    let isum = 0;
    for (const v of fromZip.images) isum += v;
    expect(isum).toBe(ref.img_sum);
    expect(Array.from(fromZip.images.subarray(1234 * 2304, 1235 * 2304))).toEqual(ref.img_1234);
    const prec = fromZip.normalizer.responsePrecision;
    for (let n = 0; n < 1000; n++) expect(Math.abs(prec[n] - ref.prec[n]) / ref.prec[n]).toBeLessThan(1e-6);
    const ours = normalizedImages(fromZip, tierIndices(fromZip, 'test').subarray(0, 2));
    let maxDiff = 0;
    ours.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - ref.norm_img[i]));
    });
    expect(maxDiff).toBeLessThan(1e-5);
    expect(Array.from(tierIndices(fromZip, 'test').subarray(0, 20))).toEqual(ref.test_idx);
    expect(Array.from(fromZip.frameImageId.subarray(0, 50))).toEqual(ref.ids);
    expect(Array.from(fromZip.cellMotorCoordinates!.subarray(0, 12))).toEqual(ref.cmc.map(Math.fround));
  });
});
