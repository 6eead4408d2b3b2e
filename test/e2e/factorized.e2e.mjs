/**
 * A factorized readout (neuralpredictors' FullFactorized2d, Klindt et al. 2017) in every view: the
 * neuralpredictors-saved Stacked2dCore + FullFactorized2d of test/fixtures/factorized/model (12 neurons, 8 channels,
 * masks 16x28 on a 20x32 input; zip and legacy format) with its images. What the page shows is checked against
 * numbers computed here from the checkpoint's own arrays (read with the project's reader in Node) and the fixture's
 * neuralpredictors outputs: responses, mask peaks, centroids and half-maximum sizes, barcodes, what a channel
 * contributes under the mask, parameter counts. No scan in the repository has 20x32 images, so a tiny one is
 * simulated on this model's core (`v1x simulate --cell-types 4 --neurons 12`: as many neurons as the readout) for
 * the views that compare with recordings (correlations, predicted vs recorded, cell types with ground truth), and
 * for fine-tuning a factorized readout in the page: on WASM (live, paused, stopped; then a whole run whose masks
 * find the simulated cells), on WebGPU (SwiftShader), and with the core fine-tuned too; each result explored.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareClose, readFloat32Npy } from './npy.mjs';

const N = 12,
  C = 8,
  H = 16,
  W = 28;
/** The core's output pixel (i, j) sits over input pixel (i + 2, j + 2): a valid 5x5 first conv, then same-padded. */
const BORDER = 2;

function modelDir(fixtures) {
  return join(fixtures, 'factorized', 'model');
}

/** The readout's arrays as the checkpoint holds them, and its masks' geometry computed here. */
function expectedReadout(fixtures) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'test/e2e/checkpoint_arrays.ts', join(modelDir(fixtures), 'model.pth'), 'readout.fx.'],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  assert.equal(r.status, 0, `reading the checkpoint failed: ${r.stderr}`);
  const sd = JSON.parse(r.stdout);
  assert.deepEqual(sd['readout.fx.spatial'].shape, [N, H, W]);
  const spatial = sd['readout.fx.spatial'].data;
  const features = sd['readout.fx._features'].data;
  const HW = H * W;
  const masks = new Float64Array(N * HW);
  const neurons = [];
  for (let n = 0; n < N; n++) {
    // neuralpredictors' normalize: spatial / (|spatial|_2 + 1e-6)
    let ss = 0;
    for (let p = 0; p < HW; p++) ss += spatial[n * HW + p] ** 2;
    const norm = Math.sqrt(ss) + 1e-6;
    let max = 0,
      arg = 0,
      t = 0,
      sx = 0,
      sy = 0;
    for (let p = 0; p < HW; p++) {
      const m = spatial[n * HW + p] / norm;
      masks[n * HW + p] = m;
      if (Math.abs(m) > max) {
        max = Math.abs(m);
        arg = p;
      }
      t += m * m;
      sx += m * m * (p % W);
      sy += m * m * Math.floor(p / W);
    }
    let half = 0;
    for (let p = 0; p < HW; p++) if (Math.abs(masks[n * HW + p]) >= max / 2) half++;
    neurons.push({ max, peak: [arg % W, Math.floor(arg / W)], centroid: [sx / t, sy / t], half });
  }
  return { features, masks, neurons };
}

/** Learned numbers in the checkpoint, from the fixture's keys.txt (buffers and the regularizer's filter excluded). */
function checkpointParameters(fixtures) {
  let core = 0,
    readout = 0;
  for (const line of readFileSync(join(modelDir(fixtures), 'keys.txt'), 'utf8')
    .trim()
    .split('\n')) {
    const [key, ...rest] = line.split(' ');
    if (!/^(core|readout)\./.test(key) || /running_(mean|var)|num_batches_tracked|_input_weights_regularizer/.test(key))
      continue;
    const dims = rest
      .join(' ')
      .match(/\(([^)]*)\)/)[1]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
    const n = dims.reduce((a, b) => a * b, 1);
    if (key.startsWith('core.')) core += n;
    else readout += n;
  }
  return { core, readout, total: core + readout };
}

/** A scan of 12 simulated neurons (4 cell types) on this model's core, 20x32 images; made once per run. */
function factorizedScan(fixtures) {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  const out = join(dir, 'factorized-scan.zip');
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const m = modelDir(fixtures);
  const r = spawnSync(
    process.execPath,
    [
      'bin/v1x.mjs',
      'simulate',
      '--checkpoint',
      join(m, 'model.pth'),
      '--config',
      join(m, 'config.json'),
      '--cell-types',
      '4',
      '--neurons',
      '12',
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

async function loadFactorized(page, fixtures, file = 'model.pth') {
  const m = modelDir(fixtures);
  await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('model-input').setInputFiles([join(m, file), join(m, 'config.json')]);
  await page.getByTestId('model-summary').filter({ hasText: '12 neurons' }).waitFor();
  await page.getByTestId('images-input').setInputFiles(join(m, 'images.npy'));
  await page.waitForFunction(() => window.__v1x.prediction()?.imagesName === 'images.npy');
  await page.evaluate(() => window.__v1x.idle());
}

/** The page's responses to the fixture's images are neuralpredictors' (responses.npy). */
async function checkResponses(page, fixtures, log, what) {
  const p = await page.evaluate(() => window.__v1x.prediction());
  assert.deepEqual(p.shape, [3, N]);
  const cmp = compareClose(p.data, readFloat32Npy(join(modelDir(fixtures), 'responses.npy')).data, 1e-5, 1e-5);
  log(`${what}: responses vs neuralpredictors, max |a - b| = ${cmp.maxAbs.toExponential(2)} on ${p.backend}`);
  assert.ok(cmp.ok, `response ${cmp.index}: page ${cmp.actual}, neuralpredictors ${cmp.expected}`);
}

export async function factorizedCheckpointInEveryView({ openPage, fixtures, shot, log }) {
  const want = expectedReadout(fixtures);
  const params = checkpointParameters(fixtures);
  const page = await openPage({ query: 'backend=wasm' });
  await loadFactorized(page, fixtures);
  await checkResponses(page, fixtures, log, 'zip format');

  // Receptive fields: one mark per neuron at its mask's peak, in input pixels; the legend says so.
  const g = await page.evaluate(() => window.__v1x.geometry());
  assert.equal(g.kind, 'factorized');
  assert.equal(g.position, 'peak');
  assert.deepEqual([g.masks.height, g.masks.width], [H, W]);
  for (let n = 0; n < N; n++) {
    const fx = ((g.grid[2 * n] + 1) / 2) * (W - 1),
      fy = ((g.grid[2 * n + 1] + 1) / 2) * (H - 1);
    const [px, py] = want.neurons[n].peak;
    // The peak pixel, refined over its 3x3 neighbourhood (less than half a pixel away).
    assert.ok(
      Math.abs(fx - px) < 0.5 && Math.abs(fy - py) < 0.5,
      `neuron ${n}: peak (${fx}, ${fy}) vs pixel (${px}, ${py})`,
    );
    assert.ok(Math.abs(g.pixels[2 * n] - (fx + BORDER)) < 1e-4 && Math.abs(g.pixels[2 * n + 1] - (fy + BORDER)) < 1e-4);
    assert.equal(g.masks.halfMaxPixels[n], want.neurons[n].half, `neuron ${n}: pixels above half maximum`);
  }
  const marks = page.getByTestId('rf-marks').locator('circle');
  assert.equal(await marks.count(), N);
  assert.match(await page.getByTestId('rf-position-source').textContent(), /position: the mask.s peak/);
  const box = await marks.nth(5).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  assert.match(
    await page.getByTestId('rf-focus').textContent(),
    /neuron \d+: at .*mask peak; above half its maximum on \d+ feature pixels/,
  );
  await shot('rf-peak', page);

  // Centre of mass instead: every view moves the neurons there (the centroid of the squared mask).
  await page.getByTestId('rf-view').getByTestId('mask-position').selectOption('centroid');
  await page.getByTestId('rf-position-source').filter({ hasText: 'centre of mass' }).waitFor();
  const rfCentroid = await page
    .getByTestId('rf-marks')
    .locator('circle')
    .evaluateAll((cs) => cs.map((c) => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]));
  await shot('rf-centroid', page);
  await page.getByTestId('rf-view').getByTestId('mask-position').selectOption('peak');
  const rfPeak = await page
    .getByTestId('rf-marks')
    .locator('circle')
    .evaluateAll((cs) => cs.map((c) => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]));
  assert.ok(
    rfPeak.some((p, n) => Math.hypot(p[0] - rfCentroid[n][0], p[1] - rfCentroid[n][1]) > 1),
    'peak and centroid marks differ',
  );

  // Learned Gaussians becomes "Learned masks": each mask outlined at half maximum, the dot inside its outline.
  const tab = page.getByRole('tab', { name: 'Learned masks' });
  await tab.click();
  const view = page.getByTestId('gaussians-view');
  assert.equal(await view.getAttribute('data-kind'), 'factorized');
  assert.match(await view.locator('h2').textContent(), /^Learned readout positions/);
  const outlines = page.getByTestId('mask-outlines');
  assert.equal(await outlines.locator('path').count(), N, 'one outline per neuron');
  const inside = await outlines.locator(':scope > g').evaluateAll((gs) =>
    gs.map((gEl) => {
      const b = gEl.querySelector('path').getBBox();
      const c = gEl.querySelector('circle');
      const x = Number(c.getAttribute('cx')),
        y = Number(c.getAttribute('cy'));
      return x >= b.x - 1 && x <= b.x + b.width + 1 && y >= b.y - 1 && y <= b.y + b.height + 1;
    }),
  );
  assert.deepEqual(inside, Array(N).fill(true), "each peak lies within its mask's outline");
  assert.match(
    await page.getByTestId('mask-legend').textContent(),
    /half maximum.*28×16 feature map.*the mask.s peak/s,
  );
  // The outline is the half-maximum region: a lower level encloses more.
  const area = async () =>
    outlines.locator('path').evaluateAll((ps) =>
      ps.reduce((a, p) => {
        const b = p.getBBox();
        return a + b.width * b.height;
      }, 0),
    );
  const halfArea = await area();
  await page.getByTestId('mask-level').selectOption('0.25');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=mask-outlines]')?.getAttribute('data-level') === '0.25',
  );
  assert.ok((await area()) > halfArea, 'outlines at 25 % enclose more than at half maximum');
  await page.getByTestId('mask-level').selectOption('0.5');
  await shot('masks', page);

  // Prediction: the responses plot of the 12 neurons.
  await page.getByRole('tab', { name: 'Prediction' }).click();
  await page.getByTestId('responses-plot').waitFor();
  await shot('prediction', page);

  // Neuron inspector: the barcode is _features[n], the mask a heat map, the channel's share the masked sum.
  const n = 7;
  await page.getByRole('tab', { name: 'Neuron inspector' }).click();
  await page.getByTestId('inspector-neuron').fill(String(n));
  await page.getByTestId('barcode').waitFor();
  const bars = await page
    .getByTestId('barcode')
    .locator('rect.bar')
    .evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-value'))));
  assert.equal(bars.length, C);
  assert.ok(compareClose(bars, want.features.slice(n * C, (n + 1) * C), 1e-7, 0).ok, `barcode of neuron ${n}: ${bars}`);
  const mask = page.getByTestId('inspector-mask');
  await mask.waitFor();
  assert.ok(
    Math.abs(Number(await mask.getAttribute('data-max')) - want.neurons[n].max) < 1e-6,
    "the heat map is scaled to the mask's largest |weight|",
  );
  assert.equal(Number(await mask.getAttribute('data-half-max-pixels')), want.neurons[n].half);
  const colors = await mask.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const set = new Set();
    for (let i = 0; i < d.length; i += 4) set.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
    return { width: c.width, height: c.height, distinct: set.size };
  });
  assert.deepEqual([colors.width, colors.height], [W, H]);
  assert.ok(colors.distinct > 40, `the mask is painted pixel by pixel (${colors.distinct} colors)`);
  const position = page.getByTestId('inspector-position');
  await position.waitFor();
  assert.equal(await position.getAttribute('data-kind'), 'factorized');
  const channel = Number(await position.getAttribute('data-channel'));
  const strongest = bars.reduce((b, w, c) => (Math.abs(w) > Math.abs(bars[b]) ? c : b), 0);
  assert.equal(channel, strongest, 'the strongest channel by default');
  // image 0 of images.npy: sum over the map of mask x core output (core_output.npy, neuralpredictors)
  const core = readFloat32Npy(join(modelDir(fixtures), 'core_output.npy')).data;
  let sum = 0;
  for (let p = 0; p < H * W; p++) sum += want.masks[n * H * W + p] * core[channel * H * W + p];
  const sampled = Number(await position.getAttribute('data-sampled'));
  log(`neuron ${n}, channel ${channel}: sum of mask x map ${sampled.toFixed(6)} (expected ${sum.toFixed(6)})`);
  assert.ok(Math.abs(sampled - sum) < 1e-4 + 1e-4 * Math.abs(sum), `masked sum ${sampled} vs ${sum}`);
  assert.match(await page.getByTestId('inspector-summary').textContent(), /mask peak \([\d.]+, [\d.]+\) px/);
  await shot('inspector', page);

  // Cell types: the 12 barcodes (N, C) of the factorized readout, embedded and clustered.
  await page.getByRole('tab', { name: 'Cell types' }).click();
  await page.getByTestId('cell-types-suggested-k').waitFor({ timeout: 120_000 });
  assert.equal(Number(await page.getByTestId('cell-types-points').getAttribute('data-points')), N);
  assert.equal(await page.getByTestId('cell-types-points').locator('circle').count(), N);
  assert.match(
    await page.getByTestId('cell-types-view').locator('figcaption').first().textContent(),
    /12 barcodes \(factorized readout\)/,
  );
  await shot('cell-types', page);

  // Core: the feature maps, the selected neuron ringed at its mask's peak.
  await page.getByRole('tab', { name: 'Core' }).click();
  assert.equal(await page.getByTestId('core-maps').locator('canvas').count(), C);
  assert.match(
    await page.getByTestId('core-neuron-note').textContent(),
    new RegExp(`neuron ${n}.s readout position \\(its mask.s peak\\)`),
  );
  await shot('core', page);

  // Architecture: FullFactorized2d with its mask, and the parameter counts the checkpoint's keys give.
  await page.getByRole('tab', { name: 'Architecture' }).click();
  assert.equal(await page.getByTestId('arch-readout-kind').getAttribute('data-kind'), 'factorized');
  assert.match(await page.getByTestId('arch-readout-kind').textContent(), /FullFactorized2d/);
  assert.match(await page.getByTestId('arch-mask').textContent(), /28×16 per neuron.*L2-normalized/);
  const count = async (id) => Number(await page.getByTestId(id).locator('td.num').getAttribute('data-value'));
  assert.equal(params.readout, N * (C + H * W) + N);
  assert.equal(await count('arch-params-readout'), params.readout, "the factorized readout's count: n(c + hw) + n");
  assert.equal(await count('arch-params-core'), params.core);
  assert.equal(await count('arch-params-total'), params.total);
  assert.match(
    await page.getByTestId('arch-params-readout').textContent(),
    /n·\(c \+ h·w\) \+ n.*12·\(8 \+ 16·28\) \+ 12.*5,484/,
  );
  log(`parameters: core ${params.core}, readout ${params.readout}, total ${params.total}`);
  await shot('architecture', page);

  // The Experiments tab's parameter table names this checkpoint's readout with its count.
  await page.getByRole('tab', { name: 'Experiments' }).click();
  assert.equal(await count('params-loaded'), params.readout);
  assert.match(await page.getByTestId('params-loaded').textContent(), /FullFactorized2d 'fx', n = 12/);
}

export async function legacyFormatFactorizedCheckpoint({ openPage, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm&view=architecture' });
  await loadFactorized(page, fixtures, 'model_legacy.pth');
  await checkResponses(page, fixtures, log, 'legacy format');
  assert.match(await page.getByTestId('architecture').textContent(), /model_legacy\.pth \(legacy format\)/);
  assert.equal(await page.getByTestId('arch-readout-kind').getAttribute('data-kind'), 'factorized');
}

/** With a scan of the readout's 12 neurons: correlations, predicted vs recorded, cell types against ground truth. */
export async function factorizedWithAScan({ openPage, fixtures, shot, log }) {
  const scan = factorizedScan(fixtures);
  const page = await openPage({ query: 'backend=wasm' });
  await loadFactorized(page, fixtures);
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-neurons').filter({ hasText: /^12$/ }).waitFor();
  await page.evaluate(() => window.__v1x.idle());

  await page.getByRole('tab', { name: 'Correlations' }).click();
  await page.getByTestId('corr-mean-test').waitFor();
  const mean = Number(await page.getByTestId('corr-mean-test').getAttribute('data-value'));
  assert.ok(Number.isFinite(mean) && Math.abs(mean) <= 1, `mean test correlation ${mean}`);
  assert.equal(await page.getByTestId('scatter-points').locator('circle').count(), N);
  log(`correlations of the fixture's (random) readout on the simulated scan: mean test correlation ${mean.toFixed(3)}`);
  await shot('correlations', page);

  await page.getByRole('tab', { name: 'Neuron inspector' }).click();
  await page.getByTestId('inspector-neuron').fill('2');
  await page.getByTestId('pred-obs').waitFor();
  assert.ok(
    Number.isFinite(
      Number(
        await page
          .getByTestId('pred-obs-corr')
          .textContent()
          .then((t) => t.replace('−', '-')),
      ),
    ),
  );
  await page.getByTestId('inspector-mask').waitFor();
  await shot('inspector-scan', page);

  await page.getByRole('tab', { name: 'Cell types' }).click();
  const ari = page.getByTestId('cell-types-ari');
  await ari.waitFor({ timeout: 120_000 });
  assert.ok(Number.isFinite(Number(await ari.getAttribute('data-value'))));
  assert.equal(await page.getByTestId('cell-types-truth-points').locator('circle').count(), N);
  log(`cell types: ${(await ari.textContent()).trim()}`);
  await shot('cell-types-truth', page);
}

/** The factorized model and the 12-neuron scan, then the fine-tune panel set to a factorized readout. */
async function factorizedFineTuneSetup(page, fixtures) {
  await loadFactorized(page, fixtures);
  await page.getByTestId('scan-input').setInputFiles(factorizedScan(fixtures));
  await page.getByTestId('scan-neurons').filter({ hasText: /^12$/ }).waitFor();
  await page.getByTestId('train-readout-type').selectOption('factorized');
  assert.match(await page.getByTestId('train-readout-hint').textContent(), /spatial mask times a feature vector/);
  // The Gaussian's settings give way to the factorized readout's regularizer.
  assert.equal(await page.getByLabel('feature L1 (γ readout)').count(), 0);
  assert.equal(Number(await page.getByLabel('mask × feature L1').inputValue()), 1); // FACTORIZED_DEFAULT_REG_WEIGHT
  // The default weight was chosen on the demo's held-out mouse (300 neurons, 1600 images); on this 12-neuron,
  // 96-image scan it outweighs the data and the masks stay spread (median peak error 5.9 feature pixels), so these
  // runs use a weaker penalty, as a user with so little data would.
  await page.getByLabel('mask × feature L1').fill('0.01');
  await page.getByLabel('batch size').fill('16');
}

/** After a run: the results, then the fine-tuned model (the core + the new factorized readout) in the views. */
async function exploreFactorizedResult(page, shot, log, tag = 'trained') {
  await page.getByTestId('train-results').waitFor();
  const r = Number(await page.getByTestId('result-test-correlation').textContent());
  assert.ok(Number.isFinite(r) && Math.abs(r) <= 1, `test correlation ${r}`);
  log(`test correlation of the new factorized readout: ${r.toFixed(3)}`);
  await shot(tag, page);
  await page.getByTestId('explore-trained').click();
  await page.getByTestId('arch-readout-kind').filter({ hasText: 'FullFactorized2d' }).waitFor({ state: 'attached' });
  await page.evaluate(() => window.__v1x.idle());
  const g = await page.evaluate(() => window.__v1x.geometry());
  assert.equal(g.kind, 'factorized');
  assert.equal(g.masks.halfMaxPixels.length, N);
  await page.getByRole('tab', { name: 'Learned masks' }).click();
  assert.equal(await page.getByTestId('mask-outlines').locator('path').count(), N);
  await shot(`${tag}-masks`, page);
}

/** A factorized readout fine-tuned in the page on WASM, its masks moving live, stopped, then explored. */
export async function fineTuneFactorizedOnWasm({ openPage, fixtures, shot, log }) {
  const page = await openPage({ query: 'backend=wasm&view=gaussians' });
  await factorizedFineTuneSetup(page, fixtures);
  // 12 neurons train in a second or two (74 epochs at batch 4 here): the page itself pauses the run at the first
  // live snapshot, so that there is time to look at it.
  await page.getByLabel('max epochs').fill('200');
  await page.getByLabel('batch size').fill('4');
  await page.evaluate(() => {
    const observer = new MutationObserver(() => {
      const live = document.querySelector('[data-testid=gaussians-live]');
      const pause = document.querySelector('[data-testid=train-pause]');
      if (live && /training a factorized readout/.test(live.textContent) && pause && !pause.disabled) {
        pause.click();
        observer.disconnect();
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page
    .getByTestId('train-phase')
    .filter({ hasText: /^paused/ })
    .waitFor({ timeout: 120_000 });
  await page.getByTestId('gaussians-view').locator('h2').filter({ hasText: 'Learned readout positions' }).waitFor();
  assert.equal(
    await page.getByRole('tab', { name: 'Learned masks' }).count(),
    1,
    'the tab names the masks while one trains',
  );
  assert.equal(await page.getByTestId('gaussian-ellipses').locator('ellipse').count(), N, 'a circle per neuron');
  assert.match(await page.getByTestId('gaussians-cloud-note').textContent(), /each mask.s peak and spread/);
  await shot('training-live', page);
  // Stopped while paused: the run ends with its best state so far.
  await page.getByTestId('train-stop').click();
  log(`stopped after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await exploreFactorizedResult(page, shot, log);

  // A whole run (early stopping) on the scan again: the masks find where the simulated cells are.
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-phase').filter({ hasText: /^done/ }).waitFor({ timeout: 120_000 });
  log((await page.getByTestId('train-phase').textContent()).trim());
  await exploreFactorizedResult(page, shot, log, 'converged');
  const g = await page.evaluate(() => window.__v1x.geometry());
  const truth = readFloat32Npy(
    join(process.cwd(), 'test-results', 'tmp', 'factorized-scan-truth', 'true_grid.npy'),
  ).data;
  const errors = Array.from({ length: N }, (_v, n) =>
    Math.hypot(((g.grid[2 * n] - truth[2 * n]) * (W - 1)) / 2, ((g.grid[2 * n + 1] - truth[2 * n + 1]) * (H - 1)) / 2),
  ).sort((a, b) => a - b);
  const median = (errors[5] + errors[6]) / 2;
  const all = errors.map((e) => e.toFixed(1)).join(', ');
  log(`mask peaks vs the simulated positions: median error ${median.toFixed(2)} feature pixels (${all})`);
  assert.ok(median < 2, `the masks peak where the cells are (median error ${median} feature pixels)`);
  await page.getByRole('tab', { name: 'Neuron inspector' }).click();
  await page.getByTestId('inspector-neuron').fill('0');
  await page.getByTestId('inspector-mask').waitFor();
  await shot('converged-inspector', page);

  // What: the signed barcodes of the learned readout, clustered, against the simulated cell types.
  await page.getByRole('tab', { name: 'Cell types' }).click();
  const ari = page.getByTestId('cell-types-ari');
  await ari.waitFor({ timeout: 120_000 });
  const note = await page.getByTestId('cell-types-sign-note').textContent();
  log(`cell types of the learned readout: ${(await ari.textContent()).trim()}; ${note.trim()}`);
  assert.match(note, /signed by its mask.s largest weight \(\d+ of 12 masks peak negative/);
  await shot('converged-cell-types', page);
}

/** The same for two epochs on WebGPU (SwiftShader). */
export async function fineTuneFactorizedOnWebGPU({ page, fixtures, shot, log }) {
  assert.equal((await page.evaluate(() => window.__v1x.backendReady())).backend, 'webgpu');
  await factorizedFineTuneSetup(page, fixtures);
  await page.getByLabel('max epochs').fill('2');
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  log(`2 epochs of a factorized readout on WebGPU (SwiftShader) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.match(await page.getByTestId('train-progress').textContent(), /webgpu/);
  await exploreFactorizedResult(page, shot, log);
}

/** "Also fine-tune the core" with a factorized readout: the core and the masks trained together, no cache, explored. */
export async function fineTuneFactorizedWithTheCore({ openPage, fixtures, shot, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  await factorizedFineTuneSetup(page, fixtures);
  await page.getByTestId('train-core').check();
  await page.getByLabel('max epochs').fill('2');
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  log(`2 epochs of core + factorized readout in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.match(await page.getByTestId('train-results').textContent(), /core fine-tuned too \(no cache\)/);
  await exploreFactorizedResult(page, shot, log, 'core-trained');
}
