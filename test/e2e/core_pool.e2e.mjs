/**
 * The core pool in the page: on WASM the training worker starts one Web Worker per logical core
 * (navigator.hardwareConcurrency; 2 in this headless Chromium) to build the core-output cache, and says so beside
 * the progress bar ("on wasm + 2 core workers"), in the backend's description (its tooltip) and in the caching status. A small scan (68 images),
 * one epoch: the run finishes with a real test correlation, so the workers' outputs reached the readout. The
 * readout's steps, validation and test predictions then run on the same workers (readout_shards.ts), said with the
 * readout engine. The page's inference uses the same pool code (page_inference.ts): its core on the workers, the
 * readout in the page, and neuralpredictors' responses.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compareClose, readFloat32Npy } from './npy.mjs';
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

/**
 * The page's predictions with the core on the workers (forced with ?predictPool=1; by default only from 256 images)
 * are neuralpredictors' responses to the fixture's images, as the page's own backend gives them (?predictPool=0),
 * and the caption says where the core ran.
 */
export async function inferenceOnCoreWorkers({ openPage, shot, fixtures, log }) {
  const dir = join(fixtures, 'sensorium-sota');
  const want = readFloat32Npy(join(dir, 'responses.npy')).data;
  const got = {};
  for (const pool of ['1', '0']) {
    const page = await openPage({ query: `backend=wasm&view=prediction&predictPool=${pool}` });
    await page.evaluate(() => window.__v1x.backendReady());
    await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
    await page.getByTestId('model-summary').filter({ hasText: '7,776 neurons' }).waitFor();
    await page.getByTestId('images-input').setInputFiles(join(dir, 'inputs.npy'));
    await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'inputs.npy');
    const p = await page.evaluate(() => window.__v1x.prediction());
    assert.deepEqual(p.shape, [8, 7776]);
    const cmp = compareClose(p.data, want, 1e-4, 1e-4);
    const caption = await page.locator('figcaption').filter({ hasText: 'ms for 8 images' }).textContent();
    log(`predictPool=${pool}: max |page - neuralpredictors| = ${cmp.maxAbs.toExponential(2)}; "${caption.trim()}"`);
    assert.ok(cmp.ok, `response ${cmp.index}: page ${cmp.actual}, neuralpredictors ${cmp.expected}`);
    if (pool === '1') {
      assert.match(caption, /the core on 2 Web Workers/);
      await shot('prediction-on-workers', page);
    } else assert.doesNotMatch(caption, /Web Workers/);
    got[pool] = p.data;
  }
  const both = compareClose(got['1'], got['0'], 1e-5, 1e-5);
  log(`core on the workers vs in the page: max |a - b| = ${both.maxAbs.toExponential(2)}`);
  assert.ok(both.ok, `response ${both.index}: workers ${both.actual}, page ${both.expected}`);
}
