/**
 * Learned Gaussians and Correlations show the model's real numbers. With the ground-truth model of static-sim-a
 * (the sensorium-sota core and its readout restricted to the scan's 1000 neurons) on the scan's test tier, the
 * correlations are neuralpredictors' ceiling in test/fixtures/sim-scan/reference_results.json (within
 * 0.002, fraction oracle within 0.01), and the scatter has a dot per neuron. The Gaussians are the checkpoint's
 * Sigma: one ellipse per neuron whose size follows the chosen confidence as sqrt(-2 ln(1 - p)).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

async function loadTruthModelAndScan(page, fixtures) {
  await page.evaluate(() => window.__v1x.backendReady());
  const truth = join(fixtures, 'sim-scan', 'static-sim-a-truth', 'truth_model.pth');
  await page.getByTestId('model-input').setInputFiles([truth, join(fixtures, 'sensorium-sota', 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '1,000 neurons' }).waitFor();
  await page.getByTestId('scan-input').setInputFiles(join(fixtures, 'sim-scan', 'static-sim-a.zip'));
  await page.getByTestId('scan-neurons').filter({ hasText: '1,000' }).waitFor();
  await page.evaluate(() => window.__v1x.idle());
}

export async function correlationsOfTheGroundTruthModel({ openPage, shot, fixtures, log }) {
  const ref = JSON.parse(readFileSync(join(fixtures, 'sim-scan', 'reference_results.json'), 'utf8')).ceiling;
  const page = await openPage({ query: 'backend=wasm' });
  await loadTruthModelAndScan(page, fixtures);

  const t0 = Date.now();
  await page.getByRole('tab', { name: 'Correlations' }).click();
  const mean = page.getByTestId('corr-mean-test');
  await mean.waitFor();
  log(`test tier evaluated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const value = async (id) => Number(await page.getByTestId(id).getAttribute('data-value'));
  const got = {
    test_correlation: await value('corr-mean-test'),
    correlation_to_average: await value('corr-mean-average'),
    oracle: await value('corr-mean-oracle'),
    fraction_oracle: await value('corr-fraction-oracle'),
  };
  log(`page: ${JSON.stringify(got)}`);
  for (const [k, tol] of [
    ['test_correlation', 0.002],
    ['correlation_to_average', 0.002],
    ['oracle', 0.002],
    ['fraction_oracle', 0.01],
  ]) {
    assert.ok(
      Math.abs(got[k] - ref[k]) <= tol,
      `${k}: page ${got[k]} vs neuralpredictors ceiling ${ref[k]} (tolerance ${tol})`,
    );
  }
  assert.match(await page.getByTestId('corr-source').textContent(), /truth_model\.pth.*static-sim-a/);

  // One dot per neuron; the fraction line has the summary's slope.
  assert.equal(await page.getByTestId('scatter-points').locator('circle').count(), 1000);
  await page.getByTestId('fraction-line').waitFor();
  // Histogram counts add up to the neurons.
  const counts = await page.getByTestId('corr-histogram').locator('.hist-bars title').allTextContents();
  assert.equal(
    counts.reduce((a, t) => a + Number(t.match(/: (\d+) neurons/)[1]), 0),
    1000,
  );

  // The table: sorted by test correlation, descending; its first row is the best neuron.
  const firstRow = async () =>
    page.getByTestId('neuron-table').locator('tbody tr:not(.spacer)').first().locator('td').allTextContents();
  const best = await firstRow();
  assert.ok(Number(best[2]) > 0.8, `best neuron's test correlation: ${best.join(' | ')}`);
  const visibleRows = await page.getByTestId('neuron-table').locator('tbody tr:not(.spacer)').count();
  assert.ok(visibleRows < 60, `rows are virtualized (${visibleRows} in the page)`);
  await page.getByTestId('sort-oracle').click();
  await page.getByTestId('sort-oracle').click(); // ascending
  const lowestOracle = await firstRow();
  assert.ok(
    Number(lowestOracle[4]) < 0.1,
    `ascending oracle starts low (fixture minimum 0.043): ${lowestOracle.join(' | ')}`,
  );

  // Selecting a row selects that neuron everywhere; the table follows a selection made elsewhere.
  await page.getByTestId('neuron-table').locator('tbody tr:not(.spacer)').first().click();
  const n = Number(lowestOracle[0]);
  await page
    .getByTestId('corr-focus')
    .filter({ hasText: `neuron ${n} ` })
    .waitFor();
  await page.getByTestId('oracle-scatter').locator('circle.mark-selected').waitFor();
  await page.getByTestId('neuron-table').press('ArrowDown');
  await page
    .getByTestId('neuron-table')
    .locator('tr.row-selected')
    .filter({ hasText: lowestOracle[1] })
    .waitFor({ state: 'detached' });
  await page.mouse.move(0, 0);
  await shot('correlations', page);

  await page.getByRole('tab', { name: 'Receptive fields' }).click();
  await page.getByTestId('rf-view').waitFor();
  assert.match(
    await page.getByTestId('rf-focus').textContent(),
    /neuron \d+/,
    'the selection shows in the receptive-field view',
  );
}

export async function gaussianEllipsesOfTheModel({ openPage, shot, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  await loadTruthModelAndScan(page, fixtures);
  await page.getByRole('tab', { name: 'Learned Gaussians' }).click();
  const ellipses = page.getByTestId('gaussian-ellipses').locator('ellipse');
  await ellipses.first().waitFor();
  assert.equal(await ellipses.count(), 1000, 'one ellipse per neuron');
  // The cloud: 8 draws per neuron in a few colored paths.
  const cloudPoints = await page
    .getByTestId('gaussian-cloud')
    .locator('path')
    .evaluateAll((ps) => ps.reduce((a, p) => a + (p.getAttribute('d').match(/M/g) ?? []).length, 0));
  assert.equal(cloudPoints, 8000);

  // Ellipse sizes scale with the confidence radius sqrt(-2 ln(1 - p)) (90 % -> 50 %: ratio 1.823).
  const sizes = () => ellipses.evaluateAll((es) => es.slice(0, 50).map((e) => Number(e.getAttribute('rx'))));
  await page.getByLabel('Ellipse confidence').selectOption('0.9');
  await page.waitForFunction(() => document.querySelector('[data-testid=gaussians-view] svg[aria-label^="90 %"]'));
  const at90 = await sizes();
  await page.getByLabel('Ellipse confidence').selectOption('0.5');
  await page.waitForFunction(() => document.querySelector('[data-testid=gaussians-view] svg[aria-label^="50 %"]'));
  const at50 = await sizes();
  // Same frame? Only if the zoom did not change: compare ratios across neurons instead of absolute sizes.
  const ratios = at90.map((r, i) => r / at50[i]);
  const k = Math.sqrt(Math.log(1 - 0.9) / Math.log(1 - 0.5));
  const scaleChange = ratios[0] / k;
  for (const r of ratios)
    assert.ok(Math.abs(r / k / scaleChange - 1) < 1e-3, `ellipse sizes scale by the confidence radius: ${r} vs ${k}`);
  log(`median major semi-axis: ${await page.getByTestId('gaussians-focus').textContent()}`);
  await page.getByLabel('Ellipse confidence').selectOption('0.9');

  // Hover a neuron: it is named, and the same neuron is named in the receptive-field view.
  const box = await ellipses.nth(123).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const focus = await page.getByTestId('gaussians-focus').textContent();
  const n = Number(focus.match(/neuron (\d+)/)?.[1]);
  assert.ok(Number.isInteger(n), `hover names a neuron: ${focus}`);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.getByTestId('gaussians-view').locator('.gauss-selected').waitFor();
  await page.mouse.move(0, 0);
  await shot('gaussians', page);
  await page.getByRole('tab', { name: 'Receptive fields' }).click();
  assert.match(await page.getByTestId('rf-focus').textContent(), new RegExp(`neuron ${n}\\b`));
}

/** An int64 .npy vector (format 1.0), as the scans store frame_image_id. */
function int64Npy(values) {
  let header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const buf = Buffer.alloc(10 + header.length + 8 * values.length);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, 10, 'latin1');
  values.forEach((v, i) => buf.writeBigInt64LE(BigInt(v), 10 + header.length + 8 * i));
  return buf;
}

/**
 * A small scan (the ground-truth model's 1000 neurons) whose test images are each shown once: the metrics that
 * need no repeats are computed and the view says plainly that there is no oracle.
 */
export async function correlationsWithoutRepeats({ openPage, shot, fixtures }) {
  const dir = join(process.cwd(), 'test-results', 'tmp', 'no-repeats');
  const truth = join(fixtures, 'sim-scan', 'static-sim-a-truth', 'truth_model.pth');
  const config = join(fixtures, 'sensorium-sota', 'config.json');
  // The simulator insists on repeats (it calibrates its noise on them); the ids are made unique afterwards.
  const r = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      truth,
      '--config',
      config,
      '--neurons',
      '1000',
      '--seed',
      '3',
      '--trials',
      '16,8,12x2',
      '--out',
      dir,
      '--force',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`v1x simulate failed: ${r.stderr}`);
  writeFileSync(
    join(dir, 'meta', 'trials', 'frame_image_id.npy'),
    int64Npy(Array.from({ length: 48 }, (_, i) => 1000 + i)),
  );

  const page = await openPage({ query: 'backend=wasm&view=correlations' });
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([truth, config]);
  await page.getByTestId('model-summary').filter({ hasText: '1,000 neurons' }).waitFor();
  await page.getByTestId('scan-input-folder').setInputFiles(dir);
  await page.getByTestId('scan-neurons').filter({ hasText: '1,000' }).waitFor();
  const note = page.getByTestId('oracle-unavailable');
  await note.waitFor();
  assert.match(await note.textContent(), /Oracle unavailable.*more than once/);
  assert.equal(await page.getByTestId('corr-mean-oracle').textContent(), '—');
  assert.equal(await page.getByTestId('corr-feve').textContent(), '—');
  const mean = Number(await page.getByTestId('corr-mean-test').getAttribute('data-value'));
  assert.ok(Number.isFinite(mean) && mean > 0.2, `the test correlation is still computed: ${mean}`);
  assert.equal(
    await page.getByTestId('neuron-table').locator('tbody tr:not(.spacer)').first().locator('td').nth(4).textContent(),
    '—',
  );
  await shot('no-repeats', page);
}

/**
 * After a short fine-tune on a small simulated scan (200 of the SOTA model's neurons), the Correlations view
 * shows that run's test metrics; once the fine-tuned model is explored, the page's own evaluation of it on the
 * scan agrees with the worker's.
 */
export async function correlationsOfAFineTunedReadout({ openPage, shot, fixtures, log }) {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  const scan = join(dir, 'finetune-corr.zip');
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
      '8',
      '--trials',
      '128,32,8x4',
      '--out',
      scan,
      '--force',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`v1x simulate failed: ${r.stderr}`);

  const page = await openPage({ query: 'backend=wasm&view=correlations' });
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), join(sota, 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '7,776 neurons' }).waitFor();
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-neurons').filter({ hasText: '200' }).waitFor();
  await page.getByTestId('corr-unavailable').waitFor();
  await page.getByLabel('max epochs').fill('4');
  await page.getByLabel('batch size').fill('16');
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  const workerMean = Number(await page.getByTestId('result-test-correlation').textContent());

  // The run's metrics, not linked to the 7776 neurons the other views show.
  await page.getByTestId('corr-source').filter({ hasText: 'fine-tuned readout' }).waitFor();
  const shown = Number(await page.getByTestId('corr-mean-test').getAttribute('data-value'));
  assert.equal(shown.toFixed(3), workerMean.toFixed(3));
  assert.equal(await page.getByTestId('scatter-points').locator('circle').count(), 200);
  assert.match(await page.getByTestId('correlations-view').textContent(), /Explore the fine-tuned model/);
  await shot('fine-tuned', page);

  // Explored: the page evaluates the new model on the scan itself and gets the same numbers.
  await page.getByTestId('explore-trained').click();
  await page.getByTestId('model-summary').filter({ hasText: '200 neurons' }).waitFor();
  await page.getByTestId('corr-source').filter({ hasText: 'model-' }).waitFor();
  const own = Number(await page.getByTestId('corr-mean-test').getAttribute('data-value'));
  log(`test correlation: worker ${shown}, page ${own}`);
  assert.ok(Math.abs(own - shown) < 2e-3, `page ${own} vs worker ${shown}`);
  await page.getByRole('radio', { name: 'last fine-tuning run' }).check();
  await page.getByTestId('corr-source').filter({ hasText: 'fine-tuned readout' }).waitFor();
}
