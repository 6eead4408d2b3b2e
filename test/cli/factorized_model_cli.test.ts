/**
 * `v1x info / predict / core` on neuralpredictors' own Stacked2dCore + FullFactorized2d (test/fixtures/factorized/
 * model, zip and legacy .pth): the kind and parameter count, and neuralpredictors' responses within
 * 1e-4 + 1e-4|ref| on both backends. `v1x finetune --readout-type factorized` on the demo's held-out mouse, and
 * `v1x evaluate` / `info` on the model it writes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNumericNpy } from '../../src/io/npy';
import { FACTORIZED_FIXTURES, fixtureNpy } from '../model/factorized_fixture';
import { expectClose } from '../model/fixture';

const BIN = join(__dirname, '../../bin/v1x.mjs');
const DIR = FACTORIZED_FIXTURES + 'model/';
const CONFIG = DIR + 'config.json';
const dir = mkdtempSync(join(tmpdir(), 'v1x-fx-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readF32(path: string): Float32Array {
  const t = parseNumericNpy(new Uint8Array(readFileSync(path)), path);
  expect(t.dtype).toBe('float32');
  return t.data as Float32Array;
}

describe('v1x on a neuralpredictors-saved FullFactorized2d model', () => {
  it('info: the readout kind, mask size and parameter count (text and --json)', () => {
    const r = v1x('info', '--checkpoint', DIR + 'model.pth', '--config', CONFIG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "readout 'fx' (default): FullFactorized2d, 12 neurons, 8 features, mask 16x28 (normalized), bias; 5,484 parameters",
    );
    const j = JSON.parse(v1x('info', '--checkpoint', DIR + 'model.pth', '--config', CONFIG, '--json').stdout);
    expect(j.readouts).toEqual([
      {
        key: 'fx',
        type: 'factorized',
        neurons: 12,
        channels: 8,
        bias: true,
        parameters: 5484,
        height: 16,
        width: 28,
        options: expect.objectContaining({
          normalize: true,
          constrain_pos: false,
          positive_weights: false,
          positive_spatial: false,
        }),
      },
    ]);
  });

  for (const file of ['model.pth', 'model_legacy.pth']) {
    for (const backend of ['wasm', 'cpu']) {
      it(`predict ${file} on ${backend}: neuralpredictors' responses within 1e-4 + 1e-4|ref|`, () => {
        const out = join(dir, `y-${file}-${backend}.npy`);
        const r = v1x(
          'predict',
          '--checkpoint',
          DIR + file,
          '--config',
          CONFIG,
          '--images',
          DIR + 'images.npy',
          '--out',
          out,
          '--backend',
          backend,
        );
        expect(r.code, r.stderr).toBe(0);
        const err = expectClose(
          `${file} ${backend} responses`,
          readF32(out),
          fixtureNpy(DIR + 'responses.npy').data,
          1e-4,
          1e-4,
        );
        console.log(`v1x predict ${file} --backend ${backend}: max abs error ${err.toExponential(2)}`);
      });
    }
  }

  it("core: neuralpredictors' core output", () => {
    const out = join(dir, 'core.npy');
    const r = v1x(
      'core',
      '--checkpoint',
      DIR + 'model_legacy.pth',
      '--config',
      CONFIG,
      '--images',
      DIR + 'images.npy',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expectClose('core output', readF32(out), fixtureNpy(DIR + 'core_output.npy').data, 1e-4, 1e-4);
  });
});

describe('v1x finetune --readout-type factorized', () => {
  const DEMO = join(__dirname, '../../public/demo/');
  const SCAN = DEMO + 'static-v1demo-heldout.zip';
  const base = ['finetune', '--checkpoint', DEMO + 'model.pth', '--config', DEMO + 'config.json', '--scan', SCAN];

  it('trains, exports (readout, full model, per-neuron CSV, metadata); evaluate on the full model agrees', () => {
    const o = (f: string): string => join(dir, f);
    const r = v1x(
      ...base,
      '--readout-type',
      'factorized',
      '--max-epochs',
      '2',
      '--out',
      o('r.pth'),
      '--full-model',
      o('full.pth'),
      '--per-neuron',
      o('rows.csv'),
      '--metadata',
      o('meta.json'),
      '--gauss-type',
      'isotropic',
      '--quiet',
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ readout_type: 'factorized', epochs: 2, stop_reason: 'max-epochs', neurons: 300 });
    expect(s.test_correlation).toBeGreaterThan(0.2);
    const header = readFileSync(o('rows.csv'), 'utf8').split('\n')[0];
    expect(header).toContain('unit_id,x,y,centre_x,centre_y,spread,half_max_pixels');
    expect(JSON.parse(readFileSync(o('meta.json'), 'utf8')).readout.readout_type).toBe('factorized');
    const info = v1x('info', '--checkpoint', o('full.pth'), '--config', DEMO + 'config.json');
    expect(info.stdout).toMatch(/FullFactorized2d, 300 neurons, 16 features, mask \d+x\d+ \(normalized\), bias/);
    const e = v1x('evaluate', '--checkpoint', o('full.pth'), '--config', DEMO + 'config.json', '--scan', SCAN);
    expect(e.code, e.stderr).toBe(0);
    // the fine-tune scored from the float16 cache, evaluate from the images
    expect(Math.abs(JSON.parse(e.stdout).test_correlation - s.test_correlation)).toBeLessThan(1e-3);
  });

  it('a bad --readout-type is a usage error', () => {
    const bad = v1x(...base, '--readout-type', 'gabor', '--out', join(dir, 'x.pth'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--readout-type must be gaussian or factorized, got 'gabor'");
  });
});
