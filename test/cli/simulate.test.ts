/**
 * `v1x simulate` as a user runs it: cell types on a checkpoint's core (--cell-types K), the project's Gabor cells
 * (--population gabor), the files they write, their agreement with each other and with the ground-truth model, and
 * the usage errors. Small workloads: the demo core, 120-160 neurons, 120 trials.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import type { HostTensor } from '../../src/io/host_tensor';
import { parseNumericNpy } from '../../src/io/npy';
import { normalizedImages } from '../../src/io/scan';
import { loadScanFromPath } from '../../src/io/scan/node_dir_source';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { defaultParsedConfig } from '../../src/model/config';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { gridToPixel } from '../../src/sim/v1_truth';

const BIN = join(__dirname, '../../bin/v1x.mjs');
const DEMO = join(__dirname, '../../public/demo/model.pth');
const dir = mkdtempSync(join(tmpdir(), 'v1x-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => initNodeBackend('wasm'));

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'simulate', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function npy(path: string): HostTensor {
  return parseNumericNpy(new Uint8Array(readFileSync(path)), path);
}

const asNumbers = (t: HostTensor) => Array.from(t.data as ArrayLike<number | bigint>, Number);
const small = ['--trials', '80,20,5x4'];
const cellTypes = ['--checkpoint', DEMO, '--cell-types', '4', '--neurons', '160', '--seed', '2', ...small];

describe('v1x simulate --cell-types K (a checkpoint core)', () => {
  const scanDir = join(dir, 'static-ct');
  const truthDir = join(dir, 'static-ct-truth');
  let summary: Record<string, unknown>;

  beforeAll(() => {
    const r = v1x(...cellTypes, '--out', scanDir);
    expect(r.code, r.stderr).toBe(0);
    summary = JSON.parse(r.stdout);
  });

  it('writes the types into the scan and the truth folder, which agree', async () => {
    expect(summary).toMatchObject({
      neurons: 160,
      trials: 120,
      cell_types: 4,
      type_counts: [40, 40, 40, 40],
      truth_readout: '90002-1-1',
    });
    expect(readdirSync(truthDir).sort()).toEqual([
      'cell_types.npy',
      'oracle_jackknife.npy',
      'response_scale.npy',
      'true_bias.npy',
      'true_features.npy',
      'true_grid.npy',
      'true_rates.npy',
      'true_rf_px.npy',
      'truth.json',
      'truth_model.pth',
    ]);
    const scan = await loadScanFromPath(scanDir);
    const types = npy(join(truthDir, 'cell_types.npy'));
    expect(types.dtype).toBe('int64');
    expect(scan.neurons.cellTypes).toEqual(asNumbers(types));
    expect(existsSync(join(scanDir, 'meta/neurons/cell_types.npy'))).toBe(true);

    const grid = npy(join(truthDir, 'true_grid.npy')),
      px = npy(join(truthDir, 'true_rf_px.npy'));
    const features = npy(join(truthDir, 'true_features.npy'));
    expect(grid.shape).toEqual([160, 2]);
    expect(features.shape).toEqual([160, 16]);
    const channels = summary.type_channels as number[];
    for (let n = 0; n < 160; n++) {
      const [x, y] = gridToPixel(Number(grid.data[2 * n]), Number(grid.data[2 * n + 1]), [1, 36, 64], [28, 56]);
      expect(px.data[2 * n]).toBeCloseTo(x, 4);
      expect(px.data[2 * n + 1]).toBeCloseTo(y, 4);
      expect(Number(px.data[2 * n])).toBeGreaterThanOrEqual(4);
      expect(Number(px.data[2 * n])).toBeLessThanOrEqual(59);
      const row = asNumbers(features).slice(n * 16, (n + 1) * 16);
      expect(row.findIndex((v) => v !== 0)).toBe(channels[asNumbers(types)[n]]);
      expect(row.filter((v) => v !== 0)).toHaveLength(1);
    }
    // the cortical coordinates are the positions (300 um per grid unit, plus an offset)
    const truth = JSON.parse(readFileSync(join(truthDir, 'truth.json'), 'utf8'));
    expect(truth.cell_types).toMatchObject({ K: 4, channels, counts: [40, 40, 40, 40] });
    const offset = truth.cell_motor_coordinates.offset_um;
    expect(scan.cellMotorCoordinates![3 * 7]).toBeCloseTo(300 * Number(grid.data[14]) + offset[0], 3);
  });

  it("truth_model.pth (the core with the types' one-hot readout) predicts the true rates to 1e-5", async () => {
    const scan = await loadScanFromPath(scanDir);
    const sd = await readCheckpoint(new Uint8Array(readFileSync(join(truthDir, 'truth_model.pth'))), 'truth_model.pth');
    const model = encoderFromStateDict(sd, defaultParsedConfig().config, 'truth_model.pth');
    try {
      const trials = Array.from({ length: scan.nTrials }, (_, i) => i);
      const y = await model.predict(normalizedImages(scan, trials), { readout: '90002-1-1' });
      const trueRates = npy(join(truthDir, 'true_rates.npy')).data as Float32Array;
      const scale = npy(join(truthDir, 'response_scale.npy')).data as Float32Array;
      const gain = summary.gain as number;
      for (let k = 0; k < trueRates.length; k++) {
        const rate = (trueRates[k] * scale[k % 160]) / gain;
        const where = `trial ${Math.floor(k / 160)}, neuron ${k % 160}`;
        expect(Math.abs(y.data[k] - rate), where).toBeLessThanOrEqual(1e-5 + 1e-5 * rate);
      }
    } finally {
      model.dispose();
    }
  });

  it('is reproducible by seed: the same command writes the same bytes', () => {
    const again = join(dir, 'again', 'static-ct'),
      againTruth = join(dir, 'again', 'static-ct-truth');
    const r = v1x(...cellTypes, '--out', again, '--truth', againTruth);
    expect(r.code, r.stderr).toBe(0);
    for (const f of readdirSync(truthDir)) {
      expect(readFileSync(join(againTruth, f)).equals(readFileSync(join(truthDir, f))), f).toBe(true);
    }
    for (const f of ['meta/neurons/cell_types.npy', 'data/responses/17.npy', 'data/images/3.npy']) {
      expect(readFileSync(join(again, f)).equals(readFileSync(join(scanDir, f))), f).toBe(true);
    }
  });
});

describe('v1x simulate --population gabor', () => {
  it('makes a cell-type scan of the Gabor cells (zip), types in the scan and the truth', async () => {
    const out = join(dir, 'static-gabor.zip');
    const r = v1x(
      '--population',
      'gabor',
      '--cell-types',
      '3',
      '--neurons',
      '120',
      '--seed',
      '4',
      ...small,
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ population: 'gabor', cell_types: 3, type_counts: [40, 40, 40] });
    const scan = await loadScanFromPath(out);
    expect(scan.neurons.cellTypes).toEqual(asNumbers(npy(join(dir, 'static-gabor-truth', 'cell_types.npy'))));
    expect(readdirSync(join(dir, 'static-gabor-truth'))).toContain('neurons.json');
  });
});

describe('v1x simulate without --cell-types', () => {
  it('writes no cell types', () => {
    const out = join(dir, 'static-plain');
    const r = v1x('--checkpoint', DEMO, '--neurons', '20', '--seed', '1', ...small, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'meta/neurons/cell_types.npy'))).toBe(false);
    expect(existsSync(join(dir, 'static-plain-truth', 'cell_types.npy'))).toBe(false);
    expect(existsSync(join(dir, 'static-plain-truth', 'selected_neurons.npy'))).toBe(true);
  });

  it('refuses options that do not fit, with one line', () => {
    const out = join(dir, 'never.zip');
    for (const [args, msg] of [
      [['--checkpoint', DEMO, '--type-channels', '1,2'], /--type-channels needs --cell-types K/],
      [['--checkpoint', DEMO, '--cell-types', '0'], /--cell-types must be a positive integer/],
      [['--checkpoint', DEMO, '--cell-types', '4', '--readout', 'x'], /--readout does not apply with --cell-types/],
      [['--checkpoint', DEMO, '--cell-types', '2', '--type-channels', '1,1'], /2 distinct integers in 0\.\.15/],
      [['--checkpoint', DEMO, '--cell-types', '2', '--position-range', '1.5'], /--position-range must be in \[0, 1\]/],
      [['--population', 'gabor', '--checkpoint', DEMO], /--checkpoint does not apply to --population gabor/],
      [['--population', 'other'], /--population must be model or gabor/],
    ] as [string[], RegExp][]) {
      const r = v1x(...args, '--neurons', '8', '--seed', '1', '--out', out);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(out)).toBe(false);
  });
});
