/**
 * Small simulated scans for the browser tests and bench/browser.mjs, and loading a model and a scan into the page.
 * The scans are made once by `v1x simulate` from the fixture model (200 neurons) into test-results/tmp/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** A simulated scan's zip (made if missing): `trials` is v1x simulate's --trials (train,validation,test). */
export function simScan(fixtures, name, trials) {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  const out = join(dir, `${name}.zip`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const sota = join(fixtures, 'sensorium-sota');
  const r = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      join(sota, 'model.pth'),
      '--config',
      join(sota, 'config.json'),
      '--neurons',
      '200',
      '--seed',
      '1',
      '--trials',
      trials,
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

/** Loads the fixture checkpoint and `scan` (a zip path) into the page; `neurons` is the scan's count as shown. */
export async function loadModelAndScan(page, fixtures, scan, neurons = '200') {
  const sota = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), join(sota, 'config.json')]);
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' }); // on the Architecture tab, maybe hidden
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-neurons').filter({ hasText: neurons }).waitFor();
}
