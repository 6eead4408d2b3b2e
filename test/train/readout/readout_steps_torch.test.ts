/**
 * Training-trajectory parity with PyTorch: K Adam steps of our readout training (readout_step.ts: positions,
 * fused sampling kernel, analytic backward; adam.ts) against the same K steps in plain PyTorch autograd with
 * torch.optim.Adam (py/readout_steps_torch.py, neuralpredictors' FullGaussian2d training forward), from the same
 * initial parameters, on the same real core output (the sensorium-sota fixture's core_output.npy), with the
 * same recorded position noise and targets. Gradients alone are checked elsewhere (fixture_grads, finite
 * differences); this checks that whole optimization steps compose as PyTorch's do, for every gauss type and for
 * the position network and free means.
 *
 * Tolerances (measured here after 60 steps at lr 0.009: every parameter but the features <= 7e-7, features <= 6e-5,
 * losses <= 2e-7 relative): losses 1e-5 relative; positions, sigma, bias and position-network weights 1e-5; features 1e-3
 * (they move by ~0.4 and accumulate float32 rounding differently).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { GaussType } from '../../../src/model/readout_types';
import { initReadout, REFERENCE_READOUT } from '../../../src/train/readout/readout_init';
import { evalPositions } from '../../../src/train/readout/readout_step';
import { Rng } from '../../../src/util/rng';
import { noTorchReason, TORCH_PYTHON as PY } from '../../fixtures/paths';
import { expectSameTrajectory, fixtureCoreMaps, stepAndRecord, writeF32 } from './torch_steps';

const have = existsSync(PY);
if (!have) console.log(noTorchReason('the readout training trajectory against PyTorch'));
const SCRIPT = fileURLToPath(new URL('../py/readout_steps_torch.py', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'v1x-steps-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const K = 60,
  LR = 0.009,
  N = 300,
  LOSS_SCALE = 3,
  GAMMA = 0.0076;

describe.skipIf(!have)('readout training steps vs PyTorch autograd + Adam', () => {
  const { core, maps, C, H, W } = fixtureCoreMaps();

  it.each([
    ['full', true],
    ['uncorrelated', false],
    ['isotropic', true],
    ['full', false],
  ] as [GaussType, boolean][])(
    `%s Gaussians, position network %s: ${K} steps`,
    (gaussType, net) => {
      const dir = mkdtempSync(join(tmp, `${gaussType}-`));
      const rng = new Rng(11);
      const coords = Float32Array.from({ length: N * 3 }, () => rng.range(-400, 400));
      const meanActivity = Float32Array.from({ length: N }, () => rng.range(0.3, 1.5));
      const r = initReadout(
        { neurons: N, channels: C, meanActivity, cellMotorCoordinates: { data: coords, columns: 3 } },
        { ...REFERENCE_READOUT, gaussType, positionNet: net ? REFERENCE_READOUT.positionNet : null },
        42,
      );
      if (net) writeF32(dir, 'source_grid', r.sourceGrid!.slice(), [N, 2]);
      writeF32(dir, 'maps', core.data as Float32Array, core.shape);
      const { params, losses } = stepAndRecord(dir, r, {
        maps,
        geometry: { height: H, width: W, channels: C },
        K,
        lr: LR,
        lossScale: LOSS_SCALE,
        gamma: GAMMA,
        rng,
        meanActivity,
      });
      writeFileSync(
        join(dir, 'spec.json'),
        JSON.stringify({
          neurons: N,
          channels: C,
          gauss_type: gaussType,
          position_net: net,
          lr: LR,
          loss_scale: LOSS_SCALE,
          gamma: GAMMA,
          param_order: params.map((p) => p.name),
        }),
      );
      const run = spawnSync(PY, [SCRIPT, dir], { encoding: 'utf8', timeout: 120_000 });
      expect(run.status, run.stderr).toBe(0);
      const { worstLoss, report } = expectSameTrajectory(dir, params, losses, N, C);
      // the eval positions themselves (what the position error is measured on)
      const pos = evalPositions(r);
      expect(pos.every(Number.isFinite)).toBe(true);
      console.log(
        `${gaussType}${net ? ' + position network' : ', free means'}: loss rel ${worstLoss.toExponential(1)}; max |ours - torch| ${report.join(', ')}`,
      );
    },
    180_000,
  );
});
