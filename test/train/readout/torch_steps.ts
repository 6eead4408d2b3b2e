/**
 * The step-for-step trajectory tests' shared half (readout_steps_torch.test.ts against plain PyTorch,
 * lurz_config_torch.test.ts against neuralpredictors' FullGaussian2d): the fixture's real core output as the
 * kernels' maps, the readout's initial parameters written for the Python side, K of our Adam steps on recorded
 * position noise and Poisson targets, and the comparison of the final parameters and losses with what the Python
 * side wrote (tolerances stated by each test).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseNumericNpy, writeNpy } from '../../../src/io/npy';
import type { TrainableGaussianReadout } from '../../../src/model/readout_types';
import { Adam } from '../../../src/train/optim/adam';
import { type Param, readoutParams } from '../../../src/train/readout/readout_params';
import { readoutLossAndGrads, StepWorkspace } from '../../../src/train/readout/readout_step';
import type { Rng } from '../../../src/util/rng';
import { npy, SOTA } from '../helpers';

/** The sensorium-sota fixture's core output (B, C, H, W) and the same as the kernels' (H, W, C) maps. */
export function fixtureCoreMaps() {
  const core = npy(join(SOTA, 'core_output.npy'));
  const [B, C, H, W] = core.shape;
  const cd = core.data as Float32Array;
  const maps = Array.from({ length: B }, (_, b) => {
    const m = new Float32Array(H * W * C);
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) m[i * C + c] = cd[(b * C + c) * H * W + i];
    return m;
  });
  return { core, maps, B, C, H, W };
}

export function writeF32(dir: string, name: string, data: Float32Array, shape: number[]): void {
  writeFileSync(join(dir, `${name}.npy`), writeNpy({ dtype: 'float32', shape, data }));
}

export function readF32(dir: string, name: string): Float32Array {
  return parseNumericNpy(new Uint8Array(readFileSync(join(dir, `${name}.npy`)))).data as Float32Array;
}

/** A parameter's values in PyTorch's layout: the features (N, C) neuron-major -> (1, C, 1, N); others as they are. */
export function torchLayout(p: Param, N: number, C: number): Float32Array {
  if (p.name !== '_features') return p.value;
  const t = new Float32Array(N * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) t[c * N + n] = p.value[n * C + c];
  return t;
}

/**
 * Writes the readout's initial parameters (init_<name>.npy), takes K Adam steps on fresh standard-normal position
 * draws and Poisson targets around `meanActivity` (from `rng`), and writes the draws and targets (noise.npy
 * (K, B, N, 2), targets.npy (K, B, N)) for the Python side to replay. Returns the parameter list and the losses.
 */
export function stepAndRecord(
  dir: string,
  r: TrainableGaussianReadout,
  s: {
    maps: Float32Array[];
    geometry: { height: number; width: number; channels: number };
    K: number;
    lr: number;
    lossScale: number;
    gamma: number;
    rng: Rng;
    meanActivity: Float32Array;
  },
): { params: Param[]; losses: number[] } {
  const N = r.neurons,
    C = r.channels,
    B = s.maps.length,
    K = s.K;
  const params = readoutParams(r);
  for (const p of params) writeF32(dir, `init_${p.name}`, torchLayout(p, N, C).slice(), [p.value.length]);
  const noise = new Float32Array(K * B * N * 2),
    targets = new Float32Array(K * B * N);
  const adam = new Adam(params, { lr: s.lr });
  const ws = new StepWorkspace();
  const losses: number[] = [];
  for (let k = 0; k < K; k++) {
    const eps = noise.subarray(k * B * N * 2, (k + 1) * B * N * 2);
    for (let i = 0; i < eps.length; i++) eps[i] = s.rng.normal();
    const t = targets.subarray(k * B * N, (k + 1) * B * N);
    for (let i = 0; i < t.length; i++) t[i] = s.rng.poisson(s.meanActivity[i % N]);
    losses.push(
      readoutLossAndGrads({
        readout: r,
        params,
        geometry: s.geometry,
        maps: s.maps,
        targets: t,
        noise: eps,
        lossScale: s.lossScale,
        gammaReadout: s.gamma,
        workspace: ws,
      }).loss,
    );
    adam.update();
  }
  writeF32(dir, 'noise', noise, [K, B, N, 2]);
  writeF32(dir, 'targets', targets, [K, B, N]);
  return { params, losses };
}

/**
 * Our losses and final parameters against the Python side's (losses.json, final_<name>.npy): losses within 1e-5
 * relative, every parameter within 1e-5 but the features (1e-3), and each must have moved from its start (else
 * the comparison would mean nothing). Returns the worst relative loss difference and one line per parameter.
 */
export function expectSameTrajectory(
  dir: string,
  params: Param[],
  losses: number[],
  N: number,
  C: number,
): { worstLoss: number; report: string[] } {
  const theirLosses = JSON.parse(readFileSync(join(dir, 'losses.json'), 'utf8')) as number[];
  expect(theirLosses.length).toBe(losses.length);
  let worstLoss = 0;
  for (let k = 0; k < losses.length; k++)
    worstLoss = Math.max(worstLoss, Math.abs(losses[k] - theirLosses[k]) / Math.abs(theirLosses[k]));
  expect(worstLoss, 'loss, relative').toBeLessThan(1e-5);
  const report: string[] = [];
  for (const p of params) {
    const theirs = readF32(dir, `final_${p.name}`);
    const ours = torchLayout(p, N, C);
    const init = readF32(dir, `init_${p.name}`);
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
  return { worstLoss, report };
}
