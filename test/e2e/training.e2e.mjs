/**
 * Fine-tuning in the page: short runs on tiny simulated scans (200 neurons, a few hundred trials or fewer, made
 * by `v1x simulate` from the fixture model), with pause / resume / stop, live curves and results; on WASM,
 * and on WebGPU (SwiftShader, slow: the smallest scan).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { simScan } from './sim_scans.mjs';

/** The tests' default tiny scan, made by the shared helper (sim_scans.mjs). */
const tinyScan = (fixtures, name = 'tiny-scan', trials = '192,64,8x4') => simScan(fixtures, name, trials);

/** Two epochs at batch 16 from the page's controls; returns the seconds until the results show a test correlation. */
async function twoEpochFineTune(page) {
  await page.getByLabel('max epochs').fill('2');
  await page.getByLabel('batch size').fill('16');
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  const seconds = (Date.now() - t0) / 1000;
  const r = Number(await page.getByTestId('result-test-correlation').textContent());
  assert.ok(Number.isFinite(r), `test correlation should be a number: ${r}`);
  return seconds;
}

async function loadModelAndScan(page, fixtures, scan) {
  const sota = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), join(sota, 'config.json')]);
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-neurons').filter({ hasText: '200' }).waitFor();
}

export async function shortFineTuneWithPause({ openPage, shot, fixtures, log }) {
  const scan = tinyScan(fixtures);
  const page = await openPage({ query: 'backend=wasm' });
  await loadModelAndScan(page, fixtures, scan);
  // Enough epochs that it is still running when paused; the test stops it after a few.
  await page.getByLabel('max epochs').fill('200');
  await page.getByLabel('batch size').fill('16');
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page.getByTestId('training-curves').locator('circle.corr-dot').nth(1).waitFor();
  await page.getByTestId('train-pause').click();
  await page
    .getByTestId('train-phase')
    .filter({ hasText: /^paused/ })
    .waitFor();
  await page.waitForTimeout(300);
  const before = await page.getByTestId('train-progress').textContent();
  await page.waitForTimeout(1500);
  assert.equal(await page.getByTestId('train-progress').textContent(), before, 'nothing moves while paused');
  const dots = await page.getByTestId('training-curves').locator('circle.corr-dot').count();
  await page.getByTestId('train-resume').click();
  await page
    .getByTestId('training-curves')
    .locator('circle.corr-dot')
    .nth(dots + 1)
    .waitFor();
  await page.getByTestId('train-stop').click();
  await page.getByTestId('train-results').waitFor();
  log(
    `${(await page.getByTestId('training-curves').locator('circle.corr-dot').count()) - 1} epochs, stopped after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  assert.match(await page.getByTestId('train-results').textContent(), /stop/i);
  const r = Number(await page.getByTestId('result-test-correlation').textContent());
  assert.ok(r > 0.05 && r <= 1, `test correlation should be a real, positive number: ${r}`);
  await shot('done', page);

  // The fine-tuned model (frozen core + the new readout) replaces the loaded one in the views.
  await page.getByTestId('explore-trained').click();
  await page.getByTestId('arch-neurons').filter({ hasText: /^200$/ }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden
  await page.evaluate(() => window.__v1x.idle());
  assert.equal(await page.getByTestId('rf-marks').locator('circle').count(), 200);
  const p = await page.evaluate(() => window.__v1x.prediction());
  assert.deepEqual(p.shape, [8, 200], "predictions of the new readout for the scan's 8 test images");
  await shot('explore', page);
}

export async function fineTuneOnWebGPU({ page, shot, fixtures, log }) {
  const scan = tinyScan(fixtures, 'micro-scan', '48,16,4x2');
  assert.equal((await page.evaluate(() => window.__v1x.backendReady())).backend, 'webgpu');
  await loadModelAndScan(page, fixtures, scan);
  const seconds = await twoEpochFineTune(page);
  log(`2 epochs on WebGPU (SwiftShader) in ${seconds.toFixed(1)} s`);
  assert.match(await page.getByTestId('train-progress').textContent(), /webgpu/);
  await shot('done');
}

export async function fineTuneWithoutWebGPU({ openPage, shot, fixtures, log }) {
  const scan = tinyScan(fixtures, 'micro-scan', '48,16,4x2');
  const page = await openPage({ webgpu: false });
  const backend = await page.evaluate(() => window.__v1x.backendReady());
  assert.notEqual(backend.backend, 'webgpu');
  await loadModelAndScan(page, fixtures, scan);
  const seconds = await twoEpochFineTune(page);
  const progress = await page.getByTestId('train-progress').textContent();
  log(`2 epochs with WebGPU unavailable in ${seconds.toFixed(1)} s, ${progress.trim()}`);
  assert.doesNotMatch(progress, /webgpu/);
  await shot('done', page);
}
