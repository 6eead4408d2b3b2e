/**
 * The Experiments tab (issue 13): the shipped results of the demo's transfer spec drawn at their numbers with
 * intervals; the spec editor's validation (the runner's own message, naming the key); and a small spec (two
 * conditions, two sizes, two seeds, 40 neurons, 4 epochs: public/demo/experiments/quick.json) run in the browser
 * by the same runner as `v1x experiment`, in a worker, its plot filling in with 95% intervals and cap flags, and
 * its results downloadable as JSON and CSV.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXP = join(repo, 'public', 'demo', 'experiments');

/** The summaries the shipped results file holds (the build bundles the file as it was at build time). */
function shippedSummaries(id) {
  const f = join(EXP, `${id}.results.json`);
  if (!existsSync(f)) return null;
  return JSON.parse(readFileSync(f, 'utf8')).summaries;
}

async function summariesDrawn(page) {
  return page.locator('[data-testid="experiment-summaries"] g.experiment-summary').evaluateAll((gs) =>
    gs.map((g) => ({
      condition: g.dataset.condition,
      size: Number(g.dataset.size),
      mean: Number(g.dataset.mean),
      low: g.dataset.low === '' ? null : Number(g.dataset.low),
      high: g.dataset.high === '' ? null : Number(g.dataset.high),
      runs: Number(g.dataset.runs),
      capped: Number(g.dataset.capped),
      intervals: g.querySelectorAll('[data-testid="experiment-interval"]').length,
    })),
  );
}

export async function experimentsShippedEditorAndSmallRun({ page, shot, log }) {
  await page.getByRole('tab', { name: 'Experiments' }).click();
  const view = page.getByTestId('experiments-view');
  await view.waitFor();

  // 1. The first preset's shipped results: one mark per (condition, size) summary, at the file's mean and interval.
  const shipped = shippedSummaries('transfer');
  if (shipped) {
    const drawn = await summariesDrawn(page);
    assert.equal(drawn.length, shipped.filter((s) => s.fraction_oracle.mean !== null).length, 'one mark per summary');
    for (const s of shipped) {
      const d = drawn.find((x) => x.condition === s.condition && x.size === s.size);
      assert.ok(d, `a mark for ${s.condition} at ${s.size}`);
      assert.equal(d.mean, s.fraction_oracle.mean, `${s.condition} at ${s.size}: mean`);
      assert.equal(d.low, s.fraction_oracle.low, `${s.condition} at ${s.size}: interval`);
      assert.equal(d.capped, s.hit_cap_runs, `${s.condition} at ${s.size}: capped runs`);
      assert.equal(d.intervals, s.fraction_oracle.low === null ? 0 : 1);
    }
    log(`shipped transfer results: ${drawn.length} summaries drawn`);
  } else {
    log('no public/demo/experiments/transfer.results.json in this checkout: the shipped-results check is skipped');
  }
  for (const row of ['fully-connected', 'factorized', 'gaussian', 'gaussian-retinotopy']) {
    const v = await page.getByTestId(`params-${row}`).locator('td.num').getAttribute('data-value');
    assert.ok(Number(v) > 0, `parameter count for ${row}: ${v}`);
  }
  await shot('experiments-shipped');

  // 2a. A spec over several scans (the matched-scans sharing preset): its shipped results are plotted, but this page
  // runs a spec on its one loaded scan, so Run stays off and the note says to use v1x experiment.
  const sharing = shippedSummaries('sharing');
  if (sharing) {
    await page.getByTestId('experiment-preset').selectOption('sharing');
    await page.getByTestId('experiment-spec-ok').waitFor();
    assert.match(await page.getByTestId('experiment-spec-ok').textContent(), /lists 2 scans: .*v1x experiment/);
    assert.equal(
      await page.getByTestId('experiment-run').isDisabled(),
      true,
      'a spec with several scans cannot run here',
    );
    const drawn = await summariesDrawn(page);
    assert.equal(drawn.length, sharing.length, 'the sharing preset: one mark per summary');
    await shot('experiments-sharing');
    log(`sharing preset: ${drawn.length} summaries drawn, Run off`);
  }

  // 2. The editor: a spec the runner refuses says why, naming the key, and cannot be run.
  await page.getByTestId('experiment-preset').selectOption('quick');
  const editor = page.getByTestId('experiment-spec');
  const quick = JSON.parse(await editor.inputValue());
  assert.deepEqual(quick.sizes, [50, 100]);
  await editor.fill(JSON.stringify({ ...quick, sizes: [100, 50] }, null, 2));
  const err = page.getByTestId('experiment-spec-error');
  await err.waitFor();
  assert.match(await err.textContent(), /spec key 'sizes\[1\]' must be larger than sizes\[0\] \(100\)/);
  assert.equal(await page.getByTestId('experiment-run').isDisabled(), true, 'an invalid spec cannot run');
  await editor.fill('{ "sizes": [1, ');
  assert.match(await err.textContent(), /not JSON/);
  await shot('experiments-spec-error');

  // 3. The small spec, run here: 2 conditions x 2 sizes x 2 seeds = 8 cells in a worker.
  await editor.fill(JSON.stringify(quick, null, 2));
  await page.getByTestId('experiment-spec-ok').waitFor();
  assert.match(await page.getByTestId('experiment-spec-ok').textContent(), /= 8 cells/);
  await page.waitForFunction(() => !document.querySelector('[data-testid="experiment-run"]')?.disabled, null, {
    timeout: 120_000,
  });
  const t0 = Date.now();
  await page.getByTestId('experiment-run').click();
  const status = page.getByTestId('experiment-status');
  // the plot fills in as cells finish: a first summary appears before the run ends
  await page.locator('[data-testid="experiment-summaries"] g.experiment-summary').first().waitFor({ timeout: 280_000 });
  if ((await status.getAttribute('data-status')) === 'running') await shot('experiments-running');
  await page.waitForFunction(
    () => {
      const s = document.querySelector('[data-testid="experiment-status"]')?.getAttribute('data-status');
      return s === 'done' || s === 'failed';
    },
    null,
    { timeout: 280_000 },
  );
  assert.equal(await status.getAttribute('data-status'), 'done', await status.textContent());
  const drawn = await summariesDrawn(page);
  log(
    `quick spec in the browser: ${((Date.now() - t0) / 1000).toFixed(0)} s; ` +
      drawn
        .map((d) => `${d.condition}@${d.size} ${d.mean.toFixed(3)} [${d.low?.toFixed(3)}, ${d.high?.toFixed(3)}]`)
        .join('; '),
  );
  assert.equal(drawn.length, 4, 'two conditions x two sizes');
  for (const d of drawn) {
    assert.equal(d.runs, 2, `${d.condition}@${d.size}: two seeds`);
    assert.equal(d.intervals, 1, `${d.condition}@${d.size}: an interval is drawn`);
    assert.ok(
      Number.isFinite(d.low) && Number.isFinite(d.high) && d.low < d.mean && d.mean < d.high,
      JSON.stringify(d),
    );
    // 4 epochs with patience 5: every run ends at the cap, and the plot says so
    assert.equal(d.capped, 2, `${d.condition}@${d.size}: both runs flagged at the cap`);
  }
  assert.equal(await page.locator('[data-testid="experiment-cap-mark"]').count(), 4);
  // the intervals are drawn where their values say: a higher bound is higher on the screen
  const bar = page.locator('[data-testid="experiment-interval"] line').first();
  const box = await bar.boundingBox();
  assert.ok(box && box.height > 1, `an interval bar with a height (${JSON.stringify(box)})`);
  assert.equal(await page.locator('[data-testid="experiment-seeds"] circle').count(), 8, 'one dot per seed');
  await shot('experiments-small-run-done');

  // 4. Downloads: the results as the CLI writes them, and one CSV row per cell.
  const [json] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('experiment-download-json').click(),
  ]);
  assert.equal(json.suggestedFilename(), 'quick-check.results.json');
  const results = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.equal(results.cells.length, 8);
  assert.equal(results.complete, true);
  assert.match(results.selection_rule, /no best-of-k/);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('experiment-download-csv').click()]);
  const rows = readFileSync(await csv.path(), 'utf8')
    .trim()
    .split('\n');
  assert.equal(rows.length, 9, 'header + 8 cells');
  assert.match(rows[0], /^condition,core,readout,size,partition,seed,fraction_oracle/);
}
// The run is on WASM in the browser with the WebGPU (SwiftShader) flags on: SwiftShader's WebGPU is too slow for
// training in a test (the demo test covers WebGPU).
experimentsShippedEditorAndSmallRun.query = 'backend=wasm';
experimentsShippedEditorAndSmallRun.demo = true; // it runs on the bundled demo
