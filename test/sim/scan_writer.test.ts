/**
 * The writer against the reference layout: rebuilding static-sim-a from its own arrays gives the same bytes
 * for every file of the fixture zip (statistics recomputed by us), and the zip lists the same entries,
 * directories included. Reads the fixture with ZipArchive and parseNpy only, so the scan loader is not involved.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/io/host_tensor';
import { parseNpy, parseNumericNpy } from '../../src/io/npy';
import { ZipArchive } from '../../src/io/zip_archive';
import {
  checkScanData,
  imageStatistics,
  responseStatistics,
  type ScanData,
  scanFiles,
  writeScanZip,
} from '../../src/sim/scan_writer';
import { SIM_ZIP as ZIP } from '../fixtures/paths';

function tiny(): ScanData {
  return {
    name: 'tiny',
    imageShape: [1, 2, 3],
    images: Uint8Array.from({ length: 4 * 6 }, (_, i) => i * 7),
    responses: Float32Array.from({ length: 4 * 2 }, (_, i) => i / 2),
    neurons: 2,
    tiers: ['train', 'train', 'test', 'test'],
    frameImageId: [0, 1, 2, 2],
    unitIds: [3, 9],
    animalId: 5,
    session: 1,
    scanIdx: 2,
    cellMotorCoordinates: Float64Array.from([0, 1, 2, 3, 4, 5]),
  };
}

describe('scan writer', () => {
  it('rejects arrays that do not fit together', () => {
    expect(() => checkScanData({ ...tiny(), responses: new Float32Array(7) })).toThrow(/responses/);
    expect(() => checkScanData({ ...tiny(), frameImageId: [0] })).toThrow(/frame_image_id/);
    expect(() => checkScanData({ ...tiny(), name: '../evil' })).toThrow(/name/);
  });

  it('computes NumPy-style statistics over the train tier (median of an even count averages the middle pair)', () => {
    const img = imageStatistics(Uint8Array.from([1, 2, 3, 10, 200, 200]), 3, [0, 1]);
    expect(img.mean[0]).toBeCloseTo(416 / 6, 5);
    expect(img.median[0]).toBe(6.5);
    expect(img.min[0]).toBe(1);
    expect(img.max[0]).toBe(200);
    expect(img.std[0]).toBeCloseTo(
      Math.sqrt([1, 2, 3, 10, 200, 200].reduce((s, v) => s + (v - 416 / 6) ** 2, 0) / 6),
      4,
    );
    const r = responseStatistics(Float32Array.from([1, 10, 3, 20, 2, 30]), 2, [0, 1, 2]);
    expect(Array.from(r.median)).toEqual([2, 20]);
    expect(Array.from(r.mean)).toEqual([2, 20]);
  });

  it('writes a zip that lists every folder and file under <name>/', async () => {
    const zip = await ZipArchive.open(await writeScanZip(tiny()), 'tiny.zip');
    const names = zip.names();
    expect(names).toContain('tiny/data/images/3.npy');
    expect(names).toContain('tiny/meta/statistics/responses/stimulus_frame/median.npy');
    expect(new TextDecoder().decode(await zip.read('tiny/config.json'))).toBe('{"links": {}}');
    const tiers = parseNpy(await zip.read('tiny/meta/trials/tiers.npy'));
    expect(tiers.data).toEqual(['train', 'train', 'test', 'test']);
    await zip.close();
    const all = scanFiles(tiny()).map((f) => f.name);
    for (const d of ['tiny/', 'tiny/data/', 'tiny/data/images/', 'tiny/meta/statistics/images/all/'])
      expect(all).toContain(d);
  });

  it('rebuilds static-sim-a byte for byte from its arrays (all meta files, every 16th trial file)', async () => {
    const zip = await ZipArchive.open(new Uint8Array(readFileSync(ZIP)), ZIP);
    const root = 'static-sim-a/';
    const read = async (p: string) => parseNpy(await zip.read(root + p), p);
    const num = async (p: string) => Array.from(toFloat32((await read(p)) as never));
    const tiers = (await read('meta/trials/tiers.npy')).data as string[];
    const trials = tiers.length,
      neurons = 1000,
      per = 36 * 64;
    const images = new Uint8Array(trials * per);
    const responses = new Float32Array(trials * neurons);
    for (let i = 0; i < trials; i++) {
      images.set(parseNumericNpy(await zip.read(`${root}data/images/${i}.npy`)).data as Uint8Array, i * per);
      responses.set(
        parseNumericNpy(await zip.read(`${root}data/responses/${i}.npy`)).data as Float32Array,
        i * neurons,
      );
    }
    const ours = scanFiles({
      name: 'static-sim-a',
      imageShape: [1, 36, 64],
      images,
      responses,
      neurons,
      tiers,
      frameImageId: await num('meta/trials/frame_image_id.npy'),
      frameImageClass: (await read('meta/trials/frame_image_class.npy')).data as string[],
      trialIdx: await num('meta/trials/trial_idx.npy'),
      unitIds: await num('meta/neurons/unit_ids.npy'),
      animalId: (await num('meta/neurons/animal_ids.npy'))[0],
      session: (await num('meta/neurons/sessions.npy'))[0],
      scanIdx: (await num('meta/neurons/scan_idx.npy'))[0],
      area: (await read('meta/neurons/area.npy')).data as string[],
      layer: (await read('meta/neurons/layer.npy')).data as string[],
      cellMotorCoordinates: (await read('meta/neurons/cell_motor_coordinates.npy')).data as Float64Array,
    });
    const reference = new Set(zip.names());
    const different: string[] = [];
    for (const f of ours) {
      if (f.name.endsWith('/')) continue;
      expect(reference.delete(f.name), `unexpected file ${f.name}`).toBe(true);
      // trial files all come from one code path; a sample keeps the test quick (inflating costs ~1 ms a file)
      const trial = /data\/\w+\/(\d+)\.npy$/.exec(f.name);
      if (trial && Number(trial[1]) % 16 !== 0) continue;
      const ref = await zip.read(f.name);
      if (ref.length !== f.data.length || ref.some((v, i) => v !== f.data[i])) different.push(f.name);
    }
    await zip.close();
    expect([...reference]).toEqual([]);
    expect(different).toEqual([]);
  });
});
