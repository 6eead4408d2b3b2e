/**
 * "Also fine-tune the core" in the page: off by default with its hint; switched on, one epoch on the demo core
 * with a micro scan (40 neurons, 64 training images) runs without the core-feature cache, reports that the core
 * was fine-tuned, and the fine-tuned model (its core and the new readout) loads into the views.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const DEMO = join(process.cwd(), 'public', 'demo');

function demoMicroScan() {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  const out = join(dir, 'demo-micro-scan.zip');
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      join(DEMO, 'model.pth'),
      '--config',
      join(DEMO, 'config.json'),
      '--neurons',
      '40',
      '--seed',
      '3',
      '--trials',
      '64,16,4x2',
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

export async function fineTuneTheCoreToo({ openPage, shot, log }) {
  const scan = demoMicroScan();
  const page = await openPage({ query: 'backend=wasm' });
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(DEMO, 'model.pth'), join(DEMO, 'config.json')]);
  await page.evaluate(() => window.__v1x.idle());
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-neurons').filter({ hasText: '40' }).waitFor();

  const box = page.getByTestId('train-core');
  assert.equal(await box.isChecked(), false, 'off by default');
  assert.match(
    await page.getByTestId('training-panel').textContent(),
    /much slower: every epoch runs the core forward and backward \(no cache\)/,
  );
  await box.check();
  await page.getByLabel('max epochs').fill('1');
  await page.getByLabel('batch size').fill('16');
  const phases = new Set();
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  while (!(await page.getByTestId('train-results').isVisible())) {
    phases.add(((await page.getByTestId('train-phase').textContent()) ?? '').split(':')[0]);
    await page.waitForTimeout(100);
  }
  log(
    `1 epoch with the core trainable in ${((Date.now() - t0) / 1000).toFixed(1)} s; phases seen: ${[...phases].filter(Boolean).join(', ')}`,
  );
  assert.ok(!phases.has('caching'), 'no core-feature cache when the core trains');
  const results = await page.getByTestId('train-results').textContent();
  assert.match(results, /core fine-tuned too \(no cache\)/);
  assert.match(results, /fine-tuned core \+ readout \.pth/);
  const r = Number(await page.getByTestId('result-test-correlation').textContent());
  assert.ok(Number.isFinite(r), `test correlation should be a number: ${r}`);
  await shot('done', page);

  await page.getByTestId('explore-trained').click();
  await page.getByTestId('arch-neurons').filter({ hasText: /^40$/ }).waitFor({ state: 'attached' });
  await page.evaluate(() => window.__v1x.idle());
  const p = await page.evaluate(() => window.__v1x.prediction());
  assert.deepEqual(p.shape, [4, 40], "predictions of the fine-tuned model for the scan's 4 test images");
}
