/**
 * `v1x evaluate` and `v1x simulate` end to end. Acceptance: the ground-truth model of static-sim-a reproduces the
 * `ceiling` metrics neuralpredictors computed (reference_results.json) within 0.002 (fraction oracle 0.01);
 * FEVE is scale-dependent and does not carry over (see the fixture README), so it is only checked to be a number.
 * A scan simulated from that model carries the model's own positions and features as truth, loads back with the
 * scan loader, and is refused by evaluate with a readout of another neuron count.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNumericNpy } from '../../src/io/npy';
import { loadScan, openZipScan } from '../../src/io/scan';
import { nodeDirScanSource } from '../../src/io/scan/node_dir_source';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { SIM as F } from '../fixtures/paths';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = join(F, 'static-sim-a-truth/truth_model.pth');

function v1x(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/v1x.mjs'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const npy = (p: string) => parseNumericNpy(new Uint8Array(readFileSync(p)), p);

const tmp = mkdtempSync(join(tmpdir(), 'v1x-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('v1x evaluate', () => {
  it('reproduces the ground-truth metrics of static-sim-a (reference_results.json ceiling)', () => {
    const csv = join(tmp, 'per_neuron.csv');
    const r = v1x('evaluate', '--checkpoint', MODEL, '--scan', join(F, 'static-sim-a.zip'), '--out', csv);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    const m = JSON.parse(lines[0]);
    const ceiling = JSON.parse(readFileSync(join(F, 'reference_results.json'), 'utf8')).ceiling;
    console.log(`evaluate: ${lines[0]}`);
    expect(Math.abs(m.test_correlation - ceiling.test_correlation)).toBeLessThan(0.002);
    expect(Math.abs(m.correlation_to_average - ceiling.correlation_to_average)).toBeLessThan(0.002);
    expect(Math.abs(m.oracle - ceiling.oracle)).toBeLessThan(0.002);
    expect(Math.abs(m.fraction_oracle - ceiling.fraction_oracle)).toBeLessThan(0.01);
    expect(Number.isFinite(m.feve)).toBe(true);
    expect(m.neurons).toBe(1000);
    expect(m.trials).toBe(1000);
    expect(m.tier).toBe('test');
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('neuron,unit_id,test_correlation,correlation_to_average,oracle,fev,feve');
    expect(rows.length).toBe(1001);
    // per-neuron oracle in the CSV = neuralpredictors' oracle_corr_jackknife (float32 reference)
    const oracleRef = npy(join(F, 'static-sim-a-truth/oracle_jackknife.npy')).data as Float32Array;
    rows.slice(1).forEach((row, n) => expect(Math.abs(Number(row.split(',')[4]) - oracleRef[n])).toBeLessThan(2e-5));
  });
});

describe('v1x simulate', () => {
  const out = join(tmp, 'sim-b.zip');
  it('simulates a scan from the model whose truth is the model itself, and loads back', async () => {
    const r = v1x(
      'simulate',
      '--checkpoint',
      MODEL,
      '--neurons',
      '20',
      '--seed',
      '7',
      '--trials',
      '60,10,10x5',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    expect(s.neurons).toBe(20);
    expect(s.trials).toBe(120);
    expect(Math.abs(s.median_oracle - 0.55)).toBeLessThan(0.01);

    const scan = await loadScan(await openZipScan(new Uint8Array(readFileSync(out)), out));
    expect(scan.name).toBe('sim-b');
    expect(scan.nNeurons).toBe(20);
    expect(scan.nTrials).toBe(120);
    expect(scan.imageShape).toEqual([1, 36, 64]);
    expect(scan.warnings).toEqual([]);

    const truth = join(tmp, 'sim-b-truth');
    const sel = Array.from(npy(join(truth, 'selected_neurons.npy')).data as BigInt64Array, Number);
    expect(sel.length).toBe(20);
    // truth_model.pth is static-sim-a's ground truth in scan order, so its positions and features are the fixture's
    const grid = npy(join(truth, 'true_grid.npy')).data as Float32Array;
    const feats = npy(join(truth, 'true_features.npy')).data as Float32Array;
    const refGrid = npy(join(F, 'static-sim-a-truth/true_grid.npy')).data as Float32Array;
    const refFeats = npy(join(F, 'static-sim-a-truth/true_features.npy')).data as Float32Array;
    sel.forEach((s, n) => {
      for (let k = 0; k < 2; k++) expect(Math.abs(grid[2 * n + k] - refGrid[2 * s + k])).toBeLessThan(1e-5);
      for (let c = 0; c < 64; c++) expect(feats[n * 64 + c]).toBe(refFeats[s * 64 + c]);
    });
    // cell_motor_coordinates = 300 * source_grid + offset, from the readout's source_grid
    const sd = await readCheckpoint(new Uint8Array(readFileSync(MODEL)), 'truth_model.pth');
    const source = sd.get('readout.static-sim-a.source_grid')!;
    const dims = source.shape[source.shape.length - 1];
    const info = JSON.parse(readFileSync(join(truth, 'truth.json'), 'utf8'));
    const [ox, oy] = info.cell_motor_coordinates.offset_um;
    sel.forEach((s, n) => {
      expect(scan.cellMotorCoordinates![3 * n]).toBeCloseTo(300 * (source.data as Float32Array)[s * dims] + ox, 2);
      expect(scan.cellMotorCoordinates![3 * n + 1]).toBeCloseTo(
        300 * (source.data as Float32Array)[s * dims + 1] + oy,
        2,
      );
    });
    // stored responses scatter around the true rates
    const rates = npy(join(truth, 'true_rates.npy')).data as Float32Array;
    let sr = 0,
      st = 0;
    for (let i = 0; i < rates.length; i++) {
      sr += scan.responses[i];
      st += rates[i];
    }
    expect(Math.abs(sr / st - 1)).toBeLessThan(0.15);
  });

  it('is refused by evaluate with a readout of another neuron count, and names both counts', () => {
    expect(existsSync(out)).toBe(true);
    const r = v1x('evaluate', '--checkpoint', MODEL, '--scan', out);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/20 neurons.*1000/);
  });

  it('says which tiers exist when the asked one is empty', () => {
    const r = v1x('evaluate', '--checkpoint', MODEL, '--scan', out, '--tier', 'final_test');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no trials in tier 'final_test'.*train \(60\), validation \(10\), test \(50\)/);
  });

  it('writes the same scan as a folder as in a zip', async () => {
    const common = ['--checkpoint', MODEL, '--neurons', '5', '--seed', '11', '--trials', '12,3,4x2'];
    const zipOut = join(tmp, 'twin.zip'),
      dirOut = join(tmp, 'twin');
    expect(v1x('simulate', ...common, '--out', zipOut).code).toBe(0);
    expect(v1x('simulate', ...common, '--out', dirOut, '--truth', join(tmp, 'twin-truth-2')).code).toBe(0);
    const a = await loadScan(await openZipScan(new Uint8Array(readFileSync(zipOut)), zipOut));
    const b = await loadScan(nodeDirScanSource(dirOut));
    expect(b.name).toBe('twin');
    expect(b.images).toEqual(a.images);
    expect(b.responses).toEqual(a.responses);
    expect(b.tiers).toEqual(a.tiers);
    expect(Array.from(b.frameImageId)).toEqual(Array.from(a.frameImageId));
    expect(readFileSync(join(tmp, 'twin-truth-2', 'true_rates.npy'))).toEqual(
      readFileSync(join(tmp, 'twin-truth', 'true_rates.npy')),
    );
  });
});
