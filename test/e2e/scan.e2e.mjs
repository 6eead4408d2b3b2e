/** Loading a recorded scan in the page: the zip through the file input, what was found, errors keep the scan. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export async function loadsSimScanZip({ openPage, shot, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  await page.evaluate(() => window.__v1x.backendReady());
  const dir = join(fixtures, 'sensorium-sota');
  await page.getByTestId('model-input').setInputFiles([join(dir, 'model.pth'), join(dir, 'config.json')]);
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden

  const t0 = Date.now();
  await page.getByTestId('scan-input').setInputFiles(join(fixtures, 'sim-scan', 'static-sim-a.zip'));
  await page.getByTestId('scan-neurons').filter({ hasText: '1,000' }).waitFor();
  log(`static-sim-a.zip loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const tiers = await page.getByTestId('scan-tiers').textContent();
  assert.match(tiers, /5,500/);
  assert.match(tiers, /train 4,000/);
  assert.match(tiers, /validation 500/);
  assert.match(tiers, /test 1,000/);
  // The scan's test images fit the model (36x64): they become the stimuli.
  await page.waitForFunction(() => /static-sim-a test images/.test(window.__v1x.prediction()?.imagesName ?? ''));
  await shot('scan', page);

  // A file that is not a scan: error shown, previous scan kept.
  const bad = join(process.cwd(), 'test-results', 'tmp', 'not-a-scan.zip');
  mkdirSync(join(process.cwd(), 'test-results', 'tmp'), { recursive: true });
  writeFileSync(bad, 'this is not a zip file');
  await page.getByTestId('scan-input').setInputFiles(bad);
  const err = await page.getByTestId('scan-error').textContent();
  assert.match(err, /not-a-scan\.zip/);
  assert.match(await page.getByTestId('scan-neurons').textContent(), /1,000/);
}

export async function urlParametersLoadModelAndScan({ openPage, baseUrl, fixtures, allowConsoleError }) {
  const page = await openPage({ query: null });
  // The files appear at /fx/ on the app's own origin, as a link in a slide would name them.
  await page.route('**/fx/**', (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop();
    const dir = name.endsWith('.zip') ? 'sim-scan' : 'sensorium-sota';
    return route.fulfill({ path: join(fixtures, dir, name) });
  });
  await page.goto(
    `${baseUrl}/index.html?backend=wasm&model=fx/model.pth&config=fx/config.json&scan=fx/static-sim-a.zip`,
  );
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden
  await page.getByTestId('scan-neurons').filter({ hasText: '1,000' }).waitFor();
  assert.match(await page.getByTestId('architecture').textContent(), /config\.json/);

  // A link to a file that does not exist: a clear error, nothing loaded. (Chromium logs the 404 itself.)
  allowConsoleError(/status of 404/);
  await page.goto(`${baseUrl}/index.html?backend=wasm&model=fx-missing/nothing.pth`);
  const err = await page.getByTestId('model-error').textContent();
  assert.match(err, /nothing\.pth: HTTP 404/);
}
