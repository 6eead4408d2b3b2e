/**
 * The Cell types view on the bundled demo (500 neurons, 16 channels): one dot per neuron, a suggested k with its
 * silhouette curve, dots colored by k clusters, hover and click linked to the other views (the inspector shows
 * the clicked neuron), a legend cluster emphasized on the receptive-field map, UMAP computed in a worker; and,
 * with a scan that carries ground-truth cell types, the true-type scatter, the confusion table and the ARI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Neuron index and cluster of every dot, in drawing (= neuron) order, and their screen positions. */
async function dots(page, testId) {
  return page
    .getByTestId(testId)
    .locator('circle')
    .evaluateAll((cs) =>
      cs.map((c) => {
        const b = c.getBoundingClientRect();
        const category = Number(c.getAttribute('data-category'));
        return { category, fill: c.getAttribute('fill'), x: b.x + b.width / 2, y: b.y + b.height / 2 };
      }),
    );
}

async function openCellTypes(page) {
  const view = page.getByTestId('cell-types-view');
  await view.waitFor({ timeout: 120_000 });
  await page.getByTestId('cell-types-suggested-k').waitFor({ timeout: 120_000 });
  return view;
}

export async function cellTypesOnTheDemo({ page, shot, log }) {
  await page.evaluate(() => window.__v1x.backendReady());
  await openCellTypes(page);
  await page.evaluate(() => window.__v1x.idle());
  const { neurons } = await page.evaluate(() => window.__v1x.state());
  assert.equal(neurons, 500, 'the demo readout has 500 neurons');

  // One dot per neuron, at finite, distinct places (PCA of real barcodes, not a placeholder).
  const points = page.getByTestId('cell-types-points');
  assert.equal(Number(await points.getAttribute('data-points')), neurons);
  let pts = await dots(page, 'cell-types-points');
  assert.equal(pts.length, neurons, 'one dot per neuron');
  const places = new Set(pts.map((p) => `${p.x.toFixed(0)},${p.y.toFixed(0)}`));
  assert.ok(places.size > neurons / 3, 'dots spread over the plot');

  // A suggested k in 2..10, the k control at it, k colors, and the silhouette curve with 9 values.
  const suggested = Number(await page.getByTestId('cell-types-suggested-k').getAttribute('data-value'));
  assert.ok(suggested >= 2 && suggested <= 10, `suggested k ${suggested}`);
  assert.equal(Number(await page.getByTestId('cell-types-k').inputValue()), suggested);
  assert.equal(Number(await page.getByTestId('silhouette-plot').getAttribute('data-suggested')), suggested);
  assert.equal(await page.getByTestId('silhouette-plot').locator('circle.silhouette-dot').count(), 9);
  assert.equal(new Set(pts.map((p) => p.category)).size, suggested, 'dots in k clusters');
  assert.equal(new Set(pts.map((p) => p.fill)).size, suggested, 'one color per cluster');
  const sizes = await page.getByTestId('cell-types-legend').locator('.count').allTextContents();
  assert.equal(sizes.length, suggested);
  assert.equal(
    sizes.reduce((s, t) => s + parseInt(t, 10), 0),
    neurons,
    'the legend counts every neuron once',
  );
  const explainer = await page.getByTestId('cell-types-explainer').textContent();
  assert.match(explainer, /barcode.*16 feature\s+channels.*PCA: the axes/s);
  // The demo's scan (a held-out animal, not this readout's neurons) has no ground-truth types.
  await page
    .getByTestId('cell-types-no-truth')
    .filter({ hasText: /static-v1demo-heldout has no ground-truth cell types/ })
    .waitFor({ timeout: 60_000 });
  log(`suggested k = ${suggested}; cluster sizes ${sizes.join(', ')}`);

  // Another k recolors the dots.
  const otherK = suggested === 2 ? 3 : 2;
  await page.getByTestId('cell-types-k').selectOption(String(otherK));
  await page.waitForFunction(
    (k) =>
      new Set(
        [...document.querySelectorAll('[data-testid="cell-types-points"] circle')].map((c) =>
          c.getAttribute('data-category'),
        ),
      ).size === k,
    otherK,
  );
  await page.getByTestId('cell-types-k').selectOption(String(suggested));

  // Hover a dot: the focus line names that neuron; click: it is the selected neuron in the inspector.
  pts = await dots(page, 'cell-types-points');
  const target = 123;
  await page.mouse.move(pts[target].x, pts[target].y);
  const focus = await page.getByTestId('cell-types-focus').textContent();
  const hovered = Number(focus.match(/neuron (\d+)/)?.[1]);
  assert.ok(Number.isInteger(hovered), `hover names a neuron: ${focus}`);
  const off = Math.hypot(pts[hovered].x - pts[target].x, pts[hovered].y - pts[target].y);
  assert.ok(off < 3, 'the hovered neuron is the dot under the mouse');
  assert.match(focus, new RegExp(`cluster ${pts[hovered].category + 1}\\b`));
  await page.mouse.click(pts[target].x, pts[target].y);
  await shot('cell-types-pca', page);
  await page.getByTestId('tab-inspector').click();
  await page.getByTestId('barcode').waitFor();
  const shown = Number(await page.getByTestId('barcode').getAttribute('data-neuron'));
  assert.equal(shown, hovered, 'the inspector shows the clicked neuron');

  // Click a cluster in the legend: its neurons are emphasized on the receptive-field map.
  await page.getByTestId('tab-cell-types').click();
  const cluster = 1;
  await page.getByTestId(`cluster-${cluster}`).click();
  assert.equal(await page.getByTestId(`cluster-${cluster}`).getAttribute('aria-pressed'), 'true');
  const members = pts.filter((p) => p.category === cluster).length;
  const faded = await page.getByTestId('cell-types-points').locator('circle[opacity="0.12"]').count();
  assert.equal(faded, neurons - members, 'the other clusters fade in the scatter');
  await page.getByTestId('cell-types-legend').scrollIntoViewIfNeeded();
  await shot('cell-types-cluster', page);
  await page.getByTestId('cell-types-show-rf').click();
  await page.getByTestId('rf-view').waitFor();
  const emphasized = page.getByTestId('rf-emphasized').locator('circle');
  assert.equal(await emphasized.count(), members, "the RF map emphasizes the cluster's neurons");
  const rfFaded = await page.getByTestId('rf-marks').locator('circle[opacity="0.15"]').count();
  assert.equal(rfFaded, neurons - members, 'and fades the others');
  const note = await page.getByTestId('rf-emphasis').textContent();
  assert.match(note, new RegExp(`cluster ${cluster + 1} of ${suggested}.*${members} neurons`));
  await shot('rf-cluster', page);
  // Clearing from the RF map releases the legend too.
  await page.getByTestId('rf-emphasis').getByRole('button', { name: 'Show all' }).click();
  await page.getByTestId('tab-cell-types').click();
  assert.equal(await page.getByTestId(`cluster-${cluster}`).getAttribute('aria-pressed'), 'false');

  // UMAP, in a worker: the same neurons at other places, clusters unchanged.
  await page.getByRole('radio', { name: 'UMAP' }).check();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="cell-types-view"] figcaption')?.textContent?.includes('epochs'),
    null,
    { timeout: 120_000 },
  );
  const u = await dots(page, 'cell-types-points');
  assert.equal(u.length, neurons);
  assert.deepEqual(
    u.map((p) => p.category),
    pts.map((p) => p.category),
    'the clusters do not depend on the embedding',
  );
  assert.ok(
    u.some((p, i) => Math.abs(p.x - pts[i].x) > 5),
    'UMAP places the dots differently from PCA',
  );
  log(await page.getByTestId('cell-types-view').locator('figcaption').first().textContent());
  await shot('cell-types-umap', page);
}
cellTypesOnTheDemo.demo = true;
cellTypesOnTheDemo.query = 'backend=wasm&view=cell-types';

/**
 * A 500-neuron scan simulated from the demo model, given ground-truth types equal to the page's own clusters
 * under other names (label + 1 mod k): the view must find them (ARI 1, one full cell per row of the confusion
 * table) and color each true type like its cluster.
 */
export async function cellTypesAgainstGroundTruth({ page, shot, log }) {
  await page.evaluate(() => window.__v1x.backendReady());
  await openCellTypes(page);
  await page.evaluate(() => window.__v1x.idle());
  const pts = await dots(page, 'cell-types-points');
  const k = Number(await page.getByTestId('cell-types-suggested-k').getAttribute('data-value'));

  const dir = join(process.cwd(), 'test-results', 'tmp');
  mkdirSync(dir, { recursive: true });
  const plain = join(dir, 'cell-types-scan.zip');
  const sim = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      'public/demo/model.pth',
      '--config',
      'public/demo/config.json',
      '--neurons',
      '500',
      '--seed',
      '5',
      '--trials',
      '96,32,6x3',
      '--out',
      plain,
      '--force',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(sim.status, 0, `v1x simulate failed: ${sim.stderr}`);
  const labels = join(dir, 'cell-types-labels.json');
  writeFileSync(labels, JSON.stringify(pts.map((p) => (p.category + 1) % k)));
  const typed = join(dir, 'cell-types-scan-typed.zip');
  const add = spawnSync(process.execPath, ['--import', 'tsx', 'test/e2e/with_cell_types.ts', plain, labels, typed], {
    encoding: 'utf8',
  });
  assert.equal(add.status, 0, `adding cell_types.npy failed: ${add.stderr}`);

  await page.getByTestId('scan-input').setInputFiles(typed);
  await page.getByTestId('scan-summary').waitFor();
  const ari = page.getByTestId('cell-types-ari');
  await ari.waitFor({ timeout: 60_000 });
  assert.equal(Number(await ari.getAttribute('data-value')), 1, 'the clusters are the true types under other names');
  assert.match(await ari.textContent(), new RegExp(`${k} true types: adjusted Rand index 1\\.000`));
  const truth = await dots(page, 'cell-types-truth-points');
  assert.equal(truth.length, 500);
  assert.deepEqual(
    truth.map((p) => p.fill),
    pts.map((p) => p.fill),
    'each true type has the color of its cluster',
  );
  // Confusion table: k rows, each with one non-empty cell.
  const rows = await page
    .getByTestId('cell-types-confusion')
    .locator('tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].filter((td) => td.textContent.trim() !== '').length),
    );
  assert.deepEqual(rows, Array(k).fill(1));
  log(`k = ${k}, ARI ${await ari.getAttribute('data-value')}`);
  await shot('cell-types-truth', page);
  await page.getByTestId('cell-types-confusion').scrollIntoViewIfNeeded();
  await shot('cell-types-truth-confusion', page);
}
cellTypesAgainstGroundTruth.demo = true;
cellTypesAgainstGroundTruth.query = 'backend=wasm&view=cell-types';

/**
 * Klindt et al.'s setting in miniature: `v1x simulate --cell-types 4` makes 4 types, each reading one channel of
 * the demo core at random positions; with its ground-truth model loaded (the core and a readout with one-hot
 * features), the view must suggest k = 4 and find the types exactly (ARI 1).
 */
export async function cellTypesOfASimulatedPopulation({ openPage, shot, log }) {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  mkdirSync(dir, { recursive: true });
  const scan = join(dir, 'cell-types-k4.zip');
  const sim = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      'public/demo/model.pth',
      '--config',
      'public/demo/config.json',
      '--cell-types',
      '4',
      '--neurons',
      '400',
      '--seed',
      '3',
      '--trials',
      '96,32,6x3',
      '--out',
      scan,
      '--force',
      '--backend',
      'wasm',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(sim.status, 0, `v1x simulate --cell-types failed: ${sim.stderr}`);

  const page = await openPage({ query: 'backend=wasm&view=cell-types' });
  await page.evaluate(() => window.__v1x.backendReady());
  const truthModel = join(dir, 'cell-types-k4-truth', 'truth_model.pth');
  await page.getByTestId('model-input').setInputFiles([truthModel, 'public/demo/config.json']);
  await page.getByTestId('model-summary').filter({ hasText: '400 neurons' }).waitFor();
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-summary').waitFor();
  await openCellTypes(page);
  const suggested = Number(await page.getByTestId('cell-types-suggested-k').getAttribute('data-value'));
  assert.equal(suggested, 4, 'suggested k = 4');
  const ari = page.getByTestId('cell-types-ari');
  await ari.waitFor({ timeout: 60_000 });
  assert.equal(Number(await ari.getAttribute('data-value')), 1, 'the clusters are the simulated types');
  assert.equal(await page.getByTestId('cell-types-truth-points').locator('circle').count(), 400);
  log(`k = 4 suggested, ARI ${await ari.getAttribute('data-value')}`);
  await shot('cell-types-k4', page);
  await page.getByTestId('cell-types-confusion').scrollIntoViewIfNeeded();
  await shot('cell-types-k4-confusion', page);
}

/**
 * A Sensorium-size readout (the SOTA checkpoint: 7,776 neurons x 64 channels): the PCA goes to a worker (too large
 * for the page) like the k sweep, and the page stays responsive meanwhile.
 */
export async function cellTypesOfALargeReadout({ openPage, fixtures, shot, log }) {
  const page = await openPage({ query: 'backend=wasm&view=cell-types' });
  const sota = join(fixtures, 'sensorium-sota');
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), join(sota, 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '7,776 neurons' }).waitFor();
  const t0 = Date.now();
  await page.getByTestId('cell-types-progress').waitFor();
  // While the workers run, the page answers at once (a main-thread job would block this for seconds).
  const t1 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
  const frame = Date.now() - t1;
  log(`a frame during the analysis: ${frame} ms`);
  assert.ok(frame < 1000, `the page stalled ${frame} ms while the analysis ran`);
  await page.getByTestId('cell-types-points').waitFor({ timeout: 180_000 });
  log(`PCA of 7,776 x 64 in the worker after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await page.getByTestId('cell-types-suggested-k').waitFor({ timeout: 300_000 });
  const suggestedText = await page.getByTestId('cell-types-suggested-k').textContent();
  log(`k sweep after ${((Date.now() - t0) / 1000).toFixed(1)} s; ${suggestedText}`);
  assert.equal(Number(await page.getByTestId('cell-types-points').getAttribute('data-points')), 7776);
  const k = Number(await page.getByTestId('cell-types-suggested-k').getAttribute('data-value'));
  const categories = await page
    .getByTestId('cell-types-points')
    .locator('circle')
    .evaluateAll((cs) => new Set(cs.map((c) => c.getAttribute('data-category'))).size);
  assert.equal(categories, k);
  await shot('cell-types-sota', page);
}
