/**
 * `v1x finetune --train-core` on the demo core and a tiny simulated scan, one epoch: exit 0, one JSON line with
 * the same keys as the frozen-core run (the `v1x evaluate` keys among them), progress on stderr, a per-neuron CSV,
 * metadata that says the core was trained, and a full model whose core (BatchNorm statistics included) is no
 * longer the checkpoint's while the frozen run's is. And `v1x train --init` on the same scan still works.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateDict } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { writeScanZip } from '../../src/sim/scan_writer';
import { simulateV1Scan } from '../../src/sim/v1_scan';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO = join(ROOT, 'public/demo');
const EVALUATE_KEYS = [
  'test_correlation',
  'correlation_to_average',
  'oracle',
  'fraction_oracle',
  'feve',
  'neurons',
  'trials',
];

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/v1x.mjs'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Largest difference between the `core.*` float entries of two state dicts (and whether they have the same keys). */
function coreDiff(a: StateDict, b: StateDict): { sameKeys: boolean; max: number; batchesTracked: number } {
  const keys = [...a.keys()].filter((k) => k.startsWith('core.'));
  let max = 0,
    batchesTracked = 0;
  for (const k of keys) {
    const x = a.get(k)!.data as ArrayLike<number | bigint>,
      y = b.get(k)?.data as ArrayLike<number | bigint> | undefined;
    if (!y) return { sameKeys: false, max: Infinity, batchesTracked };
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(Number(x[i]) - Number(y[i]));
      if (k.endsWith('num_batches_tracked')) batchesTracked = Math.max(batchesTracked, d);
      else max = Math.max(max, d);
    }
  }
  return { sameKeys: keys.length === [...b.keys()].filter((k) => k.startsWith('core.')).length, max, batchesTracked };
}

describe('v1x finetune --train-core', () => {
  let dir: string;
  let scan: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'v1x-finetune-core-'));
    const v = simulateV1Scan({
      animalSeed: 31,
      nNeurons: 16,
      nTrain: 64,
      nValidation: 32,
      nTest: 5,
      testRepeats: 4,
      name: 'static-tiny-31',
    });
    scan = join(dir, 'tiny.zip');
    writeFileSync(scan, await writeScanZip(v.scan));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints one JSON line with the frozen run's keys and exports the fine-tuned core", async () => {
    const base = [
      'finetune',
      '--checkpoint',
      join(DEMO, 'model.pth'),
      '--config',
      join(DEMO, 'config.json'),
      '--scan',
      scan,
      '--max-epochs',
      '1',
      '--seed',
      '5',
      '--batch-size',
      '32',
    ];
    const tuned = v1x(
      ...base,
      '--train-core',
      '--out',
      join(dir, 'r.pth'),
      '--full-model',
      join(dir, 'm.pth'),
      '--per-neuron',
      join(dir, 'n.csv'),
      '--metadata',
      join(dir, 'meta.json'),
    );
    expect(tuned.code, tuned.stderr).toBe(0);
    const lines = tuned.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]);
    for (const k of EVALUATE_KEYS) expect(s, k).toHaveProperty(k);
    expect(Number.isFinite(s.test_correlation)).toBe(true);
    expect(s.neurons).toBe(16);
    expect(s.trials).toBe(20);
    expect(s.epochs).toBe(1);
    expect(s.train_core).toBe(true);
    expect(tuned.stderr).toMatch(/fine-tuning the core too/);
    expect(tuned.stderr).toMatch(/epoch 1: loss/);

    const frozen = v1x(...base, '--threads', '1', '--out', join(dir, 'r0.pth'), '--full-model', join(dir, 'm0.pth'));
    expect(frozen.code, frozen.stderr).toBe(0);
    const f = JSON.parse(frozen.stdout);
    expect(f.train_core).toBe(false);
    expect(Object.keys(s).sort()).toEqual(Object.keys(f).sort());

    expect(readFileSync(join(dir, 'n.csv'), 'utf8').trim().split('\n')).toHaveLength(17);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    expect(meta.training.train_core).toBe(true);
    expect(meta.training.history).toHaveLength(2);

    const checkpoint = await readCheckpoint(readFileSync(join(DEMO, 'model.pth')), 'model.pth');
    const fineTuned = coreDiff(await readCheckpoint(readFileSync(join(dir, 'm.pth')), 'm.pth'), checkpoint);
    expect(fineTuned.sameKeys).toBe(true);
    expect(fineTuned.max).toBeGreaterThan(1e-6);
    expect(fineTuned.batchesTracked).toBe(2); // 64 images in batches of 32, one training-mode forward each
    const kept = coreDiff(await readCheckpoint(readFileSync(join(dir, 'm0.pth')), 'm0.pth'), checkpoint);
    expect(kept).toEqual({ sameKeys: true, max: 0, batchesTracked: 0 });
  }, 120_000);

  it("v1x train --init still fine-tunes a checkpoint's core (shares the core regularizer settings)", async () => {
    const out = join(dir, 'init.pth');
    const r = v1x(
      'train',
      '--init',
      join(DEMO, 'model.pth'),
      '--config',
      join(DEMO, 'config.json'),
      '--scan',
      scan,
      '--out',
      out,
      '--max-epochs',
      '1',
      '--batch-size',
      '32',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).scans['92031-1-1'].neurons).toBe(16);
    const checkpoint = await readCheckpoint(readFileSync(join(DEMO, 'model.pth')), 'model.pth');
    const d = coreDiff(await readCheckpoint(readFileSync(out), 'init.pth'), checkpoint);
    expect(d.sameKeys).toBe(true);
    expect(d.max).toBeGreaterThan(1e-6);
    expect(d.batchesTracked).toBe(2);
  }, 60_000);
});
