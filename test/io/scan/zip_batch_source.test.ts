/** The batched zip reader gives the bytes zip.js gives, in the order asked, and names broken entries. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/io/host_tensor';
import { loadScan } from '../../../src/io/scan/load_scan';
import { zipScanSource } from '../../../src/io/scan/source';
import { openZipScan } from '../../../src/io/scan/zip_batch_source';
import { writeZip, ZipArchive } from '../../../src/io/zip_archive';
import { smallScanFiles } from './small_scan';

async function zipOf(files: Map<string, Uint8Array>, store = false): Promise<Uint8Array> {
  return writeZip(
    [...files].map(([name, data]) => ({ name, data })),
    { store },
  );
}

/** Offset of the central directory record of `name` (signature PK\x01\x02). */
function centralRecord(zip: Uint8Array, name: string): number {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const enc = new TextEncoder().encode(name);
  for (let o = 0; o + 46 < zip.length; o++) {
    if (dv.getUint32(o, true) !== 0x02014b50) continue;
    const n = dv.getUint16(o + 28, true);
    if (n === enc.length && enc.every((b, k) => zip[o + 46 + k] === b)) return o;
  }
  throw new Error(`no central record for ${name}`);
}

describe('openZipScan', () => {
  for (const store of [false, true]) {
    it(`reads ${store ? 'stored' : 'deflated'} entries to the bytes ZipArchive gives, in the order asked`, async () => {
      const files = smallScanFiles();
      const zip = await zipOf(files, store);
      const src = await openZipScan(new Blob([zip as Uint8Array<ArrayBuffer>]), 'small.zip');
      const archive = await ZipArchive.open(zip, 'small.zip');
      const paths = src.list();
      expect(paths.length).toBe(files.size);
      // Scrambled order, duplicates and far-apart entries in one call.
      const asked = [paths[5], paths[0], paths.at(-1)!, paths[5], ...paths.slice(10, 30).reverse()];
      const got = await src.readMany!(asked);
      for (const [k, p] of asked.entries())
        expect(Buffer.from(got[k]).equals(Buffer.from(await archive.read(`static-small/${p}`))), p).toBe(true);
      expect(Buffer.from(await src.read('config.json')).toString()).toBe('{"links": {}}');
      expect(src.size!('config.json')).toBe(13);
      const scan = await loadScan(src);
      expect(scan.nTrials).toBe(12);
      await src.close!();
      await archive.close();
    });
  }

  it('names a missing entry', async () => {
    const src = await openZipScan(await zipOf(smallScanFiles()), 'small.zip');
    await expect(src.read('data/images/99.npy')).rejects.toThrow(
      /small\.zip: static-small\/data\/images\/99\.npy: file not found/,
    );
  });

  it('names an entry whose deflate data is corrupt', async () => {
    const zip = await zipOf(smallScanFiles());
    const rec = centralRecord(zip, 'static-small/data/responses/3.npy');
    const dv = new DataView(zip.buffer, zip.byteOffset);
    const local = dv.getUint32(rec + 42, true);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    zip.fill(0xff, start, start + 8);
    const src = await openZipScan(zip, 'bad.zip');
    const err = await src.read('data/responses/3.npy').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe('bad.zip: static-small/data/responses/3.npy');
    await expect(loadScan(src)).rejects.toThrow(/static-small\/data\/responses\/3\.npy/);
  });

  it('refuses an entry that inflates to more than its header says', async () => {
    const zip = await zipOf(smallScanFiles());
    const rec = centralRecord(zip, 'static-small/data/images/2.npy');
    const dv = new DataView(zip.buffer, zip.byteOffset);
    dv.setUint32(rec + 24, dv.getUint32(rec + 24, true) - 10, true);
    const src = await openZipScan(zip, 'bomb.zip');
    await expect(src.read('data/images/2.npy')).rejects.toThrow(
      /bomb\.zip: static-small\/data\/images\/2\.npy: inflates to more than/,
    );
  });

  it('refuses what is not a zip, and a zip without a scan', async () => {
    await expect(openZipScan(new TextEncoder().encode('not a zip at all, just text'), 'x.zip')).rejects.toThrow(
      /x\.zip: not a readable zip archive/,
    );
    const other = await writeZip([{ name: 'a/readme.txt', data: new Uint8Array(3) }]);
    await expect(openZipScan(other, 'y.zip')).rejects.toThrow(/y\.zip: not a FileTree scan/);
  });
});

describe('zipScanSource over a ZipArchive', () => {
  it('loads the same scan as openZipScan (one entry at a time)', async () => {
    const zip = await zipOf(smallScanFiles());
    const a = await loadScan(zipScanSource(await ZipArchive.open(zip, 'small.zip')));
    const b = await loadScan(await openZipScan(zip, 'small.zip'));
    expect(Buffer.from(a.responses.buffer).equals(Buffer.from(b.responses.buffer))).toBe(true);
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
    expect(a.name).toBe('static-small');
  });
});
