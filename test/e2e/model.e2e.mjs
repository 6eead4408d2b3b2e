/**
 * Issue 2's browser acceptance: the Sensorium SOTA checkpoint loads through the file input, its architecture
 * shows, and its responses to the fixture images match neuralpredictors (|a - b| <= 1e-4 + 1e-4 |b|) on WebGPU
 * (SwiftShader) and on WebGL; a corrupt file shows an error and keeps the loaded model.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareClose, readFloat32Npy } from './npy.mjs';

const ATOL = 1e-4;
const RTOL = 1e-4;

async function loadSota(page, fixtures) {
  const dir = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden
}

async function predictFixtureImages(page, fixtures) {
  await page.getByTestId('images-input').setInputFiles(join(fixtures, 'sensorium-sota', 'inputs.npy'));
  await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'inputs.npy', null, { polling: 500 });
  await page.evaluate(() => window.__v1x.idle());
  return page.evaluate(() => window.__v1x.prediction());
}

function checkResponses(prediction, fixtures, log) {
  const expected = readFloat32Npy(join(fixtures, 'sensorium-sota', 'responses.npy'));
  assert.deepEqual(prediction.shape, expected.shape);
  const cmp = compareClose(prediction.data, expected.data, ATOL, RTOL);
  log(`${prediction.backend}: max |a - b| = ${cmp.maxAbs.toExponential(2)} over ${expected.data.length} responses`);
  assert.ok(
    cmp.ok,
    `responses differ at flat index ${cmp.index}: ${cmp.actual} vs ${cmp.expected} (max abs diff ${cmp.maxAbs})`,
  );
}

async function checkArchitectureTable(page) {
  const rows = await page
    .getByTestId('core-layers')
    .locator('tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent.trim()).join(' | ')),
    );
  const layers = rows.filter((r) => /^layer\d/.test(r));
  assert.equal(layers.length, 4, `expected 4 core layers, got: ${rows.join(' / ')}`);
  assert.match(layers[0], /^layer0 \| conv \| 1 → 64 \| 9×9 \| 0 \|/);
  for (const l of layers.slice(1)) assert.match(l, /\| depth-separable \| 64 → 64 \| 7×7 \| 3 \|/);
  assert.match(rows.at(-1), /64×28×56$/);
}

export async function sotaResponsesMatchOnWebGPU({ page, shot, fixtures, log }) {
  await loadSota(page, fixtures);
  assert.equal((await page.evaluate(() => window.__v1x.state())).backend, 'webgpu');
  await checkArchitectureTable(page);
  const prediction = await predictFixtureImages(page, fixtures);
  assert.equal(prediction.backend, 'webgpu');
  checkResponses(prediction, fixtures, log);
  await shot('loaded');
}

export async function sotaResponsesMatchOnWebGL({ openPage, shot, fixtures, log }) {
  const page = await openPage({ webgpu: false });
  await loadSota(page, fixtures);
  const prediction = await predictFixtureImages(page, fixtures);
  assert.equal(prediction.backend, 'webgl');
  checkResponses(prediction, fixtures, log);
  await shot('loaded', page);
}

export async function corruptCheckpointKeepsModel({ openPage, shot, fixtures }) {
  // WASM keeps this test quick; the error path does not depend on the backend.
  const page = await openPage({ query: 'backend=wasm' });
  await loadSota(page, fixtures);
  await page.evaluate(() => window.__v1x.idle());
  const before = await page.evaluate(() => window.__v1x.prediction());
  assert.ok(before, 'a prediction for the built-in images should exist');

  const dir = join(process.cwd(), 'test-results', 'tmp');
  mkdirSync(dir, { recursive: true });
  const corrupt = join(dir, 'corrupt.pth');
  writeFileSync(corrupt, readFileSync(join(fixtures, 'sensorium-sota', 'model.pth')).subarray(0, 5000));
  await page.getByTestId('model-input').setInputFiles(corrupt);
  const error = page.getByTestId('model-error');
  await error.waitFor();
  const text = await error.textContent();
  assert.match(text, /corrupt\.pth/, `the error should name the file: ${text}`);

  const state = await page.evaluate(() => window.__v1x.state());
  assert.equal(state.neurons, 7776, 'the previous model should stay loaded');
  assert.equal(state.modelStatus, 'ready');
  assert.match(await page.getByTestId('arch-neurons').textContent(), /7,776/);
  const after = await page.evaluate(() => window.__v1x.prediction());
  assert.deepEqual(after.shape, before.shape);
  await shot('error', page);
}

export async function backendSwitchRebuildsModel({ openPage, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  await loadSota(page, fixtures);
  const onWasm = await predictFixtureImages(page, fixtures);
  assert.equal(onWasm.backend, 'wasm');
  checkResponses(onWasm, fixtures, log);
  await page.getByTestId('backend-switch').selectOption('webgl');
  await page.waitForFunction(() => window.__v1x.prediction()?.backend === 'webgl', null, { polling: 500 });
  await page.evaluate(() => window.__v1x.idle());
  assert.match(page.url(), /backend=webgl/, 'the switch is kept in the URL');
  checkResponses(await page.evaluate(() => window.__v1x.prediction()), fixtures, log);
}
