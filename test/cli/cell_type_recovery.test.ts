/**
 * Klindt et al. (2017), Sections 4-5.1 in miniature, as a user runs it: `v1x simulate --cell-types 4` makes a scan
 * whose neurons are 4 types, each type reading one channel of the demo core at a random position, so the frozen
 * core can represent them exactly; `v1x finetune` then learns a new Gaussian and a new factorized readout on that
 * core. Clustering the learned feature vectors (k-means, k = 4, on unit-length barcodes) must recover the types
 * (adjusted Rand index >= 0.9 for both readouts), and the learned positions must lie near the true ones (within a
 * pixel): the Gaussian's mean and the factorized mask's peak, in image pixels. The printed line holds the README's
 * numbers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adjustedRandIndex } from '../../src/analysis/adjusted_rand';
import { kmeans } from '../../src/analysis/kmeans';
import { scaleFeatures } from '../../src/analysis/scaling';
import { type HostTensor, toFloat32 } from '../../src/io/host_tensor';
import { parseNumericNpy } from '../../src/io/npy';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { effectiveMasks, signedBarcodes } from '../../src/model/factorized_masks';
import { neuronMajorFeatures } from '../../src/model/readout_types';
import { gridToPixel } from '../../src/sim/v1_truth';

const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'bin/v1x.mjs');
const DEMO = ['--checkpoint', join(ROOT, 'public/demo/model.pth'), '--config', join(ROOT, 'public/demo/config.json')];
const dir = mkdtempSync(join(tmpdir(), 'v1x-cell-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function v1x(...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`v1x ${args[0]} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

const npy = (path: string): HostTensor => parseNumericNpy(new Uint8Array(readFileSync(path)), path);

/** Per-neuron CSV columns by name. */
function csvColumns(path: string): Record<string, number[]> {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const names = head.split(',');
  const cols: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (const row of rows) row.split(',').forEach((v, i) => cols[names[i]].push(Number(v)));
  return cols;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const IMAGE: [number, number, number] = [1, 36, 64];
const CORE_MAP: [number, number] = [28, 56]; // the demo core's output (9x9 input conv, no padding)

describe('cell types recovered from the learned barcodes (Klindt et al. 2017)', () => {
  it('both readouts: ARI >= 0.9 and positions within a pixel', {
    timeout: 600_000,
  }, async () => {
    const scan = join(dir, 'celltypes.zip');
    v1x(
      'simulate',
      ...DEMO,
      '--cell-types',
      '4',
      '--neurons',
      '200',
      '--seed',
      '1',
      '--trials',
      '1500,200,20x5',
      '--out',
      scan,
    );
    const truthDir = join(dir, 'celltypes-truth');
    const types = Array.from(npy(join(truthDir, 'cell_types.npy')).data as ArrayLike<number | bigint>, Number);
    const truePx = toFloat32(npy(join(truthDir, 'true_rf_px.npy'))); // (N, 2): x = column, y = row
    const n = types.length;
    const result: Record<string, { ari: number; medianPx: number; testCorrelation: number }> = {};
    for (const kind of ['gaussian', 'factorized'] as const) {
      const out = join(dir, `${kind}.pth`);
      const csv = join(dir, `${kind}.csv`);
      const metrics = JSON.parse(
        v1x(
          'finetune',
          ...DEMO,
          '--scan',
          scan,
          '--readout-type',
          kind,
          '--out',
          out,
          '--per-neuron',
          csv,
          '--seed',
          '1',
        ),
      );
      const sd = await readCheckpoint(new Uint8Array(readFileSync(out)), out);
      const key = metrics.readout as string;
      // barcodes as (N, C): both store `_features`, the Gaussian as (1, C, 1, N), the factorized readout as (N, C)
      let features: Float32Array;
      let channels: number;
      if (kind === 'gaussian') {
        const t = sd.get(`readout.${key}._features`)!;
        channels = t.shape[1];
        features = neuronMajorFeatures(toFloat32(t), channels, n);
      } else {
        const t = sd.get(`readout.${key}._features`)!;
        const spatial = sd.get(`readout.${key}.spatial`)!;
        const [, h, w] = spatial.shape;
        channels = t.shape[1];
        const masks = effectiveMasks(toFloat32(spatial), n, h, w, {
          normalize: true,
          constrainPos: false,
          positiveSpatial: false,
        });
        features = signedBarcodes(toFloat32(t), masks, n, channels);
      }
      const unit = scaleFeatures({ data: Float64Array.from(features), rows: n, cols: channels }, 'unit');
      const clusters = kmeans(unit, 4, { seed: 1, restarts: 10 }).labels;
      // positions: the per-neuron CSV's x, y are grid units (the Gaussian's mean; the mask's peak)
      const cols = csvColumns(csv);
      const errors = cols.x.map((gx, i) => {
        const [px, py] = gridToPixel(gx, cols.y[i], IMAGE, CORE_MAP);
        return Math.hypot(px - truePx[2 * i], py - truePx[2 * i + 1]);
      });
      result[kind] = {
        ari: adjustedRandIndex(clusters, types),
        medianPx: median(errors),
        testCorrelation: metrics.test_correlation,
      };
    }
    console.log(`cell-type recovery (200 neurons, 4 types, demo core): ${JSON.stringify(result)}`);
    expect(result.gaussian.ari).toBeGreaterThanOrEqual(0.9);
    expect(result.factorized.ari).toBeGreaterThanOrEqual(0.9);
    expect(result.gaussian.medianPx).toBeLessThan(1);
    expect(result.factorized.medianPx).toBeLessThan(1);
    // The issue expected the Gaussian to be at least as precise. With the factorized readout's default penalty
    // (per neuron, weight 1: README) its mask peaks are the more precise here (0.42 vs 0.54 px, one seed), so
    // which is better is printed above and in the README, not asserted.
  });
});
