/**
 * Neuron inspector and Core view show the model's real numbers: the barcode is the checkpoint's
 * readout._features column (read here from the .pth with a separate minimal reader), the first layer has its
 * 64 filters, the feature maps' range equals core_output.npy's for fixture input 0, and with the ground-truth
 * model on static-sim-a the predicted-vs-recorded panel gives neuralpredictors' ceiling metrics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFloat32Npy } from './npy.mjs';

// ---- a minimal reader for the fixture checkpoint: stored (uncompressed) zip + the pickle's storage names ----

/** name -> bytes of every entry of an uncompressed zip (as torch.save writes it). */
function storedZipEntries(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no zip end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let k = 0; k < count; k++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (method !== 0) throw new Error(`${name}: compressed (method ${method}); expected stored`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    entries.set(name, buf.subarray(start, start + size));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * Float32 data of state-dict entry `key`: the first BINUNICODE string after the key in data.pkl that is not
 * 'storage' or a location tag names its storage, archive/data/<name> (torch's persistent id; repeated strings
 * like 'storage' are memo references after their first use).
 */
function checkpointTensor(path, key) {
  const entries = storedZipEntries(readFileSync(path));
  const pklName = [...entries.keys()].find((n) => n.endsWith('/data.pkl'));
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const pkl = entries.get(pklName);
  const strings = [];
  for (let i = 0; i < pkl.length - 5; i++) {
    if (pkl[i] !== 0x58) continue; // BINUNICODE
    const len = pkl.readUInt32LE(i + 1);
    if (len > 200 || i + 5 + len > pkl.length) continue;
    strings.push({ at: i, s: pkl.toString('utf8', i + 5, i + 5 + len) });
  }
  const k = strings.findIndex((x) => x.s === key);
  if (k < 0) throw new Error(`${key} not in ${path}`);
  const storage = strings.slice(k + 1).find((x) => x.s !== 'storage' && !/^(cpu|cuda(:\d+)?)$/.test(x.s)).s;
  const bytes = entries.get(`${prefix}data/${storage}`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

async function showTab(page, id) {
  const tab = page.getByTestId(`tab-${id}`);
  if (await tab.count()) await tab.click();
}

export async function inspectorAndCoreShowTheModel({ openPage, shot, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  const dir = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '7,776 neurons' }).waitFor();
  // The fixture's inputs as the images, so that image 0 is the one core_output.npy was computed for (the input
  // is on the Prediction tab, which may be hidden).
  await page.getByTestId('images-input').setInputFiles(join(dir, 'inputs.npy'));
  await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'inputs.npy');

  // ---- Neuron inspector ----
  await showTab(page, 'inspector');
  await page.getByTestId('inspector-empty').waitFor();
  const n = 1234;
  await page.getByTestId('inspector-neuron').fill(String(n));
  const barcode = page.getByTestId('barcode');
  await barcode.and(page.locator(`[data-neuron="${n}"]`)).waitFor();
  const bars = await barcode
    .locator('rect.bar')
    .evaluateAll((rs) => rs.map((r) => [Number(r.dataset.channel), Number(r.dataset.value)]));
  assert.equal(bars.length, 64, 'one bar per core channel');
  const features = checkpointTensor(join(dir, 'model.pth'), 'readout.26872-17-20._features'); // (1, 64, 1, 7776)
  assert.equal(features.length, 64 * 7776);
  for (const [c, v] of bars)
    assert.equal(v, features[c * 7776 + n], `channel ${c}: bar ${v}, checkpoint ${features[c * 7776 + n]}`);
  log(`barcode of neuron ${n}: 64 bars equal readout._features[0, :, 0, ${n}]`);

  // Arrow keys step through neurons: up in the number field, → in the panel.
  await page.getByTestId('inspector-neuron').press('ArrowUp');
  await barcode.and(page.locator(`[data-neuron="${n + 1}"]`)).waitFor();
  await page.getByRole('button', { name: 'Previous neuron' }).focus();
  await page.keyboard.press('ArrowRight');
  await barcode.and(page.locator(`[data-neuron="${n + 2}"]`)).waitFor();
  await page.getByRole('button', { name: 'Previous neuron' }).click();
  await page.getByRole('button', { name: 'Previous neuron' }).click();
  await barcode.and(page.locator(`[data-neuron="${n}"]`)).waitFor();

  // Position on the strongest channel's feature map; top images from the 8 fixture inputs, by predicted response.
  const position = page.getByTestId('inspector-position');
  await position.waitFor();
  let strongest = 0;
  for (const [c, v] of bars) if (Math.abs(v) > Math.abs(bars[strongest][1])) strongest = c;
  assert.equal(
    Number(await position.getAttribute('data-channel')),
    strongest,
    'the strongest |weight| channel is shown',
  );
  const responses = readFloat32Npy(join(dir, 'responses.npy'));
  const expectedOrder = Array.from({ length: 8 }, (_v, i) => i).sort(
    (a, b) => responses.data[b * 7776 + n] - responses.data[a * 7776 + n],
  );
  const shownOrder = await page
    .getByTestId('top-images')
    .locator('figure')
    .evaluateAll((fs) => fs.map((f) => Number(f.dataset.image)));
  assert.deepEqual(shownOrder, expectedOrder, 'top images in order of the fixture responses');
  assert.match(await page.getByTestId('pred-obs-note').textContent(), /Load the scan/);
  await shot('inspector', page);
  await page.getByTestId('pred-obs-note').scrollIntoViewIfNeeded();
  await shot('inspector-bottom', page);

  // ---- Core view ----
  await showTab(page, 'core');
  const filters = page.getByTestId('core-filters').locator('canvas');
  await filters.first().waitFor();
  assert.equal(await filters.count(), 64, '64 first-layer filters');
  const range = page.getByTestId('fmap-range');
  await range.and(page.locator('[data-image="0"][data-images-name="inputs.npy"]')).waitFor();
  assert.equal(await page.getByTestId('core-maps').locator('canvas').count(), 64, 'one feature map per channel');
  const core = readFloat32Npy(join(dir, 'core_output.npy')); // (2, 64, 28, 56): inputs[0:2]
  const per = 64 * 28 * 56;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < per; i++) {
    lo = Math.min(lo, core.data[i]);
    hi = Math.max(hi, core.data[i]);
  }
  const shownMin = Number(await range.getAttribute('data-min'));
  const shownMax = Number(await range.getAttribute('data-max'));
  log(`feature maps of input 0: [${shownMin}, ${shownMax}], core_output.npy [${lo}, ${hi}]`);
  assert.ok(
    Math.abs(shownMin - lo) < 1e-3 && Math.abs(shownMax - hi) < 1e-3,
    "feature map range equals the core output's",
  );
  assert.match(await range.textContent(), new RegExp(`${lo.toFixed(3).replace('-', '−')} … ${hi.toFixed(3)}`));
  // The selected neuron is ringed on each map.
  assert.equal(await page.getByTestId('core-maps').locator('.map-ring').count(), 64);
  await shot('core-filters', page);
  await page.getByTestId('core-maps').locator('button').nth(strongest).click();
  await page.getByTestId('core-focus').waitFor();
  await shot('core', page);
  await page.getByTestId('core-maps').locator('button').last().scrollIntoViewIfNeeded();
  await shot('core-bottom', page);

  // Next image: the maps follow (input 1 is the second image of core_output.npy).
  await page.getByTestId('core-view').getByRole('button', { name: 'Next image' }).click();
  await range.and(page.locator('[data-image="1"]')).waitFor();
  let lo1 = Infinity;
  let hi1 = -Infinity;
  for (let i = per; i < 2 * per; i++) {
    lo1 = Math.min(lo1, core.data[i]);
    hi1 = Math.max(hi1, core.data[i]);
  }
  assert.ok(Math.abs(Number(await range.getAttribute('data-min')) - lo1) < 1e-3);
  assert.ok(Math.abs(Number(await range.getAttribute('data-max')) - hi1) < 1e-3);
}

export async function inspectorComparesWithRecordedResponses({ openPage, shot, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  const sim = join(fixtures, 'sim-scan');
  await page.evaluate(() => window.__v1x.backendReady());
  await page
    .getByTestId('model-input')
    .setInputFiles([
      join(sim, 'static-sim-a-truth', 'truth_model.pth'),
      join(fixtures, 'sensorium-sota', 'config.json'),
    ]);
  await page.getByTestId('model-summary').filter({ hasText: '1,000 neurons' }).waitFor();
  await page.getByTestId('scan-input').setInputFiles(join(sim, 'static-sim-a.zip'));
  await page.getByTestId('scan-neurons').filter({ hasText: '1,000' }).waitFor();

  await showTab(page, 'inspector');
  await page.getByTestId('inspector-neuron').fill('7');
  const panel = page.getByTestId('pred-obs');
  await panel.and(page.locator('[data-neuron="7"]')).waitFor();
  const ref = JSON.parse(readFileSync(join(sim, 'reference_results.json'), 'utf8')).ceiling;
  const meanAvg = Number(await panel.getAttribute('data-mean-corr-avg'));
  const meanTest = Number(await panel.getAttribute('data-mean-test-corr'));
  log(
    `ground truth on static-sim-a: correlation to average ${meanAvg.toFixed(4)} (neuralpredictors ${ref.correlation_to_average.toFixed(4)}), single trial ${meanTest.toFixed(4)} (${ref.test_correlation.toFixed(4)})`,
  );
  assert.ok(Math.abs(meanAvg - ref.correlation_to_average) < 0.002);
  assert.ok(Math.abs(meanTest - ref.test_correlation) < 0.002);
  assert.equal(Number(await panel.getAttribute('data-images')), 100);
  assert.equal(await panel.locator('circle.pt').count(), 100, 'one point per test image');
  const r = Number(await panel.getAttribute('data-corr-avg'));
  assert.ok(r > 0 && r <= 1, `neuron 7's correlation to the average: ${r}`);
  assert.equal(await page.getByTestId('top-images').locator('figure').count(), 8);
  // A top image that the other views show too (the first 16 test images) can be selected from here.
  const clickable = page.getByTestId('top-images').locator('figure:has(button)');
  if (await clickable.count()) {
    const label = (await clickable.first().locator('figcaption').textContent()).match(/test image \d+/)[0];
    await clickable.first().locator('button').click();
    await page
      .getByTestId('inspector-summary')
      .filter({ hasText: `predicted response to ${label}:` })
      .waitFor();
    log(`selected ${label} from the top images`);
  }
  await shot('inspector-scan', page);
  await page.getByTestId('pred-obs').locator('.stat-row').scrollIntoViewIfNeeded();
  await shot('inspector-scan-bottom', page);
}

export async function coreViewOnWebGpu({ openPage, fixtures, log }) {
  // The page's default backend in these tests is WebGPU on SwiftShader: one image through the core there.
  const page = await openPage({ query: 'view=core' });
  const dir = join(fixtures, 'sensorium-sota');
  const { backend } = await page.evaluate(() => window.__v1x.backendReady());
  assert.equal(backend, 'webgpu');
  await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '7,776 neurons' }).waitFor();
  await page.getByTestId('images-input').setInputFiles(join(dir, 'inputs.npy'));
  const range = page.getByTestId('fmap-range');
  await range.and(page.locator('[data-image="0"][data-images-name="inputs.npy"]')).waitFor();
  const core = readFloat32Npy(join(dir, 'core_output.npy'));
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < 64 * 28 * 56; i++) {
    lo = Math.min(lo, core.data[i]);
    hi = Math.max(hi, core.data[i]);
  }
  const shown = [Number(await range.getAttribute('data-min')), Number(await range.getAttribute('data-max'))];
  log(`WebGPU feature maps of input 0: [${shown.join(', ')}], core_output.npy [${lo}, ${hi}]`);
  assert.ok(Math.abs(shown[0] - lo) < 1e-3 && Math.abs(shown[1] - hi) < 1e-3);
  assert.match(await range.textContent(), /webgpu/);
  assert.equal(await page.getByTestId('core-filters').locator('canvas').count(), 64);
}
