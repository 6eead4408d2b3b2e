/**
 * `v1x train` on two tiny simulated scans: writes a .pth that `v1x info` reads with both readouts, prints one JSON
 * object with test metrics per scan, and rejects bad input with exit code 1 and one line on stderr.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeScanZip } from '../../src/sim/scan_writer';
import { simulateV1Scan } from '../../src/sim/v1_scan';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/v1x.mjs'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('v1x train', () => {
  let dir: string;
  const scans: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'v1x-train-'));
    for (const seed of [11, 12]) {
      const v = simulateV1Scan({
        animalSeed: seed,
        nNeurons: 10,
        imageShape: [1, 18, 32],
        nTrain: 64,
        nValidation: 32,
        nTest: 6,
        testRepeats: 4,
        name: `static-tiny-${seed}`,
      });
      const p = join(dir, `tiny-${seed}.zip`);
      writeFileSync(p, await writeScanZip(v.scan));
      scans.push(p);
    }
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ layers: 2, hidden_channels: 4, input_kern: 5, hidden_kern: 3, input_shape: [1, 18, 32] }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains, writes a model with one readout per scan and prints the metrics', () => {
    const out = join(dir, 'model.pth');
    const metrics = join(dir, 'metrics.json');
    const r = v1x(
      'train',
      '--scan',
      scans[0],
      '--scan',
      scans[1],
      '--config',
      join(dir, 'config.json'),
      '--out',
      out,
      '--max-epochs',
      '2',
      '--seed',
      '3',
      '--metrics',
      metrics,
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(Object.keys(summary.scans)).toEqual(['92011-1-1', '92012-1-1']);
    for (const s of Object.values(summary.scans) as { test_correlation: number; oracle: number; neurons: number }[]) {
      expect(Number.isFinite(s.test_correlation)).toBe(true);
      expect(s.oracle).toBeGreaterThan(0);
      expect(s.neurons).toBe(10);
    }
    expect(summary.epochs).toBe(2);
    expect(JSON.parse(readFileSync(metrics, 'utf8')).history).toHaveLength(3);
    const info = v1x('info', '--checkpoint', out, '--config', join(dir, 'config.json'));
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain("readout '92011-1-1'");
    expect(info.stdout).toContain("readout '92012-1-1'");
    expect(info.stdout).toContain('input 1x18x32');
  }, 300_000);

  it('--readout-type factorized: FullFactorized2d readouts, readout_type in the summary', () => {
    const out = join(dir, 'model-fx.pth');
    const r = v1x(
      'train',
      '--scan',
      scans[0],
      '--config',
      join(dir, 'config.json'),
      '--out',
      out,
      '--max-epochs',
      '1',
      '--seed',
      '3',
      '--readout-type',
      'factorized',
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.readout_type).toBe('factorized');
    expect(Number.isFinite(summary.scans['92011-1-1'].test_correlation)).toBe(true);
    const info = v1x('info', '--checkpoint', out, '--config', join(dir, 'config.json'));
    expect(info.stdout).toMatch(
      /readout '92011-1-1' \(default\): FullFactorized2d, 10 neurons, 4 features, mask \d+x\d+/,
    );
    const bad = v1x('train', '--scan', scans[0], '--out', out, '--readout-type', 'both');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--readout-type must be gaussian or factorized, got 'both'");
  }, 300_000);

  it('refuses two scans with the same data key, a missing scan and a bad option, with one line', () => {
    const out = join(dir, 'never.pth');
    for (const args of [
      ['--scan', scans[0], '--scan', scans[0], '--out', out],
      ['--scan', join(dir, 'missing.zip'), '--out', out],
      ['--scan', scans[0], '--out', out, '--max-epochs', '0'],
      ['--out', out],
    ]) {
      const r = v1x('train', ...args, '--config', join(dir, 'config.json'));
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^v1x: /);
      expect(existsSync(out)).toBe(false);
    }
  }, 120_000);
});
