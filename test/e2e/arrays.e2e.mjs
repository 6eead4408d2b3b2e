/**
 * A scan given as plain .npy arrays: the page reads them, proposes which is which from the shapes (the dialog), a
 * wrong choice gives an error naming the file and keeps the dialog open, the corrected mapping loads the scan with
 * the test repeats as its test tier and the chosen validation share.
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

export async function mapsPlainArraysToAScan({ openPage, shot, log }) {
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
  assert.match(await page.getByTestId('scan-summary').textContent(), /test images repeated: oracle metrics available/);
  await shot('loaded', page);
}
