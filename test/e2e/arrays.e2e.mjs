/**
 * A scan given as plain .npy arrays: the page reads them, proposes which is which from the shapes (the dialog), a
 * wrong choice gives an error naming the file and keeps the dialog open, the corrected mapping loads the scan with
 * the test repeats as its test tier and the chosen validation share. A picked folder of arrays (one .npz with tiers)
 * takes the same path.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A little-endian C-order .npy (format 1.0) of a typed array. */
function npy(descr, shape, data) {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    head,
    Buffer.from(header, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

export async function mapsPlainArraysToAScan({ openPage, shot, log, fixtures }) {
  const dir = join(process.cwd(), 'test-results', 'tmp', 'arrays');
  mkdirSync(dir, { recursive: true });
  const [N, H, W, K, M, R] = [40, 12, 16, 7, 5, 4];
  let s = 1;
  const rand = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const file = (name, descr, shape, data) => {
    writeFileSync(join(dir, name), npy(descr, shape, data));
    return join(dir, name);
  };
  const files = [
    file(
      'stim.npy',
      '|u1',
      [N, H, W],
      Uint8Array.from({ length: N * H * W }, () => Math.floor(rand() * 256)),
    ),
    file(
      'resp.npy',
      '<f4',
      [N, K],
      Float32Array.from({ length: N * K }, () => rand() * 5),
    ),
    file(
      'test_images.npy',
      '|u1',
      [M, H, W],
      Uint8Array.from({ length: M * H * W }, () => Math.floor(rand() * 256)),
    ),
    file(
      'test_repeats.npy',
      '<f4',
      [R, M, K],
      Float32Array.from({ length: R * M * K }, () => rand() * 5),
    ),
    file('extra.npy', '<f8', [3], Float64Array.of(1, 2, 3)),
  ];

  const page = await openPage({ query: 'backend=wasm' });
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('scan-input').setInputFiles(files);
  const dialog = page.getByTestId('array-mapping');
  await dialog.waitFor();
  // the proposal, from the shapes alone
  const value = (role) => page.getByTestId(`array-role-${role}`).inputValue();
  assert.equal(await value('images'), 'stim.npy');
  assert.equal(await value('responses'), 'resp.npy');
  assert.equal(await value('testImages'), 'test_images.npy');
  assert.equal(await value('testRepeats'), 'test_repeats.npy');
  assert.equal(await value('tiers'), '');
  assert.match(await page.getByTestId('array-notes').textContent(), /5 test images x 4 repeats.*not used: extra\.npy/s);
  await shot('proposal', page);

  // a wrong choice: the message names the file, the dialog stays, nothing is loaded
  await page.getByTestId('array-role-responses').selectOption('extra.npy');
  await page.getByTestId('array-confirm').click();
  const err = await page.getByTestId('array-error').textContent();
  assert.match(err, /extra\.npy: wrong shape \(3,\): responses must be \(N, neurons\)/);
  assert.equal(await page.getByTestId('scan-summary').count(), 0);

  // corrected, with a quarter of the images for validation
  await page.getByTestId('array-role-responses').selectOption('resp.npy');
  await page.getByTestId('array-validation-fraction').fill('0.25');
  const t0 = Date.now();
  await page.getByTestId('array-confirm').click();
  await page.getByTestId('scan-neurons').filter({ hasText: '7' }).waitFor();
  log(`arrays loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(await dialog.count(), 0);
  const tiers = await page.getByTestId('scan-tiers').textContent();
  assert.match(tiers, /^60: train 30, validation 10, test 20$/);
  assert.match(await page.getByTestId('scan-summary').textContent(), /static-arrays/);
  assert.match(await page.getByTestId('scan-memory').textContent(), /^0 MB of arrays$/); // 60 x (12x16 + 7) values

  // with a model, the fine-tune panel says what a run would add to memory (the cache of 45 distinct images
  // x 64x28x56 float16 = 9 MB, and the rest)
  const sota = join(fixtures, 'sensorium-sota');
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), join(sota, 'config.json')]);
  const note = await page.getByTestId('train-memory').textContent();
  assert.match(note, /^memory: about \d+ MB more while it runs \(core-output cache 9 MB float16, the worker's copy/);
  assert.match(await page.getByTestId('scan-summary').textContent(), /test images repeated: oracle metrics available/);
  await shot('loaded', page);
}

/** A zip of stored entries (an .npz as numpy.savez writes it), with CRC-32. */
function storedZip(entries) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt32LE(crc(data), 14);
    h.writeUInt32LE(data.length, 18);
    h.writeUInt32LE(data.length, 22);
    h.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc(data), 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    locals.push(h, n, data);
    centrals.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Strings as NumPy '<U{w}' (UTF-32 little-endian, zero-padded). */
function unicodeNpy(strings) {
  const w = Math.max(...strings.map((x) => x.length));
  const data = new Uint32Array(strings.length * w);
  strings.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) data[i * w + j] = x.codePointAt(j);
  });
  return npy(`<U${w}`, [strings.length], data);
}

export async function mapsAPickedFolderOfArrays({ openPage }) {
  const dir = join(process.cwd(), 'test-results', 'tmp', 'arrays-folder', 'my-recording');
  mkdirSync(dir, { recursive: true });
  const [N, H, W, K] = [24, 8, 8, 3];
  const tiers = Array.from({ length: N }, (_, i) => (i < 16 ? 'train' : i < 20 ? 'validation' : 'test'));
  // trials 20-23 show two test images twice each: same pixels, so they share an image id (no ids given)
  const images = Float32Array.from({ length: N * H * W }, (_, i) => (i * 37) % 251);
  images.copyWithin(22 * H * W, 20 * H * W, 22 * H * W);
  writeFileSync(
    join(dir, 'session.npz'),
    storedZip([
      ['frames.npy', npy('<f4', [N, H, W], images)],
      [
        'dff.npy',
        npy(
          '<f4',
          [N, K],
          Float32Array.from({ length: N * K }, (_, i) => Math.sin(i)),
        ),
      ],
      ['tiers.npy', unicodeNpy(tiers)],
    ]),
  );
  const page = await openPage({ query: 'backend=wasm' });
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('scan-input-folder').setInputFiles(dir);
  await page.getByTestId('array-mapping').waitFor();
  const value = (role) => page.getByTestId(`array-role-${role}`).inputValue();
  assert.equal(await value('images'), 'my-recording/session.npz/frames');
  assert.equal(await value('responses'), 'my-recording/session.npz/dff');
  assert.equal(await value('tiers'), 'my-recording/session.npz/tiers');
  assert.equal(await page.getByTestId('array-validation-fraction').count(), 0); // tiers given: no split
  await page.getByTestId('array-confirm').click();
  await page.getByTestId('scan-neurons').filter({ hasText: '3' }).waitFor();
  assert.match(await page.getByTestId('scan-summary').textContent(), /static-my-recording/);
  assert.match(await page.getByTestId('scan-tiers').textContent(), /^24: train 16, validation 4, test 4$/);
  assert.match(await page.getByTestId('scan-summary').textContent(), /test images repeated: oracle metrics available/);
}
