/**
 * The fused readout kernel's loss and gradients (kernels/fused_readout.ts, model/output_loss.ts) for each loss and
 * output nonlinearity against PyTorch autograd in float64 (py/loss_grads_torch.py: grid_sample(align_corners=True),
 * torch's PoissonNLLLoss / MSELoss / the mean-variance Gaussian, softplus). Small random maps with a few positions at
 * the border, targets with negative values (dF/F-like) for the losses that take them.
 *
 * Tolerance: 1e-5 + 1e-5 |ref| on loss, predictions and every gradient (float32 maps and features; measured
 * differences are printed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNumericNpy, writeNpy } from '../../../src/io/npy';
import { type KernelChoice, readoutTrainStep } from '../../../src/kernels/fused_readout';
import type { LossName, OutputNonlinearity } from '../../../src/model/output_loss';
import { Rng } from '../../../src/util/rng';
import { noTorchReason, TORCH_PYTHON as PY } from '../../fixtures/paths';

const have = existsSync(PY);
if (!have) console.log(noTorchReason('the readout losses against PyTorch'));
const SCRIPT = fileURLToPath(new URL('../py/loss_grads_torch.py', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'v1x-loss-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const B = 5,
  C = 8,
  H = 6,
  W = 9,
  N = 7,
  EPS = 1e-8,
  SCALE = 2.5;
const CASES: [LossName, OutputNonlinearity][] = [
  ['poisson', 'elu'],
  ['poisson', 'softplus'],
  ['mse', 'elu'],
  ['mse', 'softplus'],
  ['mse', 'identity'],
  ['gaussian', 'elu'],
  ['gaussian', 'softplus'],
];

describe.skipIf(!have)('readout losses and gradients vs PyTorch autograd', () => {
  const rng = new Rng(5);
  const maps = Array.from({ length: B }, () => Float32Array.from({ length: H * W * C }, () => rng.range(-1, 1)));
  const positions = Float32Array.from({ length: B * N * 2 }, () => rng.range(-0.95, 0.95));
  positions[0] = 1; // a corner on the right edge and one on the top edge: the border path
  positions[3] = -1;
  const features = Float32Array.from({ length: N * C }, () => rng.range(-0.5, 0.5));
  const bias = Float32Array.from({ length: N }, () => rng.range(-0.3, 0.6));
  const targets = Float32Array.from({ length: B * N }, () => rng.range(-0.8, 2.5));
  // Poisson needs targets >= 0: its cases get |t|
  const positiveTargets = targets.map(Math.abs);

  const dir = mkdtempSync(join(tmp, 'case-'));
  const w = (name: string, data: Float32Array, shape: number[]) =>
    writeFileSync(join(dir, `${name}.npy`), writeNpy({ dtype: 'float32', shape, data }));
  // torch wants (B, C, H, W)
  const nchw = new Float32Array(B * C * H * W);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) nchw[(b * C + c) * H * W + i] = maps[b][i * C + c];
  w('maps', nchw, [B, C, H, W]);
  w('positions', positions, [B, N, 2]);
  w('features', features, [N, C]);
  w('bias', bias, [N]);

  const run = (t: Float32Array, cases: typeof CASES, sub: string) => {
    const d = join(dir, sub);
    spawnSync('mkdir', ['-p', d]);
    for (const f of ['maps', 'positions', 'features', 'bias'])
      writeFileSync(join(d, `${f}.npy`), readFileSync(join(dir, `${f}.npy`)));
    writeFileSync(join(d, 'targets.npy'), writeNpy({ dtype: 'float32', shape: [B, N], data: t }));
    writeFileSync(join(d, 'spec.json'), JSON.stringify({ eps: EPS, loss_scale: SCALE, cases }));
    const p = spawnSync(PY, [SCRIPT, d], { encoding: 'utf8', timeout: 120_000 });
    expect(p.status, p.stderr).toBe(0);
    return d;
  };
  const dirs = {
    poisson: run(
      positiveTargets,
      CASES.filter(([l]) => l === 'poisson'),
      'poisson',
    ),
    other: run(
      targets,
      CASES.filter(([l]) => l !== 'poisson'),
      'other',
    ),
  };

  it.each(CASES.flatMap(([l, o]) => (['js', 'wasm'] as KernelChoice[]).map((k) => [l, o, k] as const)))(
    '%s loss, %s output, %s kernel',
    (loss, output, kernel) => {
      const d = loss === 'poisson' ? dirs.poisson : dirs.other;
      const t = loss === 'poisson' ? positiveTargets : targets;
      const key = `${loss}_${output}`;
      const ref = (n: string) =>
        parseNumericNpy(new Uint8Array(readFileSync(join(d, `${key}_${n}.npy`)))).data as Float64Array;
      const gradFeatures = new Float32Array(N * C),
        gradBias = new Float32Array(N),
        gradPositions = new Float32Array(B * N * 2),
        predictions = new Float32Array(B * N);
      const value = readoutTrainStep(
        {
          height: H,
          width: W,
          channels: C,
          maps,
          neurons: N,
          features,
          bias,
          positions,
          targets: t,
          lossScale: SCALE,
          logEps: EPS,
          loss,
          output,
          gradFeatures,
          gradBias,
          gradPositions,
          predictions,
        },
        kernel,
      );
      const theirLoss = (JSON.parse(readFileSync(join(d, 'losses.json'), 'utf8')) as Record<string, number>)[key];
      const worst: string[] = [];
      const close = (name: string, ours: ArrayLike<number>, theirs: ArrayLike<number>) => {
        let m = 0;
        for (let i = 0; i < ours.length; i++) {
          const e = Math.abs(ours[i] - theirs[i]);
          expect(e, `${name}[${i}]: ours ${ours[i]}, torch ${theirs[i]}`).toBeLessThan(
            1e-5 + 1e-5 * Math.abs(theirs[i]),
          );
          m = Math.max(m, e);
        }
        worst.push(`${name} ${m.toExponential(1)}`);
      };
      close('loss', [value], [theirLoss]);
      close('predictions', predictions, ref('predictions'));
      close('grad features', gradFeatures, ref('grad_features'));
      close('grad bias', gradBias, ref('grad_bias'));
      close('grad positions', gradPositions, ref('grad_positions'));
      // the gradients must not be trivially zero for the comparison to mean anything
      expect(Math.max(...Array.from(gradBias, Math.abs))).toBeGreaterThan(1e-3);
      console.log(`${key} (${kernel}): max |ours - torch| ${worst.join(', ')}`);
    },
  );
});
