/**
 * NeuroNormalizer rules on small scans whose statistics make each rule visible, data keys as the Sensorium
 * loader names them, behavior / pupil_center, and the browser folder-pick source.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../../src/io/npy';
import { fileListScanSource } from '../../../src/io/scan/file_list_source';
import { loadScan, NonFiniteError, sensoriumDataKey } from '../../../src/io/scan/load_scan';
import {
  normalizedBehavior,
  normalizedImages,
  normalizedPupilCenter,
  normalizedResponses,
} from '../../../src/io/scan/normalize';
import { memoryScanSource } from '../../../src/io/scan/source';
import { repeatGroups, tierIndices } from '../../../src/io/scan/tiers';
import { f32, H, imageOf, N, responseRow, smallScanFiles, str, T, W } from './small_scan';

const R = 'static-small/';
const load = (files: Map<string, Uint8Array>, opts = {}) => loadScan(memoryScanSource(files), opts);

describe('NeuroNormalizer', () => {
  it('precision is 1/std above 1% of the mean std, and 1/(1% of the mean std) below it', async () => {
    // mean std = (1 + 1 + 1 + 1 + 0.001) / 5 = 0.8002; threshold 0.008002; the last neuron falls below it.
    const scan = await load(smallScanFiles(R, { responseStd: [1, 1, 1, 1, 0.001] }));
    const p = scan.normalizer.responsePrecision;
    expect(Array.from(p.subarray(0, 4))).toEqual([1, 1, 1, 1]);
    expect(p[4]).toBeCloseTo(1 / 0.008002, 2);
    const r = normalizedResponses(scan, [7]);
    const raw = responseRow(7);
    for (let j = 0; j < N; j++)
      expect(Math.abs(r[j] - raw[j] * p[j])).toBeLessThanOrEqual(1e-6 * Math.abs(raw[j] * p[j]));
  });

  it('images are (x - mean) / std of the statistics, raw when excluded', async () => {
    const scan = await load(smallScanFiles());
    const img = normalizedImages(scan, [3, 0]);
    const raw3 = imageOf(3),
      raw0 = imageOf(0);
    for (let k = 0; k < H * W; k++) {
      expect(img[k]).toBeCloseTo((raw3[k] - 120) / 60, 6);
      expect(img[H * W + k]).toBeCloseTo((raw0[k] - 120) / 60, 6);
    }
    const ex = await load(smallScanFiles(), { exclude: ['images', 'responses'] });
    expect(Array.from(normalizedImages(ex, [3]))).toEqual(Array.from(raw3));
    expect(Array.from(normalizedResponses(ex, [3]))).toEqual(Array.from(responseRow(3)));
    const out = new Float32Array(10 * H * W);
    expect(normalizedImages(scan, [1], out)).toBe(out);
    expect(() => normalizedImages(scan, [T])).toThrow(/out of range/);
  });

  it('uses another statistics source when asked', async () => {
    const files = smallScanFiles();
    files.set(`${R}meta/statistics/images/stimulus_frame/mean.npy`, writeNpy(f32([100], [])));
    const scan = await load(files, { statsSource: 'stimulus_frame' });
    expect(scan.normalizer.imageMean).toBe(100);
    expect(scan.normalizer.statsSource).toBe('stimulus_frame');
  });

  it('reads behavior and pupil_center and normalizes them as NeuroNormalizer does', async () => {
    const files = smallScanFiles();
    const beh = (i: number) => [i, 2 * i + 1, 10 - i];
    const pup = (i: number) => [i * 0.5, -i];
    for (let i = 0; i < T; i++) {
      files.set(`${R}data/behavior/${i}.npy`, writeNpy(f32(beh(i), [3])));
      files.set(`${R}data/pupil_center/${i}.npy`, writeNpy(f32(pup(i), [2])));
    }
    files.set(`${R}meta/statistics/behavior/all/mean.npy`, writeNpy(f32([5, 12, 4], [3])));
    files.set(`${R}meta/statistics/behavior/all/std.npy`, writeNpy(f32([2, 4, 8], [3])));
    files.set(`${R}meta/statistics/pupil_center/all/mean.npy`, writeNpy(f32([1, -2], [2])));
    files.set(`${R}meta/statistics/pupil_center/all/std.npy`, writeNpy(f32([0.5, 4], [2])));
    const scan = await load(files);
    expect(scan.behaviorDim).toBe(3);
    expect(scan.pupilDim).toBe(2);
    expect(Array.from(scan.behavior!.subarray(3 * 5, 3 * 6))).toEqual(beh(5));
    // behavior: divided by std, mean not subtracted (subtract_behavior_mean=False).
    expect(Array.from(normalizedBehavior(scan, [5]))).toEqual([5 / 2, 11 / 4, 5 / 8]);
    const sub = await load(files, { subtractBehaviorMean: true });
    expect(Array.from(normalizedBehavior(sub, [5]))).toEqual([0, -1 / 4, 1 / 8]);
    // pupil_center: z-scored.
    expect(Array.from(normalizedPupilCenter(scan, [6]))).toEqual([(3 - 1) / 0.5, (-6 + 2) / 4]);
    files.set(`${R}data/behavior/4.npy`, writeNpy(f32([1, 2], [2])));
    await expect(load(files)).rejects.toThrow(
      /static-small\/data\/behavior\/4\.npy: wrong shape \(2,\): expected \(3,\)/,
    );
  });
});

describe('trials, tiers and repeats', () => {
  it('groups the test trials by image id, ascending, as RepeatsBatchSampler', async () => {
    const scan = await load(smallScanFiles());
    expect(repeatGroups(scan, 'test')).toEqual([
      [2, 8],
      [5, 11],
    ]);
    expect(Array.from(tierIndices(scan, 'validation'))).toEqual([4, 9]);
    expect(Array.from(scan.trialIdx!)).toEqual([...Array(T).keys()].reverse());
  });

  it('warns when there is no test tier', async () => {
    const files = smallScanFiles();
    files.set(`${R}meta/trials/tiers.npy`, writeNpy(str(Array(T).fill('train'))));
    const scan = await load(files);
    expect(scan.warnings.join('\n')).toMatch(/no trials in tier 'test'/);
  });

  it('refuses float images holding NaN, naming the trials', async () => {
    const files = smallScanFiles();
    for (let i = 0; i < T; i++) {
      const px = Float32Array.from(imageOf(i));
      if (i === 6) px[3] = NaN;
      files.set(`${R}data/images/${i}.npy`, writeNpy(f32(px, [1, H, W])));
    }
    const err = await load(files).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as Error).message).toMatch(
      /static-small\/data\/images: images of trial\(s\) 6 hold NaN or Inf; .*dropTrials: \[6\]/,
    );
    const scan = await load(files, { dropTrials: [6] });
    expect(scan.images).toBeInstanceOf(Float32Array);
    expect(scan.nTrials).toBe(T - 1);
  });

  it('accepts (H, W) images as one channel', async () => {
    const files = smallScanFiles();
    for (let i = 0; i < T; i++)
      files.set(`${R}data/images/${i}.npy`, writeNpy({ dtype: 'uint8', shape: [H, W], data: imageOf(i) }));
    const scan = await load(files);
    expect(scan.imageShape).toEqual([1, H, W]);
  });
});

describe('data keys', () => {
  it('follow the Sensorium static_loader: from the path, else animal-session-scan', () => {
    expect(sensoriumDataKey('static20457-5-9-preproc0', {})).toBe('20457-5-9-0');
    expect(sensoriumDataKey('static26872-17-20-GrayImageNet-94c6ff995dac583098847cfecd43e7b6', {})).toBe('26872-17-20');
    expect(sensoriumDataKey('static27204-5-13-ColorImageNet-104e446ed0128d89c639eef0abe4655b', {})).toBe('27204-5-13');
    expect(sensoriumDataKey('static-sim-a', { animalIds: [90101], sessions: [1], scanIdx: [1] })).toBe('90101-1-1');
    expect(sensoriumDataKey('my-scan', {})).toBe('my-scan');
  });
});

describe('browser folder pick', () => {
  it('loads File objects with webkitRelativePath, as <input webkitdirectory> gives them', async () => {
    const files = smallScanFiles('picked/static-small/');
    const list = [...files].map(([path, bytes]) => {
      const f = new File([bytes as Uint8Array<ArrayBuffer>], path.split('/').at(-1)!);
      Object.defineProperty(f, 'webkitRelativePath', { value: path });
      return f;
    });
    const scan = await loadScan(fileListScanSource(list));
    expect(scan.name).toBe('static-small');
    expect(scan.origin).toBe('picked');
    expect(Array.from(scan.responses.subarray(0, N))).toEqual(Array.from(responseRow(0)));
  });
});

describe('browser bundle', () => {
  it('nothing under src/io/scan but node_dir_source.ts imports Node modules', () => {
    const dir = join(import.meta.dirname, '../../../src/io/scan');
    for (const f of readdirSync(dir)) {
      if (f === 'node_dir_source.ts') continue;
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/from '(node:|fs|path|os)/);
      expect(text, f).not.toMatch(/from '\.\/node_dir_source'/);
    }
  });
});
