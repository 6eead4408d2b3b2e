/**
 * A TransferLearningCore model in the page (issue 14): test/fixtures/vgg's neuralpredictors-saved VGG16-to-conv2_2
 * core + FullGaussian2d with its images. The page's responses are neuralpredictors' (responses.npy, 1e-4 + 1e-4|ref|);
 * the Architecture view names the class and the cut, lists the kept convs by their torchvision child index with their
 * ReLUs, the pool and the BatchNorm, and the sizes through the pool; the Core view shows the 64 first-layer filters
 * (summed over the 3 input channels the greyscale image is repeated to, or one channel at a time) and the 128 feature
 * maps of 10x14 whose range is that of core_output.npy for the image shown. Then a new Gaussian readout fine-tuned
 * in the page on this frozen core, for a scan simulated on it (`v1x simulate`, 10 neurons, 20x28 images), and the
 * fine-tuned model explored: still a TransferLearningCore.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareClose, readFloat32Npy } from './npy.mjs';

async function loadVgg(page, fixtures) {
  const d = join(fixtures, 'vgg');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(d, 'model.pth'), join(d, 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '10 neurons' }).waitFor();
  await page.getByTestId('images-input').setInputFiles(join(d, 'images.npy'));
  await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'images.npy');
  await page.evaluate(() => window.__v1x.idle());
}

export async function vggCoreInArchitectureAndCoreViews({ openPage, fixtures, shot, log }) {
  const page = await openPage({ query: 'backend=wasm&view=architecture' });
  await loadVgg(page, fixtures);
  const p = await page.evaluate(() => window.__v1x.prediction());
  assert.deepEqual(p.shape, [3, 10]);
  const cmp = compareClose(p.data, readFloat32Npy(join(fixtures, 'vgg', 'responses.npy')).data, 1e-4, 1e-4);
  log(`VGG16 conv2_2 + Gaussian readout: responses vs neuralpredictors, max |a - b| = ${cmp.maxAbs.toExponential(2)}`);
  assert.ok(cmp.ok, `response ${cmp.index}: page ${cmp.actual}, neuralpredictors ${cmp.expected}`);

  const arch = page.getByTestId('architecture');
  assert.equal(await page.getByTestId('arch-core-class').textContent(), 'Core: TransferLearningCore');
  assert.match(
    await page.getByTestId('arch-transfer-learning').textContent(),
    /vgg16.s features cut after 8 children \(conv 3x3 3->64, ReLU, .*MaxPool 2x2\/2, .*conv 3x3 128->128\), then BatchNorm, then ReLU; the greyscale image is repeated to its 3 input channels/,
  );
  const rows = await page
    .getByTestId('core-layers')
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
  const layers = rows.slice(1, -1);
  assert.deepEqual(
    layers.map((r) => [r[0], r[2], r[3], r[4], r[5], r[6]]),
    [
      ['features.0', '3 → 64', '3×3', '1', 'ReLU', '64×20×28'],
      ['features.2', '64 → 64', '3×3', '1', 'ReLU, max pool 2×2/2', '64×10×14'],
      ['features.5', '64 → 128', '3×3', '1', 'ReLU', '128×10×14'],
      ['features.7', '128 → 128', '3×3', '1', 'BN, ReLU', '128×10×14'],
    ],
  );
  assert.match(await page.getByTestId('arch-params-core').textContent(), /core: TransferLearningCore/);
  // the four convs' weights and biases and OutBatchNorm's weight and bias
  const coreParams = 64 * 27 + 64 + 64 * 576 + 64 + 128 * 576 + 128 + 128 * 1152 + 128 + 2 * 128;
  assert.equal(
    Number(await page.getByTestId('arch-params-core').locator('[data-value]').getAttribute('data-value')),
    coreParams,
  );
  await arch.scrollIntoViewIfNeeded();
  await shot('vgg-architecture', page);

  await page.getByRole('tab', { name: 'Core' }).click();
  const view = page.getByTestId('core-view');
  await view.getByTestId('core-filters').waitFor();
  assert.match(
    await view.textContent(),
    /vgg16 cut after 8 children \(4 conv layers\); input 1×20×28, output 128×10×14/,
  );
  assert.equal(await view.getByTestId('core-filters').locator('figure').count(), 64);
  assert.match(await view.textContent(), /64 filters, 3×3, summed over the 3 input channels/);
  await view.getByLabel('Input channel of the filters').selectOption('2');
  assert.match(await view.textContent(), /input channel 2 of 3/);
  const range = view.getByTestId('fmap-range');
  await range.waitFor();
  const ref = readFloat32Npy(join(fixtures, 'vgg', 'core_output.npy'));
  const per = 128 * 10 * 14;
  const image = Number(await range.getAttribute('data-image'));
  const first = ref.data.subarray(image * per, (image + 1) * per);
  const min = Math.min(...first);
  const max = Math.max(...first);
  const got = [Number(await range.getAttribute('data-min')), Number(await range.getAttribute('data-max'))];
  log(`feature maps of image ${image}: page ${got.join('..')}, neuralpredictors ${min}..${max}`);
  assert.ok(
    Math.abs(got[0] - min) <= 1e-4 + 1e-4 * Math.abs(min) && Math.abs(got[1] - max) <= 1e-4 + 1e-4 * Math.abs(max),
  );
  assert.match(await range.textContent(), /^128 channels, 10×14/);
  await shot('vgg-core', page);
}

/** A scan of 10 neurons simulated on the fixture model (its VGG core and readout), 20x28 images; made once per run. */
function vggScan(fixtures) {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  const out = join(dir, 'vgg-scan.zip');
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const d = join(fixtures, 'vgg');
  const r = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      join(d, 'model.pth'),
      '--config',
      join(d, 'config.json'),
      '--neurons',
      '10',
      '--seed',
      '3',
      '--trials',
      '96,32,6x3',
      '--out',
      out,
      '--force',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`v1x simulate failed: ${r.stderr}`);
  return out;
}

export async function fineTuneReadoutOnTheVggCore({ openPage, fixtures, shot, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  await loadVgg(page, fixtures);
  await page.getByTestId('scan-input').setInputFiles(vggScan(fixtures));
  await page.getByTestId('scan-neurons').filter({ hasText: /^10$/ }).waitFor();
  await page.getByLabel('max epochs').fill('5');
  await page.getByLabel('batch size').fill('16');
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-phase').filter({ hasText: /^done/ }).waitFor({ timeout: 240_000 });
  log((await page.getByTestId('train-phase').textContent()).trim());
  await page.getByTestId('train-results').waitFor();
  const r = Number(await page.getByTestId('result-test-correlation').textContent());
  assert.ok(Number.isFinite(r) && Math.abs(r) <= 1, `test correlation ${r}`);
  log(`a new Gaussian readout on the frozen VGG16 conv2_2 core, 5 epochs: test correlation ${r.toFixed(3)}`);
  await shot('trained', page);
  await page.getByTestId('explore-trained').click();
  await page.evaluate(() => window.__v1x.idle());
  await page.getByRole('tab', { name: 'Architecture' }).click();
  await page.getByTestId('arch-core-class').filter({ hasText: 'TransferLearningCore' }).waitFor();
  await shot('trained-architecture', page);
}
