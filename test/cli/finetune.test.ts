/**
 * `v1x finetune` end to end, and the fine-tuning acceptance run of issue 4: a new readout for static-sim-a on
 * the frozen sensorium-sota core must reach neuralpredictors' reference (reference_results.json) within 0.005 on
 * test_correlation and correlation_to_average, with a median position error within the seed-to-seed spread that
 * ours and neuralpredictors' own runs show around the reference's single run (see that test for the numbers).
 * The exported files are read back by our checkpoint reader and model (same predictions as the trained readout)
 * and by PyTorch when the reference venv exists. This run takes several minutes (core caching + ~50 epochs).
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { parseNumericNpy, writeNpy } from '../../src/io/npy';
import { loadScanFromPath } from '../../src/io/scan/node_dir_source';
import { normalizedImages } from '../../src/io/scan/normalize';
import { tierIndices } from '../../src/io/scan/tiers';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { DEFAULT_MODEL_CONFIG } from '../../src/model/config';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { readoutFromStateDict } from '../../src/train/export';
import { evalPositions, predictBatch } from '../../src/train/readout/readout_step';
import { noTorchReason, TORCH_PYTHON as PY, SIM_ZIP as SCAN, SIM, SOTA } from '../fixtures/paths';

const ROOT = new URL('../../', import.meta.url).pathname;
const hasTorch = existsSync(PY);
if (!hasTorch) console.log(noTorchReason('the PyTorch read-back of the exported full model'));

function v1x(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/v1x.mjs'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 1_500_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'v1x-finetune-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('v1x finetune: errors', () => {
  it('needs --out, a positive --lr and an existing scan, and says so in one line', () => {
    const base = ['finetune', '--checkpoint', join(SOTA, 'model.pth'), '--scan', SCAN];
    let r = v1x(...base);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("v1x: missing required option '--out'");
    r = v1x(...base, '--out', join(tmp, 'x.pth'), '--lr', '-1');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('v1x: --lr must be positive, got -1');
    r = v1x(
      'finetune',
      '--checkpoint',
      join(SOTA, 'model.pth'),
      '--scan',
      join(tmp, 'nope.zip'),
      '--out',
      join(tmp, 'x.pth'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/nope\.zip/);
  });
});

describe('v1x finetune: acceptance on static-sim-a', () => {
  const out = join(tmp, 'readout.pth'),
    full = join(tmp, 'full.pth'),
    csv = join(tmp, 'per_neuron.csv'),
    meta = join(tmp, 'meta.json');
  let m: Record<string, number | string | null>;

  it("trains a readout as good as neuralpredictors' reference", () => {
    const r = v1x(
      'finetune',
      '--checkpoint',
      join(SOTA, 'model.pth'),
      '--config',
      join(SOTA, 'config.json'),
      '--scan',
      SCAN,
      '--out',
      out,
      '--full-model',
      full,
      '--per-neuron',
      csv,
      '--metadata',
      meta,
      '--truth-grid',
      join(SIM, 'static-sim-a-truth/true_grid.npy'),
    ); // defaults: lr 0.005, seed 42, float16 cache
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    m = JSON.parse(lines[0]);
    console.log(`finetune: ${lines[0]}`);
    const ref = JSON.parse(readFileSync(join(SIM, 'reference_results.json'), 'utf8')).reference;
    for (const k of [
      'test_correlation',
      'correlation_to_average',
      'oracle',
      'fraction_oracle',
      'feve',
      'neurons',
      'trials',
    ])
      expect(m[k], k).not.toBeUndefined();
    expect(m.test_correlation as number).toBeGreaterThanOrEqual(ref.test_correlation - 0.005);
    expect(m.correlation_to_average as number).toBeGreaterThanOrEqual(ref.correlation_to_average - 0.005);
    expect(m.neurons).toBe(1000);
    expect(m.trials).toBe(1000);
    expect(r.stderr).toMatch(/epoch 1: loss/);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows.length).toBe(1001);
    const md = JSON.parse(readFileSync(meta, 'utf8'));
    expect(md.core_sha256).toBe('7a87989732c34068fe10aaf1dd2c0421cb47cb1693b4f95a5e0e381632456173');
    expect(md.seed).toBe(42);
  }, 1_800_000);

  it('places the neurons within the seed-to-seed spread around the reference (median distance to the true positions)', async () => {
    expect(m, 'the training run above must have passed').toBeDefined();
    const ref = JSON.parse(readFileSync(join(SIM, 'reference_results.json'), 'utf8')).reference;
    const truth = parseNumericNpy(
      new Uint8Array(readFileSync(join(SIM, 'static-sim-a-truth/true_grid.npy'))),
      'true_grid.npy',
    ).data as Float32Array;
    const r = readoutFromStateDict(await readCheckpoint(readFileSync(out), 'readout.pth'), String(m.readout));
    const p = evalPositions(r);
    const N = r.neurons;
    const median = (d: number[]): number => {
      d.sort((a, b) => a - b);
      return (d[N / 2 - 1] + d[N / 2]) / 2;
    };
    let mx = 0,
      my = 0;
    for (let n = 0; n < N; n++) {
      mx += p[2 * n] - truth[2 * n];
      my += p[2 * n + 1] - truth[2 * n + 1];
    }
    mx /= N;
    my /= N;
    const raw = median(
      Array.from({ length: N }, (_, n) => Math.hypot(p[2 * n] - truth[2 * n], p[2 * n + 1] - truth[2 * n + 1])),
    );
    const centred = median(
      Array.from({ length: N }, (_, n) =>
        Math.hypot(p[2 * n] - truth[2 * n] - mx, p[2 * n + 1] - truth[2 * n + 1] - my),
      ),
    );
    console.log(
      `grid error: median ${raw.toFixed(5)}, common offset (${mx.toExponential(2)}, ${my.toExponential(2)}), median without it ${centred.toFixed(5)}; reference ${ref.grid_error_median.toFixed(5)}`,
    );
    expect(raw).toBeCloseTo(m.grid_error_median as number, 6);
    // A single run's median error cannot be held to the reference's single run (0.00216): it varies with the seed
    // (initialization, shuffling, sampling noise) far more than ours differs from neuralpredictors. Measured on this
    // scan (src/train/README.md has the table): ours at lr 0.005 over seeds 1-8 and 42, 0.00162-0.00332 (median
    // 0.00237); neuralpredictors' own FullGaussian2d and trainer loop (bench/neuralpredictors_seeds.py) over seeds
    // 1-6 at lr 0.005 and 0.009, 0.00177-0.00293, above 0.00216 in 6 of its 12 runs. Step for step the two agree
    // to 7e-7 (test/train/readout_steps_torch.test.ts). What a single run can reliably be held to: within that spread,
    // below twice the reference's (0.0043 grid units = 0.12 of a feature-map pixel along x, 2 / (56 - 1)).
    expect(raw).toBeLessThanOrEqual(2 * ref.grid_error_median);
  });

  it('the exports read back (our reader and model; PyTorch when present) predict what the readout predicts', async () => {
    expect(m, 'the training run above must have passed').toBeDefined();
    await initNodeBackend('wasm');
    const scan = await loadScanFromPath(SCAN);
    const trials = tierIndices(scan, 'test').slice(0, 16);
    const x = normalizedImages(scan, trials);
    const [C, H, W] = scan.imageShape;
    const readoutSd = await readCheckpoint(readFileSync(out), 'readout.pth');
    const key = String(m.readout);
    const readout = readoutFromStateDict(readoutSd, key);
    const fullSd = await readCheckpoint(readFileSync(full), 'full.pth');
    const encoder = encoderFromStateDict(fullSd, { ...DEFAULT_MODEL_CONFIG }, 'full.pth', { trainable: false });
    try {
      // ours: float32 core output (not the cache) + the fused readout read back from readout.pth
      const y = tf.tidy(() => encoder.coreForward(tf.tensor4d(x, [trials.length, C, H, W])));
      const maps = (await y.data()) as Float32Array;
      y.dispose();
      const per = maps.length / trials.length;
      const [Co, Ho, Wo] = encoder.architecture.core.outputShape;
      const ours = new Float32Array(trials.length * readout.neurons);
      predictBatch(
        readout,
        evalPositions(readout),
        { height: Ho, width: Wo, channels: Co },
        Array.from({ length: trials.length }, (_, i) => maps.subarray(i * per, (i + 1) * per)),
        ours,
      );
      const close = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
        let worst = 0;
        for (let i = 0; i < b.length; i++)
          worst = Math.max(worst, Math.abs(a[i] - b[i]) - (1e-4 + 1e-4 * Math.abs(b[i])));
        return worst;
      };
      const viaModel = await encoder.predict(x, { readout: key });
      expect(close(viaModel.data, ours)).toBeLessThanOrEqual(0);
      if (hasTorch) {
        const imgs = join(tmp, 'images.npy'),
          pred = join(tmp, 'torch_pred.npy');
        writeFileSync(imgs, writeNpy({ dtype: 'float32', shape: [trials.length, C, H, W], data: x }));
        execFileSync(PY, [join(ROOT, 'test/train/py/predict_torch.py'), full, join(SOTA, 'config.json'), imgs, pred], {
          encoding: 'utf8',
          timeout: 300_000,
        });
        const t = parseNumericNpy(new Uint8Array(readFileSync(pred)), pred);
        expect(t.shape).toEqual([trials.length, readout.neurons]);
        expect(close(t.data as Float32Array, ours)).toBeLessThanOrEqual(0);
      }
    } finally {
      encoder.dispose();
    }
  }, 600_000);
});
