/**
 * Adam and ReduceLROnPlateau against PyTorch traces (reference venv; skipped with the reason when absent), and
 * the early-stopping schedule against sequences worked out by hand from neuralpredictors' early_stopping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Adam } from '../../../src/train/optim/adam';
import {
  EarlyStoppingSchedule,
  REFERENCE_SCHEDULE,
  ReduceLROnPlateau,
  type ScheduleAction,
} from '../../../src/train/optim/schedule';
import { Rng } from '../../../src/util/rng';
import { noTorchReason, TORCH_PYTHON as PY } from '../../fixtures/paths';

const hasTorch = existsSync(PY);
if (!hasTorch) console.log(noTorchReason('the Adam and ReduceLROnPlateau traces against PyTorch'));

function torchTrace(spec: object): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'v1x-train-'));
  try {
    const f = join(dir, 'spec.json');
    writeFileSync(f, JSON.stringify(spec));
    const script = fileURLToPath(new URL('../py/torch_trace.py', import.meta.url));
    return JSON.parse(execFileSync(PY, [script, f], { encoding: 'utf8', timeout: 120_000 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasTorch)('against PyTorch', () => {
  it('Adam matches torch.optim.Adam over 60 steps with learning-rate changes', () => {
    const rng = new Rng(11);
    const sizes = [7, 3, 12];
    const params = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
    const steps = 60;
    const grads = Array.from({ length: steps }, (_, s) =>
      sizes.map((n) =>
        Float32Array.from({ length: n }, () => (s % 17 === 5 ? 0 : rng.normal() * 10 ** rng.range(-3, 2))),
      ),
    );
    const lrs = Array.from({ length: steps }, (_, s) => (s < 20 ? 0.005 : s < 40 ? 0.0015 : 0.00045));
    const ps = params.map((v) => ({ name: '', value: v.slice(), grad: new Float32Array(v.length) }));
    const adam = new Adam(ps, { lr: lrs[0] });
    for (let s = 0; s < steps; s++) {
      adam.lr = lrs[s];
      ps.forEach((p, i) => p.grad.set(grads[s][i]));
      adam.update();
    }
    const ref = torchTrace({
      kind: 'adam',
      params: params.map((p) => [...p]),
      grads: grads.map((g) => g.map((x) => [...x])),
      lrs,
    }) as { params: number[][] };
    ps.forEach((p, i) => {
      for (let j = 0; j < p.value.length; j++)
        expect(Math.abs(p.value[j] - ref.params[i][j])).toBeLessThanOrEqual(2e-6 * (1 + Math.abs(ref.params[i][j])));
    });
  });

  it('ReduceLROnPlateau matches torch (mode max, abs threshold)', () => {
    const objectives = [
      0.1, 0.2, 0.25, 0.25, 0.2500005, 0.24, 0.23, 0.22, 0.21, 0.26, 0.26, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2,
      0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2,
    ];
    const s = new ReduceLROnPlateau(0.005, 0.3, 5, 1e-6, 1e-4);
    const ours = objectives.map((o) => {
      s.step(o);
      return s.lr;
    });
    const ref = torchTrace({
      kind: 'plateau',
      lr: 0.005,
      factor: 0.3,
      patience: 5,
      threshold: 1e-6,
      min_lr: 1e-4,
      objectives,
    }) as { lrs: number[] };
    ours.forEach((lr, i) => expect(lr).toBeCloseTo(ref.lrs[i], 12));
  });
});

/** Runs the schedule over an objective per epoch; returns the actions and the lr of each trained epoch. */
function drive(objectives: (epoch: number) => number, initial = 0, over: Partial<typeof REFERENCE_SCHEDULE> = {}) {
  const s = new EarlyStoppingSchedule({ ...REFERENCE_SCHEDULE, ...over }, 0.005);
  s.begin(initial);
  const log: string[] = [];
  const lrs: number[] = [];
  const snapshots: number[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const a: ScheduleAction = s.next();
    if (a.kind === 'done') {
      log.push(`done:${a.reason}`);
      break;
    }
    if (a.kind === 'restore') {
      log.push(`restore@${s.epoch}`);
      continue;
    }
    lrs.push(s.lr);
    if (s.report(objectives(a.epoch)).improved) snapshots.push(a.epoch);
  }
  return { log, lrs, snapshots, epochs: lrs.length };
}

describe('early stopping schedule (neuralpredictors early_stopping + ReduceLROnPlateau)', () => {
  it('plateau after epoch 3: restores after epochs 8, 13, 18; decays after epochs 9 and 15; stops at 18', () => {
    // improvement in epochs 1-3, nothing after. Early stopping: 5 bad epochs (4-8) end repeat 0 -> restore.
    // The scheduler's count reaches 6 only at epoch 9 (it is not reset by restores) -> lr 0.0015 from epoch 10.
    // Repeat 1: epochs 9-13 bad -> restore; scheduler count 1..4 at 10..13, 5 at 14, 6 at 15 -> 0.00045 from 16.
    // Repeat 2: epochs 14-18 -> restore, then the 3 repeats are used up: done, best state restored.
    const r = drive((e) => (e <= 3 ? 0.1 * e : 0.3));
    expect(r.log).toEqual(['restore@8', 'restore@13', 'restore@18', 'done:patience']);
    expect(r.snapshots).toEqual([1, 2, 3]);
    expect(r.epochs).toBe(18);
    expect(r.lrs.slice(0, 9).every((x) => x === 0.005)).toBe(true);
    expect(r.lrs.slice(9, 15).every((x) => Math.abs(x - 0.0015) < 1e-15)).toBe(true);
    expect(r.lrs.slice(15).every((x) => Math.abs(x - 0.00045) < 1e-15)).toBe(true);
  });

  it('an improvement within tolerance does not count', () => {
    const r = drive(() => 0.5 + 9e-7, 0.5);
    expect(r.snapshots).toEqual([]);
    expect(r.log[0]).toBe('restore@5');
  });

  it('max epochs ends training without a restore in between', () => {
    const r = drive((e) => e, 0, { maxEpochs: 12 });
    expect(r.log).toEqual(['done:max-epochs']);
    expect(r.epochs).toBe(12);
  });

  it('the pre-training objective is the first best', () => {
    const r = drive(() => 0.2, 0.3);
    expect(r.snapshots).toEqual([]);
    expect(r.log.at(-1)).toBe('done:patience');
  });

  it('a non-finite objective stops before the next epoch', () => {
    const r = drive((e) => (e === 4 ? NaN : e));
    expect(r.log).toEqual(['done:non-finite-objective']);
    expect(r.epochs).toBe(4);
  });

  it('min lr bounds the decays', () => {
    const s = new ReduceLROnPlateau(0.0002, 0.3, 0, 0, 1e-4);
    s.step(1);
    s.step(0);
    expect(s.lr).toBe(1e-4);
    s.step(0);
    expect(s.lr).toBe(1e-4);
  });
});
