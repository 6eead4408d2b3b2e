import { describe, expect, it } from 'vitest';
import { type KernelChoice, readoutTrainStep } from '../../src/kernels/fused_readout';
import type { GaussType, TrainableReadout } from '../../src/model/readout_types';
import { initPositionNet } from '../../src/train/readout/position_net';
import { readoutParams } from '../../src/train/readout/readout_params';
import { evalPositions, predictBatch, readoutLossAndGrads, StepWorkspace } from '../../src/train/readout/readout_step';
import { Rng } from '../../src/util/rng';
import { nchwToMaps, npy, readoutFromStateDict, SOTA, SOTA_KEY, sotaStateDict } from '../train/helpers';

/** A small random readout problem. */
function problem(seed: number, gaussType: GaussType, withNet: boolean) {
  const rng = new Rng(seed);
  const H = 5,
    W = 7,
    C = 4,
    N = 4,
    B = 3;
  const maps = Array.from({ length: B }, () => Float32Array.from({ length: H * W * C }, () => rng.normal()));
  const sigmaN = gaussType === 'full' ? 4 : gaussType === 'uncorrelated' ? 2 : 1;
  const r: TrainableReadout = {
    kind: 'gaussian',
    gaussType,
    neurons: N,
    channels: C,
    features: Float32Array.from({ length: N * C }, () => rng.range(-0.6, 0.6)),
    bias: Float32Array.from({ length: N }, () => rng.range(-0.5, 0.5)),
    sigma: Float32Array.from({ length: N * sigmaN }, () => rng.range(-0.2, 0.2)),
    mu: withNet ? null : Float32Array.from({ length: 2 * N }, () => rng.range(-0.7, 0.7)),
    positionNet: withNet
      ? initPositionNet({ inputDimensions: 2, hiddenLayers: 1, hiddenFeatures: 4, finalTanh: true }, rng)
      : null,
    sourceGrid: withNet ? Float32Array.from({ length: 2 * N }, () => rng.range(-1, 1)) : null,
  };
  const targets = Float32Array.from({ length: B * N }, () => rng.poisson(1));
  const noise = Float32Array.from({ length: B * N * 2 }, () => rng.normal());
  return { r, maps, targets, noise, geometry: { height: H, width: W, channels: C } };
}

function lossOf(p: ReturnType<typeof problem>, params = readoutParams(p.r), kernel: KernelChoice = 'js') {
  const workspace = new StepWorkspace();
  const res = readoutLossAndGrads({
    readout: p.r,
    params,
    geometry: p.geometry,
    maps: p.maps,
    targets: p.targets,
    noise: p.noise,
    lossScale: 1.7,
    gammaReadout: 0.05,
    workspace,
    kernel,
  });
  return { ...res, workspace };
}

/**
 * Which linear piece of the loss we are on: the pixel cell of every sampled position, whether the clamp passes,
 * and the sign of every feature (|w|). Finite differences are only compared where this does not change.
 */
function piece(p: ReturnType<typeof problem>, ws: StepWorkspace): string {
  const { height: H, width: W } = p.geometry;
  const n = p.maps.length * p.r.neurons * 2;
  const parts: number[] = [];
  for (let i = 0; i < n; i += 2) {
    parts.push(
      Math.floor(((ws.positions[i] + 1) * (W - 1)) / 2),
      Math.floor(((ws.positions[i + 1] + 1) * (H - 1)) / 2),
      ws.inside[i],
      ws.inside[i + 1],
    );
  }
  for (const f of p.r.features) parts.push(Math.sign(f));
  return parts.join(',');
}

describe.each(['js', 'wasm'] as KernelChoice[])(
  'fused readout kernel (%s): gradients vs finite differences',
  (kernel) => {
    for (const gaussType of ['full', 'uncorrelated', 'isotropic'] as GaussType[]) {
      for (const withNet of [true, false]) {
        it(`${gaussType}, ${withNet ? 'position network' : 'free means'}`, () => {
          let checked = 0,
            skipped = 0;
          for (let seed = 1; seed <= 6; seed++) {
            const p = problem(seed * 7 + (withNet ? 1 : 0), gaussType, withNet);
            const params = readoutParams(p.r);
            const base = piece(p, lossOf(p, params, kernel).workspace);
            const grads = params.map((q) => Float64Array.from(q.grad));
            params.forEach((q, qi) => {
              for (let i = 0; i < q.value.length; i++) {
                const x0 = q.value[i];
                const h = 1e-3;
                q.value[i] = x0 + h;
                const up = lossOf(p);
                const upPiece = piece(p, up.workspace);
                q.value[i] = x0 - h;
                const down = lossOf(p);
                const downPiece = piece(p, down.workspace);
                q.value[i] = x0;
                // bilinear interpolation, the clamp and |w| have kinks: compare only within one smooth piece
                if (upPiece !== base || downPiece !== base) {
                  skipped++;
                  continue;
                }
                const numeric = (up.loss - down.loss) / (2 * h);
                const g = grads[qi][i];
                expect(Math.abs(g - numeric), `${q.name}[${i}] analytic ${g} vs numeric ${numeric}`).toBeLessThan(
                  2e-3 * (1 + Math.abs(numeric)),
                );
                checked++;
              }
            });
          }
          expect(checked).toBeGreaterThan(100);
          expect(skipped).toBeLessThan(checked);
        });
      }
    }
  },
);

describe('gradient with respect to the feature maps (for training through the core)', () => {
  it.each(['js', 'wasm'] as KernelChoice[])('matches finite differences (%s kernel)', (kernel) => {
    const rng = new Rng(3);
    const H = 4,
      W = 6,
      C = 4,
      N = 5,
      B = 2;
    const maps = Array.from({ length: B }, () => Float32Array.from({ length: H * W * C }, () => rng.normal()));
    const features = Float32Array.from({ length: N * C }, () => rng.range(-0.5, 0.5));
    const bias = Float32Array.from({ length: N }, () => rng.range(-0.3, 0.3));
    // one neuron exactly on the right border (zero-padded corners), the rest inside
    const positions = Float32Array.from({ length: B * N * 2 }, (_, i) => (i === 0 ? 1 : rng.range(-0.9, 0.9)));
    const targets = Float32Array.from({ length: B * N }, () => rng.poisson(1));
    const run = (gradMaps?: Float32Array[]) =>
      readoutTrainStep(
        {
          height: H,
          width: W,
          channels: C,
          maps,
          neurons: N,
          features,
          bias,
          positions,
          targets,
          lossScale: 1.3,
          logEps: 1e-8,
          gradFeatures: new Float32Array(N * C),
          gradBias: new Float32Array(N),
          gradPositions: new Float32Array(B * N * 2),
          gradMaps,
        },
        kernel,
      );
    const gradMaps = maps.map((m) => new Float32Array(m.length));
    run(gradMaps);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < maps[b].length; i++) {
        const x0 = maps[b][i],
          h = 1e-3;
        maps[b][i] = x0 + h;
        const up = run();
        maps[b][i] = x0 - h;
        const down = run();
        maps[b][i] = x0;
        const numeric = ((up - down) / (2 * h)) * 1.3;
        expect(Math.abs(gradMaps[b][i] - numeric), `map ${b}[${i}]`).toBeLessThan(2e-3 * (1 + Math.abs(numeric)));
      }
    }
  });
});

describe('fused readout kernel vs the sensorium-sota fixture (neuralpredictors outputs)', async () => {
  const sd = await sotaStateDict();
  const r = readoutFromStateDict(sd, SOTA_KEY);
  const core = npy(`${SOTA}/core_output.npy`); // (2, 64, 28, 56)
  const maps = nchwToMaps(core);
  const geometry = { height: core.shape[2], width: core.shape[3], channels: core.shape[1] };
  const N = r.neurons;

  it.each(['js', 'wasm'] as KernelChoice[])('eval grid and responses[0:2] (%s kernel)', (kernel) => {
    const grid = npy(`${SOTA}/grid.npy`).data as Float32Array;
    const pos = evalPositions(r);
    for (let i = 0; i < grid.length; i++) expect(Math.abs(pos[i] - grid[i])).toBeLessThanOrEqual(1e-6);
    const out = new Float32Array(2 * N);
    predictBatch(r, pos, geometry, maps, out, kernel);
    const ref = npy(`${SOTA}/responses.npy`).data as Float32Array;
    for (let i = 0; i < 2 * N; i++)
      expect(Math.abs(out[i] - ref[i])).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(ref[i]));
  });

  it.each(['js', 'wasm'] as KernelChoice[])(
    'sampled_grid and sampled_responses with the fixture noise (training path, %s kernel)',
    (kernel) => {
      const noise = npy(`${SOTA}/noise.npy`).data as Float32Array; // (2, N, 1, 2)
      const params = readoutParams(r);
      const ws = new StepWorkspace();
      const targets = new Float32Array(2 * N);
      readoutLossAndGrads({
        readout: r,
        params,
        geometry,
        maps,
        targets,
        noise,
        lossScale: 1,
        gammaReadout: 0,
        workspace: ws,
      });
      const sg = npy(`${SOTA}/sampled_grid.npy`).data as Float32Array;
      for (let i = 0; i < sg.length; i++) expect(Math.abs(ws.positions[i] - sg[i])).toBeLessThanOrEqual(1e-6);
      // the training kernel's predictions at the sampled positions
      const pred = new Float32Array(2 * N);
      readoutTrainStep(
        {
          ...geometry,
          maps,
          neurons: N,
          features: r.features,
          bias: r.bias,
          positions: ws.positions.subarray(0, 4 * N),
          targets,
          lossScale: 1,
          logEps: 1e-12,
          gradFeatures: new Float32Array(N * r.channels),
          gradBias: new Float32Array(N),
          gradPositions: new Float32Array(4 * N),
          predictions: pred,
        },
        kernel,
      );
      const ref = npy(`${SOTA}/sampled_responses.npy`).data as Float32Array;
      let worst = 0;
      for (let i = 0; i < ref.length; i++)
        worst = Math.max(worst, Math.abs(pred[i] - ref[i]) - (1e-4 + 1e-4 * Math.abs(ref[i])));
      expect(worst).toBeLessThanOrEqual(0);
    },
  );
});
