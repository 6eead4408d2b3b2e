/**
 * Matched scans on the command line: `v1x simulate --matched-scans 2` (the Gabor population and a checkpoint's
 * readout) writes <name>-1 and <name>-2, the same neurons with their own images and noise, each with
 * meta/neurons/multi_match_id.npy and its own data key; `v1x train --share-features` trains them with shared
 * features (one epoch here) and the model it writes has neuralpredictors' sharing keys; scans whose match ids
 * differ are refused with one line naming the scan file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScanFromPath } from '../../src/io/scan/node_dir_source';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { FIXTURES } from '../fixtures/paths';

const BIN = join(__dirname, '../../bin/v1x.mjs');
const SHARED = join(FIXTURES, 'feature_sharing', 'gaussian');
const dir = mkdtempSync(join(tmpdir(), 'v1x-matched-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  // run from the temporary folder: v1x works from any working directory
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const small = ['--trials', '60,20,4x3'];

describe('v1x simulate --matched-scans', () => {
  it('Gabor cells: two scans of the same neurons, then v1x train --share-features', async () => {
    const r = v1x(
      'simulate',
      '--population',
      'gabor',
      '--neurons',
      '8',
      '--seed',
      '3',
      ...small,
      '--matched-scans',
      '2',
      '--out',
      join(dir, 'g.zip'),
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.name, l.matched_scan, l.data_key])).toEqual([
      ['g-1', 1, '92003-1-1'],
      ['g-2', 2, '92003-1-2'],
    ]);
    const [a, b] = [await loadScanFromPath(join(dir, 'g-1.zip')), await loadScanFromPath(join(dir, 'g-2.zip'))];
    expect(a.neurons.multiMatchId).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(b.neurons.multiMatchId).toEqual(a.neurons.multiMatchId);
    expect(Array.from(b.responses.subarray(0, 40))).not.toEqual(Array.from(a.responses.subarray(0, 40)));

    writeFileSync(
      join(dir, 'cfg.json'),
      JSON.stringify({ layers: 2, hidden_channels: 4, input_kern: 9, hidden_kern: 7, grid_mean_predictor: null }),
    );
    const out = join(dir, 'shared.pth');
    const t = v1x(
      'train',
      '--scan',
      join(dir, 'g-1.zip'),
      '--scan',
      join(dir, 'g-2.zip'),
      '--config',
      join(dir, 'cfg.json'),
      '--out',
      out,
      '--share-features',
      '--max-epochs',
      '1',
      '--quiet',
    );
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout)).toMatchObject({ share_features: true, epochs: 1 });
    const sd = await readCheckpoint(new Uint8Array(readFileSync(out)), 'shared.pth');
    for (const key of ['92003-1-1', '92003-1-2']) {
      expect(sd.get(`readout.${key}.scales`)?.shape).toEqual([1, 1, 1, 8]);
      expect(sd.get(`readout.${key}.feature_sharing_index`)?.dtype).toBe('int64');
      expect(sd.get(`readout.${key}._features`)?.shape).toEqual([1, 4, 1, 8]);
    }

    // another animal's scans have other match ids, a plain scan none: refused, naming the file
    const o = v1x(
      'simulate',
      '--population',
      'gabor',
      '--neurons',
      '9',
      '--seed',
      '4',
      ...small,
      '--out',
      join(dir, 'other.zip'),
      '--name',
      'static-other',
    );
    expect(o.code, o.stderr).toBe(0);
    const m = v1x(
      'simulate',
      '--population',
      'gabor',
      '--neurons',
      '9',
      '--seed',
      '5',
      ...small,
      '--matched-scans',
      '2',
      '--out',
      join(dir, 'h.zip'),
    );
    expect(m.code, m.stderr).toBe(0);
    const bad = v1x(
      'train',
      '--scan',
      join(dir, 'g-1.zip'),
      '--scan',
      join(dir, 'h-2.zip'),
      '--config',
      join(dir, 'cfg.json'),
      '--out',
      join(dir, 'x.pth'),
      '--share-features',
      '--max-epochs',
      '1',
      '--quiet',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('h-2.zip');
    expect(bad.stderr).toContain(
      "its match ids (meta/neurons/multi_match_id.npy) differ from scan g-1's; not in g-1: 9",
    );
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const none = v1x(
      'train',
      '--scan',
      join(dir, 'g-1.zip'),
      '--scan',
      join(dir, 'other.zip'),
      '--config',
      join(dir, 'cfg.json'),
      '--out',
      join(dir, 'x.pth'),
      '--share-features',
      '--max-epochs',
      '1',
      '--quiet',
    );
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('other.zip');
    expect(none.stderr).toContain('no meta/neurons/multi_match_id.npy');
  });

  it("a checkpoint's readout: the same selected neurons in both scans, their features each neuron's own", async () => {
    const r = v1x(
      'simulate',
      '--checkpoint',
      join(SHARED, 'model.pth'),
      '--config',
      join(SHARED, 'config.json'),
      '--readout',
      's2',
      '--neurons',
      '5',
      '--seed',
      '2',
      ...small,
      '--matched-scans',
      '2',
      '--out',
      join(dir, 'm.zip'),
    );
    expect(r.code, r.stderr).toBe(0);
    const [a, b] = [await loadScanFromPath(join(dir, 'm-1.zip')), await loadScanFromPath(join(dir, 'm-2.zip'))];
    expect(a.neurons.multiMatchId).toEqual([1, 2, 3, 4, 5]);
    expect(b.neurons.multiMatchId).toEqual([1, 2, 3, 4, 5]);
    expect(a.dataKey).not.toBe(b.dataKey);
    const sel = (d: string) => readFileSync(join(dir, d, 'selected_neurons.npy'));
    expect(sel('m-1-truth')).toEqual(sel('m-2-truth'));
  });

  it('--image-size sets the Gabor images; a bad size or a model population is refused', async () => {
    const r = v1x(
      'simulate',
      '--population',
      'gabor',
      '--neurons',
      '4',
      '--seed',
      '2',
      ...small,
      '--image-size',
      '18x32',
      '--out',
      'small.zip',
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await loadScanFromPath(join(dir, 'small.zip'))).imageShape).toEqual([1, 18, 32]);
    const bad = v1x(
      'simulate',
      '--population',
      'gabor',
      '--neurons',
      '4',
      '--seed',
      '2',
      '--image-size',
      '18by32',
      '--out',
      'bad.zip',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--image-size must be HxW with 8 to 512 pixels each, e\.g\. 18x32, got '18by32'/);
    const model = v1x(
      'simulate',
      '--checkpoint',
      'm.pth',
      '--neurons',
      '4',
      '--seed',
      '2',
      '--image-size',
      '18x32',
      '--out',
      'x.zip',
    );
    expect(model.stderr).toMatch(/--image-size applies to --population gabor/);
  }, 60_000);
});
