/**
 * Plain arrays -> `v1x convert` -> FileTree zip -> the scan loader gives the arrays back unchanged (images as
 * float32 or kept uint8, responses, the test repeats in place, tiers, image ids), and loading the same arrays in
 * memory (the page's path, loadArrayScan) gives the same Scan. Also: the mapping proposal from shapes, and the
 * messages for arrays that do not fit (each names the file).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arraysToScanData, loadArrayScan, proposeMapping, readArrayFiles, splitTiers } from '../../../src/io/arrays';
import type { HostArray } from '../../../src/io/host_tensor';
import { writeNpy } from '../../../src/io/npy';
import { repeatGroups, type Scan, tierCounts } from '../../../src/io/scan';
import { medianOf } from '../../../src/io/scan/file_tree_writer';
import { loadScanFromPath } from '../../../src/io/scan/node_dir_source';
import { writeZip } from '../../../src/io/zip_archive';
import { Rng } from '../../../src/util/rng';

const BIN = join(__dirname, '../../../bin/v1x.mjs');
const dir = mkdtempSync(join(tmpdir(), 'v1x-arrays-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function v1x(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'convert', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const N = 30,
  H = 6,
  W = 8,
  K = 5,
  M = 4,
  R = 3;
const rng = new Rng(11);
const f64 = (n: number, scale: number) => Float64Array.from({ length: n }, () => rng.uniform() * scale);
const images: HostArray = { dtype: 'float64', shape: [N, H, W], data: f64(N * H * W, 255) };
const responses: HostArray = {
  dtype: 'int32',
  shape: [N, K],
  data: Int32Array.from({ length: N * K }, () => rng.int(7)),
};
const testImages: HostArray = { dtype: 'float64', shape: [M, H, W], data: f64(M * H * W, 255) };
const testRepeats: HostArray = { dtype: 'float32', shape: [R, M, K], data: Float32Array.from(f64(R * M * K, 3)) };

async function npz(path: string, members: Record<string, HostArray>): Promise<void> {
  writeFileSync(
    path,
    await writeZip(Object.entries(members).map(([name, a]) => ({ name: `${name}.npy`, data: writeNpy(a) }))),
  );
}

/** The fields a user's arrays determine, for comparing two loads. */
function essentials(s: Scan) {
  return {
    images: s.images,
    responses: s.responses,
    tiers: s.tiers,
    ids: s.frameImageId,
    imageShape: s.imageShape,
    unitIds: s.unitIds,
    stats: s.statistics,
    precision: s.normalizer.responsePrecision,
    imageMean: s.normalizer.imageMean,
    imageStd: s.normalizer.imageStd,
    warnings: s.warnings,
  };
}

describe('plain arrays -> v1x convert -> FileTree zip', () => {
  beforeAll(async () => {
    writeFileSync(join(dir, 'images.npy'), writeNpy(images));
    writeFileSync(join(dir, 'responses.npy'), writeNpy(responses));
    await npz(join(dir, 'test.npz'), { test_images: testImages, test_repeats: testRepeats });
  });

  it('gives back the same arrays, with the test repeats as the test tier and a seeded split', async () => {
    const out = join(dir, 'static-arrays.zip');
    const r = v1x(
      '--images',
      join(dir, 'images.npy'),
      '--responses',
      join(dir, 'responses.npy'),
      '--test-images',
      `${join(dir, 'test.npz')}:test_images`,
      '--test-repeats',
      `${join(dir, 'test.npz')}:test_repeats`,
      '--validation-fraction',
      '0.2',
      '--seed',
      '3',
      '--out',
      out,
    );
    expect(r.stderr).toContain('split: 24 train / 6 validation');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ trials: N + R * M, neurons: K, image_shape: [1, H, W], images_dtype: 'float32' });

    const scan = await loadScanFromPath(out);
    expect(scan.name).toBe('static-arrays');
    expect(scan.dataKey).toBe('static-arrays'); // no --ids: the scan's name
    expect(scan.nTrials).toBe(N + R * M);
    expect(scan.imageShape).toEqual([1, H, W]);
    expect(scan.images).toBeInstanceOf(Float32Array);
    const per = H * W;
    // the N single trials, in order, as float32
    expect(Array.from(scan.images.subarray(0, N * per))).toEqual(
      Array.from(Float32Array.from(images.data as Float64Array)),
    );
    expect(Array.from(scan.responses.subarray(0, N * K))).toEqual(Array.from(responses.data as Int32Array));
    // then for each test image m its R repeats
    for (let m = 0; m < M; m++)
      for (let rep = 0; rep < R; rep++) {
        const t = N + m * R + rep;
        expect(Array.from(scan.images.subarray(t * per, (t + 1) * per))).toEqual(
          Array.from(Float32Array.from((testImages.data as Float64Array).subarray(m * per, (m + 1) * per))),
        );
        expect(Array.from(scan.responses.subarray(t * K, (t + 1) * K))).toEqual(
          Array.from((testRepeats.data as Float32Array).subarray((rep * M + m) * K, (rep * M + m + 1) * K)),
        );
        expect(scan.tiers[t]).toBe('test');
        expect(scan.frameImageId[t]).toBe(N + m);
      }
    expect(repeatGroups(scan, 'test').map((g) => g.length)).toEqual([R, R, R, R]);
    // the split: 20% of the (all distinct) images, seeded, as splitTiers computes it
    const ids = Array.from({ length: N }, (_, i) => i);
    expect(scan.tiers.slice(0, N)).toEqual(splitTiers(ids, { validationFraction: 0.2, seed: 3 }));
    expect(Object.fromEntries(tierCounts(scan))).toMatchObject({ train: 24, validation: 6, test: 12 });
    // image statistics over the train trials' pixels, computed here independently (float64)
    const train = scan.tiers.flatMap((t, i) => (t === 'train' ? [i] : []));
    let s = 0;
    for (const t of train) for (let p = 0; p < per; p++) s += scan.images[t * per + p];
    expect(scan.statistics.images.mean[0]).toBeCloseTo(s / (train.length * per), 3);
    expect(scan.unitIds).toEqual([0, 1, 2, 3, 4]);
    expect(scan.cellMotorCoordinates).toBeUndefined();

    // the page's path: the same arrays read from the same files, loaded in memory
    const arrays = await readArrayFiles([
      { name: 'images.npy', data: writeNpy(images) },
      { name: 'responses.npy', data: writeNpy(responses) },
      {
        name: 'test.npz',
        data: await writeZip([
          { name: 'test_images.npy', data: writeNpy(testImages) },
          { name: 'test_repeats.npy', data: writeNpy(testRepeats) },
        ]),
      },
    ]);
    const proposal = proposeMapping(arrays.map((a) => ({ name: a.name, dtype: a.array.dtype, shape: a.array.shape })));
    expect(proposal.mapping).toEqual({
      images: 'images.npy',
      responses: 'responses.npy',
      testImages: 'test.npz/test_images',
      testRepeats: 'test.npz/test_repeats',
    });
    const built = arraysToScanData(arrays, proposal.mapping!, {
      name: 'static-arrays',
      split: { validationFraction: 0.2, seed: 3 },
    });
    const inMemory = await loadArrayScan(built.data);
    expect(essentials(inMemory)).toEqual(essentials(scan));
  });

  it('keeps uint8 images uint8, takes tiers as given, finds repeated images by content, reads coordinates', async () => {
    const n = 12;
    const pixels = Uint8Array.from({ length: n * 2 * H * W }, () => rng.int(256));
    pixels.copyWithin(11 * 2 * H * W, 10 * 2 * H * W, 11 * 2 * H * W); // trial 11 repeats trial 10's image
    const tiers = [
      'train',
      'train',
      'train',
      'train',
      'train',
      'train',
      'validation',
      'validation',
      'train',
      'train',
      'test',
      'test',
    ];
    await npz(join(dir, 'all.npz'), {
      stimuli: { dtype: 'uint8', shape: [n, 2, H, W], data: pixels },
      spikes: { dtype: 'float32', shape: [n, K], data: Float32Array.from(f64(n * K, 4)) },
      tiers: { dtype: 'string', shape: [n], data: tiers },
      xyz: { dtype: 'float64', shape: [K, 3], data: f64(K * 3, 100) },
    });
    const out = join(dir, 'static-u8.zip');
    const r = v1x(
      '--images',
      `${join(dir, 'all.npz')}:stimuli`,
      '--responses',
      `${join(dir, 'all.npz')}:spikes`,
      '--tiers',
      `${join(dir, 'all.npz')}:tiers`,
      '--coordinates',
      `${join(dir, 'all.npz')}:xyz`,
      '--ids',
      '26872-17-20',
      '--out',
      out,
    );
    expect(r.stderr).toContain('1 trials show an image shown before');
    expect(r.code).toBe(0);
    const scan = await loadScanFromPath(out);
    expect(scan.images).toBeInstanceOf(Uint8Array);
    expect(scan.imageShape).toEqual([2, H, W]);
    expect(Array.from(scan.images)).toEqual(Array.from(pixels));
    expect(scan.tiers).toEqual(tiers);
    expect(Array.from(scan.frameImageId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10]);
    expect(scan.cellMotorCoordinates).toHaveLength(K * 3);
    expect(repeatGroups(scan, 'test')).toEqual([[10, 11]]);
    // --ids: the neuron tables Sensorium's loader names the readout from
    expect(scan.dataKey).toBe('26872-17-20');
    expect(JSON.parse(r.stdout).data_key).toBe('26872-17-20');
    expect(scan.neurons.animalIds).toEqual(new Array(K).fill(26872));
  });

  it('refuses arrays that do not fit, naming the file and what is wrong', async () => {
    writeFileSync(
      join(dir, 'short.npy'),
      writeNpy({ dtype: 'float32', shape: [N - 1, K], data: new Float32Array((N - 1) * K) }),
    );
    let r = v1x(
      '--images',
      join(dir, 'images.npy'),
      '--responses',
      join(dir, 'short.npy'),
      '--out',
      join(dir, 'x.zip'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/short\.npy: has 29 rows \(trials\) but .*images\.npy has 30 images/);

    const bad = Float32Array.from(responses.data as Int32Array);
    bad[7 * K + 2] = Number.NaN;
    writeFileSync(join(dir, 'nan.npy'), writeNpy({ dtype: 'float32', shape: [N, K], data: bad }));
    r = v1x('--images', join(dir, 'images.npy'), '--responses', join(dir, 'nan.npy'), '--out', join(dir, 'x.zip'));
    expect(r.stderr).toMatch(/nan\.npy: responses hold NaN or Inf \(first at trial 7, neuron 2\)/);

    writeFileSync(
      join(dir, 'hwc.npy'),
      writeNpy({ dtype: 'uint8', shape: [N, H, W, 3], data: new Uint8Array(N * H * W * 3) }),
    );
    r = v1x('--images', join(dir, 'hwc.npy'), '--responses', join(dir, 'responses.npy'), '--out', join(dir, 'x.zip'));
    expect(r.stderr).toMatch(/hwc\.npy: images of shape \(30, 6, 8, 3\) look channels-last/);

    r = v1x(
      '--images',
      join(dir, 'images.npy'),
      '--responses',
      join(dir, 'responses.npy'),
      '--test-images',
      `${join(dir, 'test.npz')}:test_images`,
      '--test-repeats',
      join(dir, 'responses.npy'),
      '--out',
      join(dir, 'x.zip'),
    );
    expect(r.stderr).toMatch(/responses\.npy: is mapped to both responses and testRepeats/);

    await npz(join(dir, 'mismatch.npz'), {
      ti: testImages,
      tr: { dtype: 'float32', shape: [R, M, K + 1], data: new Float32Array(R * M * (K + 1)) },
    });
    r = v1x(
      '--images',
      join(dir, 'images.npy'),
      '--responses',
      join(dir, 'responses.npy'),
      '--test-images',
      `${join(dir, 'mismatch.npz')}:ti`,
      '--test-repeats',
      `${join(dir, 'mismatch.npz')}:tr`,
      '--out',
      join(dir, 'x.zip'),
    );
    expect(r.stderr).toMatch(/mismatch\.npz\/tr: has 6 neurons on its last axis, .*responses\.npy has 5/);

    r = v1x(
      '--images',
      join(dir, 'images.npy'),
      '--responses',
      join(dir, 'responses.npy'),
      '--tiers',
      join(dir, 'x.npy'),
      '--seed',
      '1',
      '--out',
      join(dir, 'x.zip'),
    );
    expect(r.stderr).toMatch(/give one or the other/);
    await npz(join(dir, 'four.npz'), {
      stimuli: images,
      spikes: responses,
      tiers: { dtype: 'string', shape: [1], data: ['a'] },
      xyz: images,
    });
    r = v1x('--images', join(dir, 'four.npz'), '--responses', join(dir, 'responses.npy'), '--out', join(dir, 'x.zip'));
    expect(r.stderr).toMatch(/four\.npz holds 4 arrays \(stimuli, spikes, tiers, xyz\); name one as/);
  });

  it('treats .npz bytes as hostile: a member that is not .npy, a truncated array, a pickle', async () => {
    const good = writeNpy(responses);
    const cases: Array<[string, Array<{ name: string; data: Uint8Array }>, RegExp]> = [
      [
        'stray.npz',
        [{ name: 'readme.txt', data: new Uint8Array(3) }],
        /stray\.npz: holds 'readme\.txt', which is not an \.npy array/,
      ],
      ['cut.npz', [{ name: 'a.npy', data: good.subarray(0, good.length - 9) }], /cut\.npz\/a: truncated/],
      [
        'pickle.npz',
        [
          {
            name: 'a.npy',
            data: (() => {
              const b = writeNpy({ dtype: 'float32', shape: [1], data: new Float32Array(1) });
              const h = new TextDecoder('latin1').decode(b).replace("'<f4'", "'|O' ");
              return Uint8Array.from(h, (c) => c.charCodeAt(0));
            })(),
          },
        ],
        /pickle\.npz\/a: \.npy holds Python objects/,
      ],
    ];
    for (const [name, members, re] of cases)
      await expect(readArrayFiles([{ name, data: await writeZip(members) }])).rejects.toThrow(re);
    await expect(readArrayFiles([{ name: 'x.npz', data: Uint8Array.of(1, 2, 3, 4, 5) }])).rejects.toThrow(
      /x\.npz: not an \.npz/,
    );
  });
});

describe('statistics of float images and responses', () => {
  it("medianOf selects NumPy's median (mean of the middle pair for an even count), duplicates and all", () => {
    const r = new Rng(3);
    for (const [n, distinct] of [
      [1, 10],
      [2, 10],
      [7, 3],
      [1000, 5],
      [1001, 1000000],
      [4472, 4],
      [4473, 1],
    ]) {
      const a = Float64Array.from({ length: n }, () => r.int(distinct) / 3);
      const sorted = Float64Array.from(a).sort();
      const expected = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      expect(medianOf(a)).toBe(expected);
    }
  });
});

describe('mapping proposal from shapes', () => {
  const info = (name: string, shape: number[], dtype = 'float32') => ({ name, shape, dtype });
  it('recognizes the parts by shape when the names say nothing', () => {
    const p = proposeMapping([
      info('a.npy', [5, 100, 3]), // test repeats (R, M, K)
      info('b.npy', [1000, 36, 64]), // images
      info('c.npy', [100, 36, 64]), // test images
      info('d.npy', [1000, 3]), // responses
      info('e.npy', [1000], 'string'), // tiers
      info('f.npy', [1000], 'int64'), // image ids
      info('g.npy', [7, 7]), // unused
    ]);
    expect(p.mapping).toEqual({
      images: 'b.npy',
      responses: 'd.npy',
      testImages: 'c.npy',
      testRepeats: 'a.npy',
      tiers: 'e.npy',
      frameImageId: 'f.npy',
    });
    expect(p.notes.at(-1)).toBe('not used: g.npy');
  });
  it('prefers names: the train images over the test images of the same count', () => {
    const p = proposeMapping([
      info('test_images.npy', [50, 1, 8, 8]),
      info('test_responses.npy', [50, 9]),
      info('images.npy', [50, 1, 8, 8]),
      info('responses.npy', [50, 9]),
      info('coords.npy', [9, 3]),
    ]);
    expect(p.mapping).toMatchObject({ images: 'images.npy', responses: 'responses.npy', coordinates: 'coords.npy' });
  });
  it('says what is missing when nothing fits', () => {
    const p = proposeMapping([info('x.npy', [10, 4]), info('y.npy', [9, 8, 8])]);
    expect(p.mapping).toBeNull();
    expect(p.notes[0]).toMatch(/no images and responses found/);
  });
});
