/**
 * A TransferLearningCore model in the page (issue 14): test/fixtures/vgg's neuralpredictors-saved VGG16-to-conv2_2
 * core + FullGaussian2d with its images. The page's responses are neuralpredictors' (responses.npy, 1e-4 + 1e-4|ref|);
 * the Architecture view names the class and the cut, lists the kept convs by their torchvision child index with their
 * ReLUs, the pool and the BatchNorm, and the sizes through the pool; the Core view shows the 64 first-layer filters
 * (summed over the 3 input channels the greyscale image is repeated to, or one channel at a time) and the 128 feature
 * maps of 10x14 whose range is that of core_output.npy for the image shown.
 */
import assert from 'node:assert/strict';
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
