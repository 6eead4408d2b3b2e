/** Each way a scan can be broken gives an InputError that names the file and says what is wrong. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/io/host_tensor';
import { writeNpy } from '../../../src/io/npy';
import { loadScan, NonFiniteError } from '../../../src/io/scan/load_scan';
import { memoryScanSource } from '../../../src/io/scan/source';
import { openZipScan } from '../../../src/io/scan/zip_batch_source';
import { writeZip } from '../../../src/io/zip_archive';
import { f32, i64, N, responseRow, smallScanFiles, str, T } from './small_scan';

const R = 'static-small/';

async function load(files: Map<string, Uint8Array>, opts = {}) {
  return loadScan(memoryScanSource(files, { name: 'small.zip' }), opts);
}

/** Expects an InputError whose file and message match. */
async function expectInputError(p: Promise<unknown>, file: RegExp | string, message: RegExp): Promise<InputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected an InputError').toBeInstanceOf(InputError);
  const e = err as InputError;
  if (typeof file === 'string') expect(e.file).toBe(file);
  else expect(e.file).toMatch(file);
  expect(e.message).toMatch(message);
  return e;
}

describe('valid small scan', () => {
  it('loads with the expected counts, data key and no warnings', async () => {
    const scan = await load(smallScanFiles());
    expect(scan.nTrials).toBe(T);
    expect(scan.nNeurons).toBe(N);
    expect(scan.dataKey).toBe('777-4-2');
    expect(scan.warnings).toEqual([]);
    expect(Array.from(scan.responses.subarray(7 * N, 8 * N))).toEqual(Array.from(responseRow(7)));
  });
});

describe('missing files', () => {
  it('names a missing trial file and says how to leave the trial out', async () => {
    const files = smallScanFiles();
    files.delete(`${R}data/responses/3.npy`);
    const e = await expectInputError(
      load(files),
      'static-small/data/responses',
      /trial counts disagree: data\/responses holds 11 trial files, meta\/trials\/tiers.npy has 12 trials; missing 3\.npy/,
    );
    expect(e.message).toMatch(/dropTrials: \[3\]/);
    const scan = await load(files, { dropTrials: [3] });
    expect(scan.nTrials).toBe(T - 1);
    expect(Array.from(scan.fileIndex)).not.toContain(3);
    expect(Array.from(scan.responses.subarray(3 * N, 4 * N))).toEqual(Array.from(responseRow(4)));
    expect(scan.tiers[3]).toBe('validation');
  });

  it('names missing meta files', async () => {
    for (const [gone, file, msg] of [
      ['meta/trials/tiers.npy', 'static-small/meta/trials/tiers.npy', /missing required file/],
      ['meta/trials/frame_image_id.npy', /frame_image_id\.npy/, /missing required file/],
      ['meta/neurons/unit_ids.npy', 'static-small/meta/neurons/unit_ids.npy', /missing required file/],
      [
        'meta/statistics/images/all/std.npy',
        'static-small/meta/statistics/images/all/std.npy',
        /NeuroNormalizer needs the images std/,
      ],
      [
        'meta/statistics/responses/all/mean.npy',
        'static-small/meta/statistics/responses/all/mean.npy',
        /missing required file/,
      ],
    ] as const) {
      const files = smallScanFiles();
      files.delete(R + gone);
      await expectInputError(load(files), file, msg);
    }
  });

  it('names a missing data folder', async () => {
    const files = smallScanFiles();
    for (const k of [...files.keys()]) if (k.startsWith(`${R}data/images/`)) files.delete(k);
    await expectInputError(load(files), 'static-small/data/images', /missing required folder: data\/images\//);
  });

  it('refuses a container with no scan, and one with two', async () => {
    const none = new Map([['x/readme.txt', new Uint8Array(1)]]);
    expect(() => memoryScanSource(none, { name: 'empty.zip' })).toThrow(/not a FileTree scan/);
    const two = new Map([...smallScanFiles('a/'), ...smallScanFiles('b/')]);
    expect(() => memoryScanSource(two, { name: 'two.zip' })).toThrow(/several scans \(a\/, b\/\)/);
    const scan = await loadScan(memoryScanSource(two, { name: 'two.zip', root: 'b' }));
    expect(scan.name).toBe('b');
  });
});

describe('trial counts that disagree', () => {
  it('an extra image file', async () => {
    const files = smallScanFiles();
    files.set(`${R}data/images/12.npy`, files.get(`${R}data/images/0.npy`)!);
    await expectInputError(
      load(files),
      'static-small/data/images',
      /trial counts disagree: data\/images holds 13 trial files, meta\/trials\/tiers.npy has 12 trials; unexpected 12\.npy/,
    );
  });

  it('a trial table of the wrong length', async () => {
    const files = smallScanFiles();
    files.set(`${R}meta/trials/trial_idx.npy`, writeNpy(i64([...Array(T - 1).keys()])));
    await expectInputError(
      load(files),
      'static-small/meta/trials/trial_idx.npy',
      /trial counts disagree: meta\/trials\/trial_idx.npy has 11 entries .* meta\/trials\/tiers.npy has 12/,
    );
  });

  it('a neuron table of the wrong length', async () => {
    const files = smallScanFiles();
    files.set(`${R}meta/neurons/area.npy`, writeNpy(str(['V1', 'V1'])));
    await expectInputError(load(files), 'static-small/meta/neurons/area.npy', /neuron counts disagree: 2 entries/);
  });
});

describe('wrong dtypes and shapes', () => {
  it('a response file of the wrong length is named', async () => {
    const files = smallScanFiles();
    files.set(`${R}data/responses/7.npy`, writeNpy(f32([1, 2, 3, 4], [4])));
    await expectInputError(load(files), 'static-small/data/responses/7.npy', /wrong shape \(4,\): expected \(5,\)/);
  });

  it('the first response file of the wrong length is named with the neuron table', async () => {
    const files = smallScanFiles();
    files.set(`${R}data/responses/0.npy`, writeNpy(f32([1, 2, 3, 4, 5, 6], [6])));
    await expectInputError(
      load(files),
      'static-small/data/responses/0.npy',
      /wrong shape \(6,\): expected \(5,\), one response per neuron in meta\/neurons\/unit_ids.npy/,
    );
  });

  it('a response file of another dtype is named', async () => {
    const files = smallScanFiles();
    files.set(`${R}data/responses/5.npy`, writeNpy({ dtype: 'float64', shape: [N], data: new Float64Array(N) }));
    await expectInputError(
      load(files),
      'static-small/data/responses/5.npy',
      /wrong dtype float64: .*0\.npy is float32/,
    );
  });

  it('an image of another shape is named', async () => {
    const files = smallScanFiles();
    files.set(`${R}data/images/9.npy`, writeNpy({ dtype: 'uint8', shape: [1, 4, 5], data: new Uint8Array(20) }));
    await expectInputError(
      load(files),
      'static-small/data/images/9.npy',
      /wrong shape \(1, 4, 5\): expected \(1, 4, 6\)/,
    );
  });

  it('numeric tiers, string responses, bad coordinates and statistics are named', async () => {
    const cases: [string, Uint8Array, string, RegExp][] = [
      ['meta/trials/tiers.npy', writeNpy(i64(Array(T).fill(0))), 'tiers.npy', /wrong dtype: tiers must be strings/],
      [
        'data/responses/0.npy',
        writeNpy(str(['a', 'b', 'c', 'd', 'e'])),
        'responses/0.npy',
        /wrong dtype: data\/responses must be numeric/,
      ],
      [
        'meta/neurons/cell_motor_coordinates.npy',
        writeNpy(f32(new Float32Array(2 * N), [N, 2])),
        'cell_motor_coordinates.npy',
        /wrong shape \(5, 2\): expected \(5, 3\)/,
      ],
      [
        'meta/statistics/responses/all/std.npy',
        writeNpy(f32([1, 1, 1], [3])),
        'responses/all/std.npy',
        /expected 5 values/,
      ],
      [
        'meta/statistics/images/all/mean.npy',
        writeNpy(f32([1, 2], [2])),
        'images/all/mean.npy',
        /expected a single value/,
      ],
      ['meta/trials/frame_image_id.npy', writeNpy(str(Array(T).fill('x'))), 'frame_image_id.npy', /must be numeric/],
      ['config.json', new TextEncoder().encode('{"links": '), 'config.json', /not valid JSON/],
    ];
    for (const [path, bytes, fileEnd, msg] of cases) {
      const files = smallScanFiles();
      files.set(R + path, bytes);
      const e = await expectInputError(load(files), new RegExp(`${fileEnd.replace(/\./g, '\\.')}$`), msg);
      expect(e.file.startsWith('static-small/')).toBe(true);
    }
  });

  it('a truncated .npy and a pickled one are named', async () => {
    const files = smallScanFiles();
    const good = files.get(`${R}data/responses/4.npy`)!;
    files.set(`${R}data/responses/4.npy`, good.subarray(0, good.length - 3));
    await expectInputError(load(files), 'static-small/data/responses/4.npy', /truncated/);
    const pickled = smallScanFiles();
    const header = "{'descr': '|O', 'fortran_order': False, 'shape': (12,), }";
    const bytes = new Uint8Array(10 + header.length + 1);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length + 1, 0]);
    for (let k = 0; k < header.length; k++) bytes[10 + k] = header.charCodeAt(k);
    bytes[bytes.length - 1] = 10;
    pickled.set(`${R}meta/trials/tiers.npy`, bytes);
    await expectInputError(load(pickled), 'static-small/meta/trials/tiers.npy', /pickle/);
    // An unused trial table we cannot read is skipped with a warning, not an error.
    const extra = smallScanFiles();
    extra.set(`${R}meta/trials/notes.npy`, bytes);
    const scan = await load(extra);
    expect(scan.warnings.join('\n')).toMatch(/skipped meta\/trials\/notes\.npy: .*pickle/);
  });
});

describe('NaN and Inf in responses', () => {
  function withBadValues() {
    const files = smallScanFiles();
    const r2 = responseRow(2);
    r2[1] = NaN;
    const r9 = responseRow(9);
    r9[1] = Infinity;
    r9[4] = -Infinity;
    files.set(`${R}data/responses/2.npy`, writeNpy(f32(r2, [N])));
    files.set(`${R}data/responses/9.npy`, writeNpy(f32(r9, [N])));
    return files;
  }

  it('says which neurons and trials, and how to drop them', async () => {
    const e = await expectInputError(
      load(withBadValues()),
      'static-small/data/responses',
      /3 response value\(s\) are NaN or Inf, in neuron\(s\) 1, 4 .* trial\(s\) 2, 9/,
    );
    expect(e).toBeInstanceOf(NonFiniteError);
    expect((e as NonFiniteError).neurons).toEqual([1, 4]);
    expect((e as NonFiniteError).trials).toEqual([2, 9]);
    expect(e.message).toMatch(/dropNeurons: \[1, 4\] or dropTrials: \[2, 9\]/);
  });

  it('dropNeurons leaves them out and keeps the precision of the kept neurons', async () => {
    const full = await load(smallScanFiles());
    const scan = await load(withBadValues(), { dropNeurons: [1, 4] });
    expect(scan.nNeurons).toBe(3);
    expect(Array.from(scan.neurons.index)).toEqual([0, 2, 3]);
    expect(scan.unitIds).toEqual([3, 8, 13]);
    expect(Array.from(scan.normalizer.responsePrecision)).toEqual(
      [0, 2, 3].map((j) => full.normalizer.responsePrecision[j]),
    );
    expect(Array.from(scan.statistics.responses.std)).toEqual([1, 0.5, 1.5]);
    expect(Array.from(scan.cellMotorCoordinates!.subarray(3, 6))).toEqual(
      Array.from(full.cellMotorCoordinates!.subarray(6, 9)),
    );
    for (let t = 0; t < T; t++) {
      const row = responseRow(t);
      expect(Array.from(scan.responses.subarray(3 * t, 3 * t + 3))).toEqual([row[0], row[2], row[3]]);
    }
  });

  it('dropTrials leaves them out', async () => {
    const scan = await load(withBadValues(), { dropTrials: [2, 9] });
    expect(scan.nTrials).toBe(T - 2);
    expect(scan.responses.every(Number.isFinite)).toBe(true);
    expect(scan.tiers).toEqual([
      'train',
      'train',
      'train',
      'validation',
      'test',
      'train',
      'train',
      'test',
      'train',
      'test',
    ]);
  });

  it('refuses drop indices out of range', async () => {
    await expectInputError(
      load(smallScanFiles(), { dropNeurons: [5] }),
      'small.zip',
      /dropNeurons: 5 is not an index in 0 \.\. 4/,
    );
  });
});

describe('no repeated test images', () => {
  it('is a warning, not an error', async () => {
    const files = smallScanFiles();
    files.set(`${R}meta/trials/frame_image_id.npy`, writeNpy(i64([...Array(T).keys()])));
    const scan = await load(files);
    expect(scan.warnings.join('\n')).toMatch(
      /no image in tier 'test' is shown more than once .*oracle metrics .* are unavailable/,
    );
  });
});

describe('absurd sizes', () => {
  it('refuses a scan that would not fit the memory limit', async () => {
    await expectInputError(
      load(smallScanFiles(), { maxBytes: 500 }),
      'small.zip',
      /too large: 12 trials of 1x4x6 uint8 images and 5 neurons need/,
    );
  });

  it('refuses a response file whose header claims a huge array', async () => {
    const files = smallScanFiles();
    const real = files.get(`${R}data/responses/1.npy`)!;
    const text = new TextDecoder('latin1').decode(real.subarray(10, 10 + (real[8] | (real[9] << 8))));
    const claim = text.replace("'shape': (5,)", "'shape': (999999999999,)");
    const bytes = new Uint8Array(real.length + claim.length - text.length);
    bytes.set(real.subarray(0, 8));
    bytes[8] = claim.length & 255;
    bytes[9] = claim.length >> 8;
    for (let k = 0; k < claim.length; k++) bytes[10 + k] = claim.charCodeAt(k);
    bytes.set(real.subarray(10 + text.length), 10 + claim.length);
    await expectInputError(
      load(files.set(`${R}data/responses/1.npy`, bytes)),
      'static-small/data/responses/1.npy',
      /array of shape \(999999999999\) is too large/,
    );
  });

  it('refuses a zip entry that claims more than the file limit', async () => {
    const files = smallScanFiles('');
    const zipBytes = await writeZip([...files].map(([name, data]) => ({ name: `s/${name}`, data })));
    const source = await openZipScan(zipBytes, 'huge.zip');
    const big = { ...source, size: (p: string) => (p === 'meta/trials/tiers.npy' ? 2 ** 40 : source.size!(p)) };
    await expectInputError(loadScan(big), 's/meta/trials/tiers.npy', /refusing files over/);
  });
});

describe('config.json links', () => {
  it('reads a data folder through a link, as FileTreeDataset.resolve_data_path', async () => {
    const files = smallScanFiles();
    for (const [k, v] of [...files]) {
      if (k.startsWith(`${R}data/responses/`)) {
        files.delete(k);
        files.set(k.replace('/responses/', '/targets/'), v);
      }
    }
    await expectInputError(load(files), 'static-small/data/responses', /missing required folder/);
    files.set(`${R}config.json`, new TextEncoder().encode('{"links": {"responses": "targets"}}'));
    const scan = await load(files);
    expect(Array.from(scan.responses.subarray(0, N))).toEqual(Array.from(responseRow(0)));
  });
});
