/**
 * A spec with several scans (issue 13's "a scan or several"; issue 14's sharing condition): two matched scans of
 * one simulated animal, direct cells with and without shared features (the same seeds: one core, one readout per
 * scan), frozen loaded and random cells (one readout per scan), every cell scored on both scans' neurons pooled.
 * Checks: sharing changes the model (its cells differ from the unshared ones), a cell equals its scans' readouts
 * pooled (metrics/pooled.ts), resuming reruns nothing, no tensor is left behind, and the errors a spec with several
 * scans can meet.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { runExperiment } from '../../src/experiments/runner';
import type { Scan } from '../../src/io/scan';
import { TINY_CONFIG, tinyInputs, tinyMatchedScans, tinyMatchedZips, tinyScan } from './tiny_scan';

const ROOT = new URL('../../', import.meta.url).pathname;

const SPEC = {
  scans: ['matched-1.zip', 'matched-2.zip'],
  model: { checkpoint: 'core.pth' },
  conditions: [
    { core: 'direct', readout: { kind: 'gaussian', positions: 'free' } },
    { core: 'direct', readout: { kind: 'gaussian', positions: 'free' }, share_features: true },
    { core: 'loaded', readout: { kind: 'gaussian', positions: 'free' } },
    { core: 'random', readout: { kind: 'gaussian', positions: 'free' } },
  ],
  sizes: [40],
  seeds: [3],
  protocol: { max_epochs: 2, batch_size: 16 },
};

describe('runner: several scans', () => {
  let scans: Scan[];
  beforeAll(async () => {
    await initNodeBackend('wasm');
    scans = await tinyMatchedScans(41, 8, 2);
  });

  const inputs = (spec: unknown, s: readonly Scan[] = scans) => tinyInputs(spec, s);

  it('runs direct cells with and without shared features and frozen cells, pooled over both scans', async () => {
    const before = tf.memory().numTensors;
    const r = await runExperiment(inputs(SPEC));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.neurons).toBe(16);
    expect(r.cells.map((c) => c.condition)).toEqual([
      'direct-free',
      'direct-free-shared',
      'loaded-free',
      'random-free',
    ]);
    for (const c of r.cells) {
      expect(Number.isFinite(c.test_correlation)).toBe(true);
      expect(Number.isFinite(c.fraction_oracle)).toBe(true);
    }
    // the same seed and data: only the sharing differs, and it changes the trained model
    const [plain, shared] = r.cells;
    expect(plain.hash).not.toBe(shared.hash);
    expect(shared.test_correlation).not.toBe(plain.test_correlation);

    // a frozen cell on two scans is the two scans' cells pooled: scan 1 alone gives a different number
    const first = await runExperiment(
      inputs({ ...SPEC, scans: undefined, scan: 'matched-1.zip', conditions: [SPEC.conditions[2]] }, [scans[0]]),
    );
    expect(first.neurons).toBe(8);
    expect(first.cells[0].test_correlation).not.toBeCloseTo(r.cells[2].test_correlation!, 6);

    // resumed with every cell done: nothing reruns, the same summaries
    const events: string[] = [];
    const again = await runExperiment(inputs(SPEC), { done: r.cells, onEvent: (e) => events.push(e.kind) });
    expect(events.filter((k) => k === 'cell-start')).toHaveLength(0);
    expect(again.summaries).toEqual(r.summaries);
  }, 180_000);

  it('refuses shared features on scans without match ids, and a scan count that does not match', async () => {
    const plain = [await tinyScan(21, 8), await tinyScan(22, 8)];
    await expect(runExperiment(inputs(SPEC, plain))).rejects.toThrow(
      /'conditions\[1\]\.share_features': scan static-tiny-21 has no meta\/neurons\/multi_match_id/,
    );
    await expect(runExperiment(inputs(SPEC, [scans[0]]))).rejects.toThrow(/the spec lists 2 scans, 1 were given/);
  });

  it('v1x experiment reads a spec with several scans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'v1x-scans-'));
    const zips = await tinyMatchedZips(41, 8, 2);
    zips.forEach((z, k) => writeFileSync(join(dir, `m-${k + 1}.zip`), z));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
    const spec = {
      ...SPEC,
      scans: ['m-1.zip', 'm-2.zip'],
      model: { checkpoint: null, config: 'config.json' },
      conditions: SPEC.conditions.slice(0, 2),
      protocol: { max_epochs: 1, batch_size: 16 },
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/v1x.mjs'),
        'experiment',
        join(dir, 'spec.json'),
        '--out',
        join(dir, 'r.json'),
        '--backend',
        'wasm',
      ],
      { encoding: 'utf8', cwd: ROOT },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cells on .+ \(8 neurons\), .+ \(8 neurons\)/);
    const out = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(out.spec.scans).toEqual(['m-1.zip', 'm-2.zip']);
    expect(out.neurons).toBe(16);
    expect(out.cells.map((c: { condition: string }) => c.condition)).toEqual(['direct-free', 'direct-free-shared']);
  }, 120_000);
});
