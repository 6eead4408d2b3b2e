/**
 * A checkpoint whose readouts share their features (test/fixtures/feature_sharing/gaussian: neuralpredictors'
 * MultiReadoutSharedParametersBase, three readouts over the same six match ids) in the page: it predicts
 * neuralpredictors' responses, the inspector's barcode of a neuron is its own features (scale times the shared
 * vector: the fixture's features_s0.npy) and the inspector names the shared vector and the matched neurons of the
 * other readouts (s0 neuron 2 is match id 12: s1 neuron 3, s2 neurons 1 and 4).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compareClose, readFloat32Npy } from './npy.mjs';

async function showTab(page, id) {
  const tab = page.getByTestId(`tab-${id}`);
  if (await tab.count()) await tab.click();
}

export async function sharedFeaturesInTheInspector({ openPage, fixtures, shot, log }) {
  const dir = join(fixtures, 'feature_sharing', 'gaussian');
  const page = await openPage({ query: 'backend=wasm' });
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '6 neurons' }).waitFor();
  await page.getByTestId('images-input').setInputFiles(join(dir, 'images.npy'));
  await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'images.npy');
  const p = await page.evaluate(() => window.__v1x.prediction());
  const cmp = compareClose(p.data, readFloat32Npy(join(dir, 'responses_s0.npy')).data, 1e-5, 1e-5);
  log(`responses of readout s0 vs neuralpredictors: max |a - b| = ${cmp.maxAbs.toExponential(2)}`);
  assert.ok(cmp.ok, `response ${cmp.index}: page ${cmp.actual}, neuralpredictors ${cmp.expected}`);

  await showTab(page, 'inspector');
  const n = 2;
  await page.getByTestId('inspector-neuron').fill(String(n));
  const barcode = page.getByTestId('barcode');
  await barcode.and(page.locator(`[data-neuron="${n}"]`)).waitFor();
  const bars = await barcode
    .locator('rect.bar')
    .evaluateAll((rs) => rs.map((r) => [Number(r.dataset.channel), Number(r.dataset.value)]));
  const features = readFloat32Npy(join(dir, 'features_s0.npy')).data; // (1, 6, 1, 6): scales * _features[..., idx]
  assert.equal(bars.length, 6);
  for (const [c, v] of bars)
    assert.ok(
      Math.abs(v - features[c * 6 + n]) <= 1e-6,
      `channel ${c}: bar ${v}, neuralpredictors ${features[c * 6 + n]}`,
    );
  const shared = page.getByTestId('inspector-shared');
  await shared.waitFor();
  const text = await shared.textContent();
  log(`inspector: ${text}`);
  assert.match(text, /vector 2 of the 6 that readout 's0' holds/);
  assert.match(text, /readout 's1' neuron 3 \(scale [0-9.]+\)/);
  assert.match(text, /readout 's2' neurons 1 \(scale [0-9.]+\), 4 \(scale [0-9.]+\)/);
  await shot('inspector-shared-features', page);
}
