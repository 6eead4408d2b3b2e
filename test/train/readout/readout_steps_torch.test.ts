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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNumericNpy, writeNpy } from '../../../src/io/npy';
import type { GaussType } from '../../../src/model/readout_types';
import { Adam } from '../../../src/train/optim/adam';
import { initReadout, REFERENCE_READOUT } from '../../../src/train/readout/readout_init';
import { type Param, readoutParams } from '../../../src/train/readout/readout_params';
import { evalPositions, readoutLossAndGrads, StepWorkspace } from '../../../src/train/readout/readout_step';
import { Rng } from '../../../src/util/rng';
import { noTorchReason, TORCH_PYTHON as PY } from '../../fixtures/paths';
import { npy, SOTA } from '../helpers';

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

function f32(data: Float32Array, shape: number[]): Uint8Array {
  return writeNpy({ dtype: 'float32', shape, data });
}

describe.skipIf(!have)('readout training steps vs PyTorch autograd + Adam', () => {
  const core = npy(join(SOTA, 'core_output.npy')); // (B, C, H, W)
  const [B, C, H, W] = core.shape;
  const cd = core.data as Float32Array;
  // our kernels take (H, W, C) maps
  const maps = Array.from({ length: B }, (_, b) => {
    const m = new Float32Array(H * W * C);
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) m[i * C + c] = cd[(b * C + c) * H * W + i];
    return m;
  });

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
      const params = readoutParams(r);
      const write = (name: string, data: Uint8Array): void => writeFileSync(join(dir, `${name}.npy`), data);
      const features = (p: Param): Float32Array => {
        // neuron-major (N, C) -> PyTorch's (1, C, 1, N)
        const t = new Float32Array(N * C);
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) t[c * N + n] = p.value[n * C + c];
        return t;
      };
      for (const p of params)
        write(`init_${p.name}`, f32(p.name === '_features' ? features(p) : p.value.slice(), [p.value.length]));
      if (net) write('source_grid', f32(r.sourceGrid!.slice(), [N, 2]));
      write('maps', f32(cd, core.shape));

      const noise = new Float32Array(K * B * N * 2),
        targets = new Float32Array(K * B * N);
      const adam = new Adam(params, { lr: LR });
      const ws = new StepWorkspace();
      const losses: number[] = [];
      for (let k = 0; k < K; k++) {
        const eps = noise.subarray(k * B * N * 2, (k + 1) * B * N * 2);
        for (let i = 0; i < eps.length; i++) eps[i] = rng.normal();
        const t = targets.subarray(k * B * N, (k + 1) * B * N);
        for (let i = 0; i < t.length; i++) t[i] = rng.poisson(meanActivity[i % N]);
        losses.push(
          readoutLossAndGrads({
            readout: r,
            params,
            geometry: { height: H, width: W, channels: C },
            maps,
            targets: t,
            noise: eps,
            lossScale: LOSS_SCALE,
            gammaReadout: GAMMA,
            workspace: ws,
          }).loss,
        );
        adam.update();
      }
      write('noise', f32(noise, [K, B, N, 2]));
      write('targets', f32(targets, [K, B, N]));
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

      const theirLosses = JSON.parse(readFileSync(join(dir, 'losses.json'), 'utf8')) as number[];
      expect(theirLosses.length).toBe(K);
      let worstLoss = 0;
      for (let k = 0; k < K; k++)
        worstLoss = Math.max(worstLoss, Math.abs(losses[k] - theirLosses[k]) / Math.abs(theirLosses[k]));
      expect(worstLoss, 'loss, relative').toBeLessThan(1e-5);

      const report: string[] = [];
      for (const p of params) {
        const theirs = parseNumericNpy(new Uint8Array(readFileSync(join(dir, `final_${p.name}.npy`))))
          .data as Float32Array;
        const ours = p.name === '_features' ? features(p) : p.value;
        const init = parseNumericNpy(new Uint8Array(readFileSync(join(dir, `init_${p.name}.npy`))))
          .data as Float32Array;
        let diff = 0,
          moved = 0;
        for (let i = 0; i < ours.length; i++) {
          diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
          moved = Math.max(moved, Math.abs(ours[i] - init[i]));
        }
        report.push(`${p.name} ${diff.toExponential(1)} (moved ${moved.toFixed(3)})`);
        expect(moved, `${p.name} must move for the comparison to mean anything`).toBeGreaterThan(1e-3);
        expect(diff, p.name).toBeLessThan(p.name === '_features' ? 1e-3 : 1e-5);
      }
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
