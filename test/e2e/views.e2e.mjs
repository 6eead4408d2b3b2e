/** Explorer views show real values from the loaded model, and neuron selection is linked across views. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compareClose, readFloat32Npy } from './npy.mjs';

export async function receptiveFieldPositionsFromModel({ openPage, shot, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  const dir = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
  await page.getByTestId('rf-view').waitFor();
  await page.evaluate(() => window.__v1x.idle());

  // The positions drawn are the readout's eval-mode grid (fixture grid.npy, tolerance 1e-6).
  const geometry = await page.evaluate(() => window.__v1x.geometry());
  const grid = readFloat32Npy(join(dir, 'grid.npy'));
  const cmp = compareClose(geometry.grid, grid.data, 1e-6, 0);
  log(`grid: max |a - b| = ${cmp.maxAbs.toExponential(2)}`);
  assert.ok(cmp.ok, `grid differs at ${cmp.index}: ${cmp.actual} vs ${cmp.expected}`);
  // Pixels: valid 9x9 first conv, so feature column 0 sits over image column 4 and column 55 over 59.
  for (const n of [0, 1234, 7775]) {
    assert.ok(Math.abs(geometry.pixels[2 * n] - (((grid.data[2 * n] + 1) / 2) * 55 + 4)) < 1e-4);
    assert.ok(Math.abs(geometry.pixels[2 * n + 1] - (((grid.data[2 * n + 1] + 1) / 2) * 27 + 4)) < 1e-4);
  }

  const marks = page.getByTestId('rf-marks').locator('circle');
  assert.equal(await marks.count(), 7776, 'one mark per neuron');
  const fills = new Set(await marks.evaluateAll((cs) => cs.slice(0, 2000).map((c) => c.getAttribute('fill'))));
  assert.ok(fills.size > 20, `marks should be colored by cortical position, got ${fills.size} colors`);
  await page.getByTestId('rf-lattice').waitFor();

  // Hovering a mark names that neuron; clicking selects it, in every view.
  const box = await marks.nth(1234).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const focus = await page.getByTestId('rf-focus').textContent();
  const n = Number(focus.match(/neuron (\d+)/)?.[1]);
  assert.ok(Number.isInteger(n), `hover should name a neuron: ${focus}`);
  const px = geometry.pixels;
  assert.ok(
    Math.hypot(px[2 * n] - px[2 * 1234], px[2 * n + 1] - px[2 * 1234 + 1]) < 0.5,
    'the hovered neuron is the one under the mouse',
  );
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await shot('rf-hover', page);
  // The selection shows in the prediction's responses plot too (another tab: hidden views catch up when shown).
  await page.getByRole('tab', { name: 'Prediction' }).click();
  await page.getByTestId('responses-plot').locator('circle.mark-selected').waitFor();
}

export async function sessionSurvivesReload({ openPage, fixtures }) {
  const page = await openPage({ query: 'backend=wasm' });
  const dir = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden
  await page.getByTestId('images-input').setInputFiles(join(dir, 'inputs.npy'));
  await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'inputs.npy');
  await page.getByLabel('Color map', { exact: true }).selectOption('cividis');
  // Saving is asynchronous; give IndexedDB a moment before leaving the page.
  await page.waitForTimeout(500);

  await page.reload();
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden
  await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'inputs.npy');
  assert.match(await page.getByTestId('model-status').textContent(), /restored/);
  assert.equal(await page.getByLabel('Color map', { exact: true }).inputValue(), 'cividis');

  await page.getByTestId('clear-session').click();
  await page.waitForTimeout(300);
  await page.reload();
  await page.evaluate(() => window.__v1x.backendReady());
  await page.evaluate(() => window.__v1x.idle());
  await page.getByTestId('model-status').filter({ hasText: 'No model loaded yet.' }).waitFor();
}
