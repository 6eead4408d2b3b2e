/**
 * The Transfer tab: the shipped experiment's curves with their real numbers (public/demo/transfer_results.json),
 * and one cell (smallest size, frozen demo core) run in the browser, its point added to the plot.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function shippedCells() {
  // The build bundles the file as it was at build time; the tests run right after `npm run build`.
  const json = JSON.parse(readFileSync(join(repo, 'public', 'demo', 'transfer_results.json'), 'utf8'));
  const cells = [];
  for (const condition of ['transfer', 'random', 'direct']) {
    for (const c of json.conditions[condition] ?? []) {
      if (Number.isFinite(c.fraction_oracle))
        cells.push({ condition, images: c.images, fractionOracle: c.fraction_oracle });
    }
  }
  return { json, cells };
}

export async function transferCurvesAndOneCell({ page, shot, log }) {
  const { json, cells } = shippedCells();
  assert.ok(cells.length > 0, 'transfer_results.json has cells');
  await page.getByRole('tab', { name: 'Transfer' }).click();
  const view = page.getByTestId('transfer-view');
  await view.waitFor();

  // Shipped points: one per cell, each at the file's value.
  const shipped = page.locator('[data-testid="transfer-points"] path[data-origin="shipped"]');
  await shipped.first().waitFor();
  assert.equal(await shipped.count(), cells.length, 'one point per shipped cell');
  const drawn = await shipped.evaluateAll((ps) =>
    ps.map((p) => ({
      condition: p.dataset.condition,
      images: Number(p.dataset.images),
      fractionOracle: Number(p.dataset.fractionOracle),
    })),
  );
  for (const c of cells) {
    const d = drawn.find((p) => p.condition === c.condition && p.images === c.images);
    assert.ok(d, `a point for ${c.condition} at ${c.images} images`);
    assert.equal(d.fractionOracle, c.fractionOracle, `${c.condition} at ${c.images} images`);
  }
  // The points sit where their values say: higher fraction oracle, higher on the screen.
  const best = cells.reduce((a, c) => (c.fractionOracle > a.fractionOracle ? c : a));
  const worst = cells.reduce((a, c) => (c.fractionOracle < a.fractionOracle ? c : a));
  const yOf = async (c) =>
    (
      await page
        .locator(
          `[data-testid="transfer-points"] path[data-origin="shipped"][data-condition="${c.condition}"][data-images="${c.images}"]`,
        )
        .boundingBox()
    ).y;
  assert.ok((await yOf(best)) < (await yOf(worst)), 'the best cell is drawn above the worst');
  for (const row of ['fully-connected', 'factorized', 'gaussian', 'gaussian-retinotopy']) {
    const v = await page.getByTestId(`params-${row}`).locator('td.num').getAttribute('data-value');
    assert.ok(Number(v) > 0, `parameter count for ${row}: ${v}`);
  }
  await shot('transfer-shipped');

  // One cell in the browser: the smallest size on the frozen demo core.
  const smallest = Math.min(...(json.sizes ?? cells.map((c) => c.images)));
  const button = page.getByTestId(`run-transfer-${smallest}`);
  await page.waitForFunction(
    (id) => {
      const b = document.querySelector(`[data-testid="${id}"]`);
      return b && !b.disabled;
    },
    `run-transfer-${smallest}`,
    { timeout: 120_000 },
  );
  const t0 = Date.now();
  await button.click();
  await page.getByTestId('transfer-progress').locator('progress').waitFor();
  await shot('transfer-running');
  const added = page.locator(
    `[data-testid="transfer-points"] path[data-origin="browser"][data-condition="transfer"][data-images="${smallest}"]`,
  );
  await added.waitFor({ timeout: 280_000 });
  const fo = Number(await added.getAttribute('data-fraction-oracle'));
  log(
    `transfer cell at ${smallest} images: fraction oracle ${fo.toFixed(3)} (shipped ${cells.find((c) => c.condition === 'transfer' && c.images === smallest)?.fractionOracle.toFixed(3)}), ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  assert.ok(Number.isFinite(fo), `fraction oracle of the browser cell: ${fo}`);
  // Same subsets, seeds, readout starts and backend as `npm run train:demo` (Node, tfjs-wasm): the shipped point again.
  const expected = cells.find((c) => c.condition === 'transfer' && c.images === smallest)?.fractionOracle;
  if (json.backend === 'wasm' && Number.isFinite(expected)) {
    assert.ok(Math.abs(fo - expected) < 0.02, `browser cell ${fo} vs shipped ${expected}`);
  }
  assert.equal(await shipped.count(), cells.length, 'the shipped points stay');
  await shot('transfer-cell-done');
}
// The cell runs on WASM: SwiftShader's WebGPU is too slow for training in a test (the demo test covers WebGPU).
transferCurvesAndOneCell.query = 'backend=wasm';
transferCurvesAndOneCell.demo = true; // it runs on the bundled demo
