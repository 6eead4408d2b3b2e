/**
 * Real recordings as labs have them (issue 15), through `v1x simulate` and `v1x finetune` as a user runs them, on the
 * demo core (small workloads: 40-60 neurons, 420-600 trials, 20-30 epochs):
 * - a calcium-like scan (`--calcium`: dF/F with negative values) fine-tunes with the MSE loss picked automatically,
 *   with the one-line note, in the JSON (`loss`, `notes`), the metadata and the exported config; `--loss poisson` on
 *   it is an error naming the scan file;
 * - `v1x train` (end to end) on it picks the MSE loss too, and refuses an explicit Poisson;
 * - a scan without cortical coordinates fine-tunes with free positions (`positions: free`) and a note instead of the
 *   former refusal.
 * Test correlation is reported and must be clearly above chance (the simulated median oracle is ~0.55).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScanFromPath } from '../../src/io/scan/node_dir_source';
import { tierIndices } from '../../src/io/scan/tiers';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { negativeResponses } from '../../src/train/optim/losses';

const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'bin/v1x.mjs');
const DEMO = join(ROOT, 'public/demo/model.pth');
const DEMO_CONFIG = join(ROOT, 'public/demo/config.json');
const dir = mkdtempSync(join(tmpdir(), 'v1x-calcium-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const model = ['--checkpoint', DEMO, '--config', DEMO_CONFIG];

describe('v1x finetune on a calcium-like scan', () => {
  const scan = join(dir, 'static-ca.zip');

  it('simulate --calcium writes dF/F-like responses with negative values', async () => {
    const r = v1x(
      'simulate',
      ...model,
      '--neurons',
      '60',
      '--seed',
      '3',
      '--trials',
      '400,100,20x5',
      '--calcium',
      '--out',
      scan,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).noise).toBe('calcium');
    const s = await loadScanFromPath(scan);
    const neg = negativeResponses(s, tierIndices(s, 'train'));
    console.log(
      `calcium-like scan: ${neg.count} of ${neg.total} training responses negative, min ${neg.min.toFixed(2)}`,
    );
    expect(neg.count / neg.total).toBeGreaterThan(0.05);
  }, 300_000);

  it('picks the MSE loss with a note, reports test correlation, and says so in the metadata and config', () => {
    const meta = join(dir, 'meta.json');
    const r = v1x(
      'finetune',
      ...model,
      '--scan',
      scan,
      '--out',
      join(dir, 'ca.pth'),
      '--metadata',
      meta,
      '--max-epochs',
      '30',
      '--threads',
      '1',
    );
    expect(r.code, r.stderr).toBe(0);
    const noteLines = r.stderr.split('\n').filter((l) => l.includes('MSE loss'));
    expect(noteLines.length).toBe(1);
    expect(noteLines[0]).toMatch(
      /static-ca\.zip: \d+ of \d+ training responses are negative .*Poisson loss is undefined/,
    );
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ loss: 'mse', output: 'elu', positions: 'network', readout_type: 'gaussian' });
    expect(j.notes).toHaveLength(1);
    console.log(
      `calcium-like scan, MSE loss: test correlation ${j.test_correlation.toFixed(3)}, fraction of oracle ${j.fraction_oracle.toFixed(3)} (${j.epochs} epochs)`,
    );
    expect(j.test_correlation).toBeGreaterThan(0.3);
    const m = JSON.parse(readFileSync(meta, 'utf8'));
    expect(m.training.loss).toBe('mse');
    expect(m.training.loss_note).toBe(j.notes[0]);
    expect(m.config.loss).toBe('mse');
    expect(m.readout.positions).toBe('network');
  }, 300_000);

  it('--loss poisson on it, or a factorized readout, is a clear error naming the scan file', () => {
    let r = v1x('finetune', ...model, '--scan', scan, '--out', join(dir, 'p.pth'), '--loss', 'poisson');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/static-ca\.zip.*negative.*Poisson loss is undefined.*--loss mse/);
    // the factorized readout has only the Poisson loss: said before anything is cached
    r = v1x('finetune', ...model, '--scan', scan, '--out', join(dir, 'f.pth'), '--readout-type', 'factorized');
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/core outputs/);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /static-ca\.zip: .*negative.*factorized readout trains with the Poisson loss only; use the Gaussian readout/,
    );
  });

  it('--loss gaussian and --output identity are taken; identity with Poisson or the Gaussian is refused', () => {
    let r = v1x(
      'finetune',
      ...model,
      '--scan',
      scan,
      '--out',
      join(dir, 'g.pth'),
      '--loss',
      'gaussian',
      '--max-epochs',
      '3',
      '--threads',
      '1',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ loss: 'gaussian', output: 'elu', notes: [] });
    r = v1x(
      'finetune',
      ...model,
      '--scan',
      scan,
      '--out',
      join(dir, 'i.pth'),
      '--loss',
      'mse',
      '--output',
      'identity',
      '--max-epochs',
      '3',
      '--threads',
      '1',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ loss: 'mse', output: 'identity' });
    r = v1x(
      'finetune',
      ...model,
      '--scan',
      scan,
      '--out',
      join(dir, 'x.pth'),
      '--loss',
      'gaussian',
      '--output',
      'identity',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs a positive output/);
    r = v1x('finetune', ...model, '--scan', scan, '--out', join(dir, 'x.pth'), '--loss', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("v1x: --loss must be poisson, mse, gaussian, got 'nope'");
  }, 300_000);
});

describe('v1x train on a calcium-like scan', () => {
  it('trains end to end with the MSE loss and says so; --loss poisson is an error naming the scan', () => {
    const scan = join(dir, 'static-ca.zip');
    let r = v1x('train', '--scan', scan, '--config', DEMO_CONFIG, '--out', join(dir, 't.pth'), '--loss', 'poisson');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/static-ca\.zip.*negative.*Poisson loss is undefined/);
    r = v1x(
      'train',
      '--scan',
      scan,
      '--config',
      DEMO_CONFIG,
      '--init',
      DEMO,
      '--out',
      join(dir, 't.pth'),
      '--max-epochs',
      '1',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ loss: 'mse', output: 'elu' });
    expect(j.notes).toHaveLength(1);
    expect(Number.isFinite(j.scans[Object.keys(j.scans)[0]].test_correlation)).toBe(true);
  }, 300_000);
});

describe('v1x finetune on a scan without cortical coordinates', () => {
  it('learns free positions, with a note', async () => {
    const scan = join(dir, 'static-nc');
    let r = v1x('simulate', ...model, '--neurons', '40', '--seed', '4', '--trials', '300,80,10x4', '--out', scan);
    expect(r.code, r.stderr).toBe(0);
    rmSync(join(scan, 'meta/neurons/cell_motor_coordinates.npy'));
    const out = join(dir, 'nc.pth');
    r = v1x('finetune', ...model, '--scan', scan, '--out', out, '--max-epochs', '20', '--threads', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/static-nc: no meta\/neurons\/cell_motor_coordinates\.npy .*free positions/);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ loss: 'poisson', positions: 'free' });
    expect(j.notes).toHaveLength(1);
    console.log(
      `no cortical coordinates, free positions: test correlation ${j.test_correlation.toFixed(3)} (${j.epochs} epochs)`,
    );
    expect(j.test_correlation).toBeGreaterThan(0.25);
    // the exported readout has one mu per neuron and no position network
    const keys = [...(await readCheckpoint(new Uint8Array(readFileSync(out)), out)).keys()];
    expect(keys.some((k) => k.endsWith('._mu'))).toBe(true);
    expect(keys.some((k) => k.includes('mu_transform'))).toBe(false);
  }, 300_000);
});
