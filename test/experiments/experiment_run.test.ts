/**
 * The experiment runner on the bundled demo (public/demo: the demo core and its held-out mouse): a tiny spec, the
 * loaded core frozen (transfer) and direct training, two sizes, two seeds, 2 epochs, run in-process; then
 * `v1x experiment` stopped after its first cell (--max-cells 1), its results.jsonl then ending in a line cut short (as
 * a kill mid-write leaves it), and resumed with --resume: the finished cell is not rerun, the cut line is dropped,
 * and the results equal the uninterrupted run's exactly (every cell's numbers bit for bit, the timings aside: the
 * trainers are deterministic by seed).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { readCheckpointFile, readConfigFile } from '../../src/cli/load_model';
import { type CellResult, type ExperimentResults, runExperiment } from '../../src/experiments/runner';
import { parseExperimentSpec } from '../../src/experiments/spec';
import { loadScanFromPath } from '../../src/io/scan/node_dir_source';

const ROOT = new URL('../../', import.meta.url).pathname;
const DEMO = join(ROOT, 'public/demo');
const tmp = mkdtempSync(join(tmpdir(), 'v1x-experiment-'));
const SPEC = {
  name: 'tiny-demo',
  scan: join(DEMO, 'static-v1demo-heldout.zip'),
  model: { checkpoint: join(DEMO, 'model.pth'), config: join(DEMO, 'config.json') },
  conditions: [
    { name: 'transfer', core: 'loaded', readout: 'gaussian' },
    { name: 'direct', core: 'direct' },
  ],
  sizes: [40, 80],
  seeds: [1, 2],
  protocol: { lr: 0.01, max_epochs: 2, batch_size: 32 },
};
const specPath = join(tmp, 'spec.json');
writeFileSync(specPath, JSON.stringify(SPEC));

function v1x(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/v1x.mjs'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A cell without its timing, which differs from run to run. */
const noTime = ({ seconds: _, ...rest }: CellResult) => rest;

describe('experiment runner on the demo', () => {
  let uninterrupted: ExperimentResults;
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('runs every cell and summarizes every seed with intervals', async () => {
    const spec = parseExperimentSpec(SPEC);
    const config = readConfigFile(spec.model.config!);
    const scan = await loadScanFromPath(spec.scans[0]);
    const checkpoint = { stateDict: await readCheckpointFile(spec.model.checkpoint!), file: 'model.pth' };
    const events: string[] = [];
    uninterrupted = await runExperiment(
      { spec, scans: [scan], config, checkpoint },
      { onEvent: (e) => events.push(e.kind) },
    );
    expect(uninterrupted.complete).toBe(true);
    expect(uninterrupted.cells).toHaveLength(8);
    expect(events.filter((k) => k === 'cell-done')).toHaveLength(8);
    expect(events.filter((k) => k === 'epoch').length).toBeGreaterThanOrEqual(8 * 3); // epoch 0 (before training) + 2
    for (const c of uninterrupted.cells) {
      expect(Number.isFinite(c.fraction_oracle)).toBe(true);
      expect(c.epochs).toBe(2);
      expect(c.hit_cap).toBe(true); // patience 5 cannot stop a 2-epoch run: every cell ends at the cap
    }
    expect(uninterrupted.summaries.map((s) => `${s.condition}:${s.size}`)).toEqual([
      'transfer:40',
      'transfer:80',
      'direct:40',
      'direct:80',
    ]);
    for (const s of uninterrupted.summaries) {
      expect(s.seeds).toEqual([1, 2]);
      expect(s.hit_cap).toBe(true);
      const f = s.fraction_oracle;
      expect(f.n).toBe(2);
      expect(f.low!).toBeLessThanOrEqual(f.mean!);
      expect(f.high!).toBeGreaterThanOrEqual(f.mean!);
    }
    // seeds differ (readout and core initializations), sizes are nested subsets of one permutation
    const t = uninterrupted.cells.filter((c) => c.condition === 'transfer' && c.size === 40);
    expect(t[0].fraction_oracle).not.toBe(t[1].fraction_oracle);
    expect(uninterrupted.selection_rule).toMatch(/no best-of-k/);
    expect(uninterrupted.interval).toMatch(/t-interval/);
  }, 900_000);

  it('v1x experiment resumes an interrupted run without rerunning finished cells, with the same results', () => {
    const out = join(tmp, 'results.json');
    const first = v1x('experiment', specPath, '--out', out, '--max-cells', '1');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    const firstCell = JSON.parse(first.stdout) as CellResult;
    expect(firstCell).toMatchObject({ condition: 'transfer', size: 40, seed: 1 });
    expect((JSON.parse(readFileSync(out, 'utf8')) as ExperimentResults).complete).toBe(false);
    // a kill while the next cell's line was being written leaves it cut short: --resume drops it and reruns that cell
    appendFileSync(join(tmp, 'results.jsonl'), JSON.stringify(firstCell).slice(0, 40));

    const second = v1x('experiment', specPath, '--out', out, '--resume');
    expect(second.code, second.stderr).toBe(0);
    const rerun = second.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as CellResult);
    expect(rerun).toHaveLength(7);
    expect(rerun.some((c) => c.key === firstCell.key)).toBe(false);
    expect(second.stderr).toMatch(/resuming: 1 finished cells/);
    expect(second.stderr.match(/done before \(--resume\)/g)).toHaveLength(1);

    const lines = readFileSync(join(tmp, 'results.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(8);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow(); // the cut line is gone, every line whole
    const resumed = JSON.parse(readFileSync(out, 'utf8')) as ExperimentResults;
    expect(resumed.complete).toBe(true);
    expect(resumed.cells.map(noTime)).toEqual(uninterrupted.cells.map(noTime));
    expect(resumed.summaries).toEqual(uninterrupted.summaries);
    const csv = readFileSync(join(tmp, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(9);
  }, 900_000);
});
