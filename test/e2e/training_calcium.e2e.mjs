/**
 * Real recordings in the page (issue 15): a calcium-like scan (dF/F with negative values, `v1x simulate --calcium`)
 * without cortical coordinates (its cell_motor_coordinates.npy left out). The Training view says, each in one line,
 * that the MSE loss is used (negative responses) and that positions are free (no coordinates); an explicit Poisson
 * choice is refused there with the reason; the Advanced section shows the loaded config's readout settings; a short
 * run (2 epochs, batch 16; small workload: 100 neurons, 96 trials, WASM) finishes with a test correlation, and its
 * results say MSE loss and free positions. Then a Lurz 2020 config (test/fixtures/lurz2020-config over the Sensorium one)
 * is loaded and the Advanced section and the L1 weight show its values (0.55, 0.4, no hidden layer, raw images, 2.439).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';

/** The calcium-like scan without coordinates, as a zip (made once into test-results/tmp/). */
async function calciumScanWithoutCoordinates(fixtures) {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  const name = 'static-calcium-nocoords';
  const zip = join(dir, `${name}.zip`);
  if (existsSync(zip)) return zip;
  mkdirSync(dir, { recursive: true });
  const folder = join(dir, name);
  rmSync(folder, { recursive: true, force: true });
  const sota = join(fixtures, 'sensorium-sota');
  const r = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      join(sota, 'model.pth'),
      '--config',
      join(sota, 'config.json'),
      '--neurons',
      '100',
      '--seed',
      '2',
      '--trials',
      '64,16,4x4',
      '--calcium',
      '--out',
      folder,
      '--force',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`v1x simulate failed: ${r.stderr}`);
  rmSync(join(folder, 'meta', 'neurons', 'cell_motor_coordinates.npy'));
  const writer = new ZipWriter(new Uint8ArrayWriter(), { level: 0 });
  const walk = (d) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  const files = [];
  walk(folder);
  for (const p of files.sort()) {
    await writer.add(`${name}/${relative(folder, p)}`, new Uint8ArrayReader(new Uint8Array(readFileSync(p))));
  }
  writeFileSync(zip, await writer.close());
  return zip;
}

export async function calciumScanWithoutCoordinatesFineTunes({ openPage, shot, fixtures, log }) {
  const scan = await calciumScanWithoutCoordinates(fixtures);
  const page = await openPage({ query: 'backend=wasm' });
  const sota = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), join(sota, 'config.json')]);
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' });
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-neurons').filter({ hasText: '100' }).waitFor();
  await page.evaluate(() => window.__v1x.idle?.());

  // the two notes, one line each
  const lossNote = await page.getByTestId('train-loss-note').textContent();
  assert.match(lossNote, /training responses are negative.*Poisson loss is undefined.*MSE loss/);
  const posNote = await page.getByTestId('train-positions-note').textContent();
  assert.match(posNote, /no cortical coordinates.*free positions/);
  log(`notes: ${lossNote.trim()} | ${posNote.replace(/^; /, '').trim()}`);

  // Poisson asked explicitly: refused with the reason, Start disabled; back to automatic
  await page.getByTestId('train-loss').selectOption('poisson');
  assert.match(await page.getByTestId('train-loss-error').textContent(), /Poisson loss is undefined/);
  assert.equal(await page.getByTestId('train-start').isDisabled(), true);
  await page.getByTestId('train-loss').selectOption('auto');

  // the Advanced section: the loaded (Sensorium) config's values
  await page.getByTestId('train-advanced').locator('summary').click();
  assert.equal(Number(await page.getByTestId('train-adv-initMuRange').inputValue()), 0.3);
  assert.equal(Number(await page.getByTestId('train-adv-initSigma').inputValue()), 0.1);
  assert.equal(Number(await page.getByTestId('train-adv-hiddenLayers').inputValue()), 1);
  assert.equal(await page.getByTestId('train-adv-finalTanh').isChecked(), true);
  assert.equal(await page.getByTestId('train-adv-normalize').isChecked(), true);
  await page.getByTestId('train-adv-initMuRange').fill('0.5');
  await shot('before', page);

  await page.getByLabel('max epochs').fill('2');
  await page.getByLabel('batch size').fill('16');
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  const r = Number(await page.getByTestId('result-test-correlation').textContent());
  log(`2 epochs in ${((Date.now() - t0) / 1000).toFixed(1)} s, test correlation ${r.toFixed(3)}`);
  assert.ok(Number.isFinite(r), `test correlation should be a number: ${r}`);
  const trainedWith = await page.getByTestId('result-trained-with').textContent();
  assert.match(trainedWith, /MSE loss/);
  assert.match(trainedWith, /positions free/);
  await shot('done', page);

  // positions asked from the network on a scan without coordinates: said, and free positions used
  await page.getByTestId('train-positions').selectOption('network');
  assert.match(
    await page.getByTestId('train-positions-note').textContent(),
    /no cortical coordinates.*one position per neuron instead/,
  );
  await page.getByTestId('train-positions').selectOption('auto');

  // a Lurz 2020 config (test/fixtures/lurz2020-config over the Sensorium one): the Advanced section and the L1 weight
  // show its values
  const lurz = join(process.cwd(), 'test-results', 'tmp', 'lurz-sota-config.json');
  writeFileSync(
    lurz,
    JSON.stringify({
      ...JSON.parse(readFileSync(join(sota, 'config.json'), 'utf8')),
      ...JSON.parse(readFileSync(join(fixtures, 'lurz2020-config', 'config.json'), 'utf8')),
    }),
  );
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), lurz]);
  await page.getByTestId('train-adv-initSigma').and(page.locator('[value="0.4"]')).waitFor();
  // the user's init_mu_range (0.5, above) stays until reset to the config's
  assert.equal(Number(await page.getByTestId('train-adv-initMuRange').inputValue()), 0.5);
  await page.getByTestId('train-adv-reset').click();
  assert.equal(Number(await page.getByTestId('train-adv-initMuRange').inputValue()), 0.55);
  assert.equal(Number(await page.getByTestId('train-adv-hiddenLayers').inputValue()), 0);
  assert.equal(Number(await page.getByTestId('train-adv-hiddenFeatures').inputValue()), 0);
  assert.equal(await page.getByTestId('train-adv-excludeImages').isChecked(), true);
  assert.equal(Number(await page.getByLabel('feature L1 (γ readout)').inputValue()), 2.439);
  await shot('lurz-config', page);
}
