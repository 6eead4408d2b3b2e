/**
 * meta/neurons/cell_types.npy: the optional ground-truth cell type of each neuron. Written by the simulator,
 * read back identically from a zip and from a folder, kept through neuron selection, and refused with an
 * InputError naming the file when it is not one integer label >= 0 per neuron.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type HostArray, InputError } from '../../../src/io/host_tensor';
import { writeNpy } from '../../../src/io/npy';
import { loadScan } from '../../../src/io/scan/load_scan';
import { loadScanFromPath } from '../../../src/io/scan/node_dir_source';
import { memoryScanSource } from '../../../src/io/scan/source';
import { openZipScan } from '../../../src/io/scan/zip_batch_source';
import { type ScanData, scanFiles, writeScanZip } from '../../../src/sim/scan_writer';
import { writeFilesToDir } from '../../../src/sim/write_dir_node';
import { f32, i64, N, smallScanFiles, str } from './small_scan';

const R = 'static-small/';
const FILE = 'static-small/meta/neurons/cell_types.npy';
const dir = mkdtempSync(join(tmpdir(), 'v1x-cell-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (files: Map<string, Uint8Array>, opts = {}) =>
  loadScan(memoryScanSource(files, { name: 'small.zip' }), opts);

function withCellTypes(a: HostArray): Map<string, Uint8Array> {
  const files = smallScanFiles();
  files.set(`${R}meta/neurons/cell_types.npy`, writeNpy(a));
  return files;
}

async function expectFileError(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected an InputError').toBeInstanceOf(InputError);
  expect((err as InputError).file).toBe(FILE);
  expect((err as InputError).message).toMatch(message);
}

/** A small simulated-looking scan: 9 trials, 7 neurons of 3 types. */
function scanData(): ScanData {
  const T = 9,
    neurons = 7,
    per = 4 * 5;
  return {
    name: 'static-types',
    imageShape: [1, 4, 5],
    images: Uint8Array.from({ length: T * per }, (_, k) => (k * 13) % 256),
    responses: Float32Array.from({ length: T * neurons }, (_, k) => (k % 5) / 2),
    neurons,
    tiers: ['train', 'train', 'train', 'train', 'validation', 'test', 'test', 'test', 'test'],
    frameImageId: [1, 2, 3, 4, 5, 6, 6, 7, 7],
    unitIds: [2, 4, 5, 9, 10, 11, 15],
    animalId: 90001,
    session: 1,
    scanIdx: 1,
    cellMotorCoordinates: Float64Array.from({ length: 3 * neurons }, (_, k) => k),
    cellTypes: [2, 0, 1, 1, 0, 2, 2],
  };
}

describe('cell_types.npy', () => {
  it('is absent from scans without cell types and then undefined', async () => {
    const s = scanData();
    delete s.cellTypes;
    expect(scanFiles(s).some((f) => f.name.endsWith('cell_types.npy'))).toBe(false);
    expect((await load(smallScanFiles())).neurons.cellTypes).toBeUndefined();
  });

  it('is written as int64 and read back identically from a zip and from a folder', async () => {
    const s = scanData();
    const entry = scanFiles(s).find((f) => f.name === 'static-types/meta/neurons/cell_types.npy');
    expect(entry).toBeDefined();
    expect(new TextDecoder().decode(entry!.data.subarray(10, 90))).toMatch(/'descr': '<i8'.*'shape': \(7,\)/);
    const fromZip = await loadScan(await openZipScan(await writeScanZip(s), 'static-types.zip'));
    expect(fromZip.neurons.cellTypes).toEqual([2, 0, 1, 1, 0, 2, 2]);
    writeFilesToDir(dir, scanFiles(s));
    const fromDir = await loadScanFromPath(join(dir, 'static-types'));
    expect(fromDir.neurons.cellTypes).toEqual([2, 0, 1, 1, 0, 2, 2]);
    expect(fromDir.warnings).toEqual([]);
  });

  it('is kept through neuron selection, like unit ids', async () => {
    const scan = await load(withCellTypes(i64([3, 0, 1, 2, 0])), { dropNeurons: [1, 3] });
    expect(scan.neurons.unitIds).toEqual([3, 8, 21]);
    expect(scan.neurons.cellTypes).toEqual([3, 1, 0]);
  });

  it('accepts any integer dtype and whole-number floats', async () => {
    for (const a of [
      { dtype: 'int32', shape: [N], data: Int32Array.of(0, 1, 2, 3, 0) },
      { dtype: 'uint8', shape: [N], data: Uint8Array.of(0, 1, 2, 3, 0) },
      f32([0, 1, 2, 3, 0], [N]),
    ] as HostArray[]) {
      expect((await load(withCellTypes(a))).neurons.cellTypes, a.dtype).toEqual([0, 1, 2, 3, 0]);
    }
  });

  it('refuses labels that are not one integer >= 0 per neuron, naming the file', async () => {
    const bad = (a: HostArray, message: RegExp) => expectFileError(load(withCellTypes(a)), message);
    await bad(i64([0, 1, 2, 3]), /neuron counts disagree: 4 entries .*meta\/neurons\/unit_ids\.npy has 5/);
    await bad(i64([0, 1, -1, 3, 0]), /integer labels >= 0.*found -1 for neuron 2/);
    await bad(f32([0, 1, 2.5, 3, 0], [N]), /integer labels >= 0.*found 2\.5 for neuron 2/);
    await bad(f32([0, 1, NaN, 3, 0], [N]), /found NaN for neuron 2/);
    await bad(str(['a', 'b', 'c', 'd', 'e']), /wrong dtype: cell_types .* must be numeric/);
    await bad({ dtype: 'bool', shape: [N], data: Uint8Array.of(0, 1, 1, 0, 1) }, /wrong dtype.*bool/);
    await bad(f32([0, 1, 2, 3, 0, 1, 2, 3, 0, 1], [N, 2]), /wrong shape \(5, 2\): cell_types must be 1-D/);
  });

  it('is checked by the scan writer too', () => {
    expect(() => scanFiles({ ...scanData(), cellTypes: [0, 1] })).toThrow(/2 cell types for 7 neurons/);
    expect(() => scanFiles({ ...scanData(), cellTypes: [0, 1, 2, 0, 1, 2, 0.5] })).toThrow(/integers >= 0, found 0.5/);
  });
});
