/**
 * The core pool in the page: on WASM the training worker starts one Web Worker per logical core
 * (navigator.hardwareConcurrency; 2 in this headless Chromium) to build the core-output cache, and says so beside
 * the progress bar ("on wasm + 2 core workers"), in the backend's description (its tooltip) and in the caching status. A small scan (68 images),
 * one epoch: the run finishes with a real test correlation, so the workers' outputs reached the readout. The
 * readout's steps, validation and test predictions then run on the same workers (readout_shards.ts), said with the
 * readout engine.
 */
import assert from 'node:assert/strict';
import { loadModelAndScan, simScan } from './sim_scans.mjs';

export async function cacheOnEveryCore({ openPage, shot, fixtures, log }) {
  const scan = simScan(fixtures, 'micro-scan', '48,16,4x2');
  const page = await openPage({ query: 'backend=wasm' });
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  await loadModelAndScan(page, fixtures, scan);
  await page.getByLabel('max epochs').fill('1');
  await page.getByLabel('batch size').fill('16');
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  const r = Number(await page.getByTestId('result-test-correlation').textContent());
  assert.ok(Number.isFinite(r) && r > -1 && r <= 1, `test correlation should be a number: ${r}`);
  const reason = await page.getByTestId('train-progress').locator('span[title]').getAttribute('title');
  log(`navigator.hardwareConcurrency ${cores}; ${reason}`);
  const expected = Math.min(8, cores);
  if (expected > 1) {
    assert.match(reason, new RegExp(`core cache on ${expected} Web Workers`));
    assert.match(
      await page.getByTestId('train-progress').textContent(),
      new RegExp(`on wasm \\+ ${expected} core workers`),
    );
    // the readout's steps ran on the same workers (the cache lent to them), and the page says so
    const engine = await page.getByTestId('readout-engine').textContent();
    log(`readout engine: ${engine}`);
    assert.match(engine, new RegExp(`readout steps on ${expected} workers`));
  } else assert.match(reason, /core cache in the training worker/);
  await shot('done', page);
}

/** On a software WebGPU adapter (SwiftShader here) the cache runs on the pool too: the core there is ~1 image/s. */
export async function cacheOnCoreWorkersWithSoftwareWebGPU({ page, fixtures, log }) {
  const scan = simScan(fixtures, 'micro-scan', '48,16,4x2');
  assert.equal((await page.evaluate(() => window.__v1x.backendReady())).backend, 'webgpu');
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  await loadModelAndScan(page, fixtures, scan);
  await page.getByLabel('max epochs').fill('1');
  await page.getByLabel('batch size').fill('16');
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  const progress = await page.getByTestId('train-progress').textContent();
  log(`${progress.trim()}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (Math.min(8, cores) > 1) assert.match(progress, new RegExp(`on webgpu \\+ ${Math.min(8, cores)} core workers`));
}
