/**
 * The fused factorized-readout kernel (src/kernels/factorized_readout.ts) on its WebAssembly SIMD path (mul + add;
 * relaxed-SIMD fused multiply-add when the engine has it) and its plain-loop path:
 * - against neuralpredictors' FullFactorized2d itself (test/fixtures/factorized): Poisson loss, predictions, the
 *   gradients w.r.t. spatial, features, bias and the input map, the regularizer and its gradients, every case,
 *   within 1e-4 + 1e-4 |ref|;
 * - against our tfjs model's autograd (src/model/factorized_readout.ts) on shapes that exercise the padding (N, C,
 *   h*w not multiples of the micro-kernel's tile), several images per GEMM pass, a loss scale and the regularizer;
 * - on maps read back from a float16 feature cache (the training default): the same as the tfjs model on the
 *   same decoded values, and within float16's rounding of the float32 result;
 * and no tfjs tensor is left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import {
  type FactorizedTrainArgs,
  FusedFactorizedReadout,
  factorizedRegularizer,
  type MaskOptions,
} from '../../src/kernels/factorized_readout';
import type { KernelChoice } from '../../src/kernels/fused_readout';
import { relaxedSimdAvailable } from '../../src/kernels/wasm/factorized_kernel';
import { FullFactorized2d } from '../../src/model/factorized_readout';
import { FACTORIZED_DEFAULT_L1_FORM, type FactorizedL1Form } from '../../src/model/readout_types';
import { variableFrom } from '../../src/model/variables';
import { FeatureCache } from '../../src/train/readout/feature_cache';
import { Rng } from '../../src/util/rng';
import { FACTORIZED_CASES, loadFactorizedCase, nchwToNhwcArray } from '../model/factorized_fixture';
import { expectClose } from '../model/fixture';

const ATOL = 1e-4,
  RTOL = 1e-4;

interface Problem {
  H: number;
  W: number;
  C: number;
  N: number;
  B: number;
  maps: Float32Array[];
  spatial: Float32Array;
  features: Float32Array;
  bias: Float32Array | null;
  targets: Float32Array;
  mask: MaskOptions;
  eluOffset: number;
}

function randomProblem(
  seed: number,
  H: number,
  W: number,
  C: number,
  N: number,
  B: number,
  mask: MaskOptions,
  withBias = true,
): Problem {
  const rng = new Rng(seed);
  const maps = Array.from({ length: B }, () =>
    Float32Array.from({ length: H * W * C }, () => {
      const v = rng.normal();
      return v > 0 ? v : Math.expm1(v);
    }),
  );
  const spatial = Float32Array.from(
    { length: N * H * W },
    () => rng.normal() * (mask.normalize ? 1 : 1 / Math.sqrt(H * W)),
  );
  const features = Float32Array.from({ length: N * C }, () => rng.normal() * 0.4);
  const bias = withBias ? Float32Array.from({ length: N }, () => rng.normal() * 0.5) : null;
  const targets = Float32Array.from({ length: B * N }, () => rng.poisson(1.2));
  return { H, W, C, N, B, maps, spatial, features, bias, targets, mask, eluOffset: withBias ? 0 : -0.3 };
}

interface KernelResult {
  poisson: number;
  regularizer: number;
  predictions: Float32Array;
  gradSpatial: Float32Array;
  gradFeatures: Float32Array;
  gradBias: Float32Array | null;
  gradMaps: Float32Array[];
  spatial: Float32Array;
  features: Float32Array;
}

function runKernel(
  p: Problem,
  kernel: KernelChoice,
  opts: {
    lossScale?: number;
    regWeight?: number;
    regReduction?: 'sum' | 'mean';
    regForm?: FactorizedL1Form;
    imagesPerPass?: number;
    relaxed?: boolean;
    maps?: Float32Array[];
  } = {},
): KernelResult & { path: string } {
  const { H, W, C, N, B } = p;
  const k = new FusedFactorizedReadout({ height: H, width: W, channels: C }, N, kernel, {
    imagesPerPass: opts.imagesPerPass,
    relaxed: opts.relaxed,
  });
  const spatial = p.spatial.slice(),
    features = p.features.slice(); // the step may clamp them in place
  const out: KernelResult = {
    poisson: 0,
    regularizer: 0,
    predictions: new Float32Array(B * N),
    gradSpatial: new Float32Array(N * H * W),
    gradFeatures: new Float32Array(N * C),
    gradBias: p.bias ? new Float32Array(N) : null,
    gradMaps: Array.from({ length: B }, () => new Float32Array(H * W * C)),
    spatial,
    features,
  };
  const args: FactorizedTrainArgs = {
    height: H,
    width: W,
    channels: C,
    neurons: N,
    maps: opts.maps ?? p.maps,
    spatial,
    features,
    bias: p.bias,
    mask: p.mask,
    eluOffset: p.eluOffset,
    targets: p.targets,
    lossScale: opts.lossScale ?? 1,
    logEps: 1e-8,
    gradSpatial: out.gradSpatial,
    gradFeatures: out.gradFeatures,
    gradBias: out.gradBias,
    predictions: out.predictions,
    gradMaps: out.gradMaps,
    regWeight: opts.regWeight,
    regReduction: opts.regReduction,
    regForm: opts.regForm,
  };
  const r = k.trainStep(args);
  out.poisson = r.poisson;
  out.regularizer = r.regularizer;
  // eval-mode predictions agree with the training step's
  const pred = new Float32Array(B * N);
  k.predict({ ...args, out: pred });
  expectClose('predict vs trainStep predictions', pred, out.predictions, 1e-6, 1e-6);
  return { ...out, path: k.path };
}

/** Our tfjs model's loss (lossScale * Poisson + regWeight * regularizer) and autograd gradients. */
async function tfjsReference(
  p: Problem,
  lossScale: number,
  regWeight: number,
  reduction: 'sum' | 'mean',
  maps = p.maps,
  l1Form: FactorizedL1Form = FACTORIZED_DEFAULT_L1_FORM,
) {
  const { H, W, C, N, B } = p;
  const before = tf.memory().numTensors;
  const r = new FullFactorized2d({
    neurons: N,
    channels: C,
    height: H,
    width: W,
    spatial: p.spatial,
    features: p.features,
    bias: p.bias,
    options: { ...p.mask, positiveWeights: false, regWeight: 1, l1Form },
  });
  const flat = new Float32Array(B * H * W * C);
  maps.forEach((m, b) => flat.set(m, b * H * W * C));
  const x = variableFrom(tf.tensor4d(flat, [B, H, W, C]), true);
  const t = tf.tensor2d(p.targets, [B, N]);
  let poisson = 0,
    reg = 0;
  const { value, grads } = tf.variableGrads(() => {
    const resp = tf.elu(r.forward(x).add(p.eluOffset)).add(1);
    const pl = resp.sub(t.mul(resp.add(1e-8).log())).sum() as tf.Scalar;
    const rg = r.regularizer(reduction);
    poisson = pl.dataSync()[0];
    reg = rg.dataSync()[0];
    return pl.mul(lossScale).add(rg.mul(regWeight)) as tf.Scalar;
  }, [...r.variables(), x]);
  const res = {
    poisson,
    reg,
    gradSpatial: (await grads[r.spatial.name].data()) as Float32Array,
    gradFeatures: (await grads[r.features.name].data()) as Float32Array,
    gradBias: r.bias ? ((await grads[r.bias.name].data()) as Float32Array) : null,
    gradMaps: (await grads[x.name].data()) as Float32Array,
  };
  tf.dispose([value, ...Object.values(grads), x, t]);
  r.dispose();
  expect(tf.memory().numTensors, 'tfjs reference left tensors behind').toBe(before);
  return res;
}

function concat(a: Float32Array[]): Float32Array {
  const out = new Float32Array(a.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of a) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

const KERNELS: Array<{ kernel: KernelChoice; relaxed: boolean; label: string }> = [
  { kernel: 'wasm', relaxed: false, label: 'wasm SIMD (mul + add)' },
  ...(relaxedSimdAvailable()
    ? [{ kernel: 'wasm' as KernelChoice, relaxed: true, label: 'wasm relaxed SIMD (fused multiply-add)' }]
    : []),
  { kernel: 'js', relaxed: false, label: 'plain loops' },
];

beforeAll(async () => {
  await initNodeBackend('cpu');
});

describe.each(KERNELS)('factorized readout kernel, $label', ({ kernel, relaxed }) => {
  for (const name of FACTORIZED_CASES) {
    it(`${name}: loss, predictions, gradients and regularizer vs neuralpredictors within 1e-4 + 1e-4|ref|`, async () => {
      const fx = await loadFactorizedCase(name);
      const { batch: B, channels: C, height: H, width: W, neurons: N } = fx.meta.shape;
      const input = fx.inputNHWC();
      const p: Problem = {
        H,
        W,
        C,
        N,
        B,
        maps: Array.from({ length: B }, (_, b) => input.slice(b * H * W * C, (b + 1) * H * W * C)),
        spatial: fx.init.spatial,
        features: fx.init.features,
        bias: fx.init.bias,
        targets: fx.npy('targets.npy').data,
        mask: {
          normalize: fx.options.normalize,
          constrainPos: fx.options.constrainPos,
          positiveSpatial: fx.options.positiveSpatial,
        },
        eluOffset: fx.meta.elu_offset,
      };
      const errs: string[] = [];
      const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>): void => {
        errs.push(`${what} ${expectClose(`${name} ${what}`, a, b, ATOL, RTOL).toExponential(1)}`);
      };
      const k = runKernel(p, kernel, { relaxed });
      expect(k.path).toBe(kernel === 'js' ? 'js' : relaxed ? 'wasm-relaxed' : 'wasm');
      close('loss', [k.poisson], [fx.meta.loss]);
      close('predictions', k.predictions, fx.npy('responses.npy').data);
      close('grad spatial', k.gradSpatial, fx.npy('grad_spatial.npy').data);
      close('grad features', k.gradFeatures, fx.npy('grad_features.npy').data);
      if (k.gradBias) close('grad bias', k.gradBias, fx.npy('grad_bias.npy').data);
      close('grad input', concat(k.gradMaps), nchwToNhwcArray(fx.npy('grad_input.npy').data, B, C, H, W));
      if (fx.has('spatial_after.npy')) {
        close('spatial after', k.spatial, fx.npy('spatial_after.npy').data);
        close('features after', k.features, fx.npy('features_after.npy').data);
      }
      // the regularizer on the state after the forward pass, as the fixture computed it
      const gs = new Float32Array(N * H * W),
        gf = new Float32Array(N * C);
      const regArgs = {
        spatial: k.spatial,
        features: k.features,
        neurons: N,
        channels: C,
        height: H,
        width: W,
        mask: p.mask,
        weight: fx.meta.spatial_and_feature_reg_weight,
        form: 'neuralpredictors' as const,
      };
      const reg = factorizedRegularizer({ ...regArgs, gradSpatial: gs, gradFeatures: gf });
      close('regularizer', [reg], [fx.meta.regularizer]);
      close('regularizer mean', [factorizedRegularizer({ ...regArgs, reduction: 'mean' })], [fx.meta.regularizer_mean]);
      // the per-neuron form, which the fixture's generator computed (weighted) for contrast
      close(
        'regularizer, per-neuron form',
        [factorizedRegularizer({ ...regArgs, form: 'per_neuron' })],
        [fx.meta.regularizer_per_neuron_form],
      );
      close('reg grad spatial', gs, fx.npy('reg_grad_spatial.npy').data);
      close('reg grad features', gf, fx.npy('reg_grad_features.npy').data);
      // and inside the step: gradients = Poisson's + the regularizer's
      const kr = runKernel({ ...p, spatial: k.spatial, features: k.features }, kernel, {
        relaxed,
        regWeight: fx.meta.spatial_and_feature_reg_weight,
        regForm: 'neuralpredictors',
      });
      close('step regularizer', [kr.regularizer], [fx.meta.regularizer]);
      const sum = (a: Float32Array, b: Float32Array): Float32Array => a.map((v, i) => v + b[i]);
      close(
        'step grad spatial + reg',
        kr.gradSpatial,
        sum(fx.npy('grad_spatial.npy').data, fx.npy('reg_grad_spatial.npy').data),
      );
      close(
        'step grad features + reg',
        kr.gradFeatures,
        sum(fx.npy('grad_features.npy').data, fx.npy('reg_grad_features.npy').data),
      );
      console.log(`[${kernel}${relaxed ? ' relaxed' : ''}] ${name} max abs errors: ${errs.join(', ')}`);
    });
  }

  const shapes: Array<[string, number, number, number, number, number, MaskOptions, number]> = [
    // label, H, W, C, N, B, mask options, images per pass
    [
      'padding everywhere, normalize',
      5,
      7,
      6,
      13,
      7,
      { normalize: true, constrainPos: false, positiveSpatial: false },
      3,
    ],
    [
      'padding, no normalize, positive spatial',
      3,
      5,
      10,
      9,
      4,
      { normalize: false, constrainPos: false, positiveSpatial: true },
      1,
    ],
    [
      'constrain_pos, normalize, 2 per pass',
      6,
      6,
      8,
      12,
      5,
      { normalize: true, constrainPos: true, positiveSpatial: false },
      2,
    ],
    ['no bias, elu offset', 4, 8, 16, 8, 3, { normalize: true, constrainPos: false, positiveSpatial: false }, 4],
  ];
  for (const [label, H, W, C, N, B, mask, k] of shapes) {
    it(`vs tfjs autograd: ${label} (${H}x${W}x${C}, N=${N}, B=${B}, ${k} image(s) per pass, loss scale 2.5, regularizer 0.01)`, async () => {
      const p = randomProblem(H * 1000 + N, H, W, C, N, B, mask, !label.startsWith('no bias'));
      const before = tf.memory().numTensors;
      const combos = [
        ['sum', 'per_neuron'],
        ['mean', 'per_neuron'],
        ['sum', 'neuralpredictors'],
        ['mean', 'neuralpredictors'],
      ] as const;
      for (const [reduction, regForm] of combos) {
        const ref = await tfjsReference(p, 2.5, reduction === 'sum' ? 0.01 : 3, reduction, p.maps, regForm);
        const got = runKernel(p, kernel, {
          lossScale: 2.5,
          regWeight: reduction === 'sum' ? 0.01 : 3,
          regReduction: reduction,
          regForm,
          imagesPerPass: k,
          relaxed,
        });
        expectClose('poisson', [got.poisson], [ref.poisson], ATOL, RTOL);
        expectClose('regularizer', [got.regularizer], [reduction === 'sum' ? ref.reg * 0.01 : ref.reg * 3], ATOL, RTOL);
        expectClose('grad spatial', got.gradSpatial, ref.gradSpatial, ATOL, RTOL);
        expectClose('grad features', got.gradFeatures, ref.gradFeatures, ATOL, RTOL);
        if (p.bias) expectClose('grad bias', got.gradBias!, ref.gradBias!, ATOL, RTOL);
        expectClose('grad maps', concat(got.gradMaps), ref.gradMaps, ATOL, RTOL);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('float16 feature cache: maps decoded per image give what the tfjs model gives on the same values', async () => {
    const H = 7,
      W = 9,
      C = 12,
      N = 10,
      B = 6;
    const p = randomProblem(77, H, W, C, N, B, { normalize: true, constrainPos: false, positiveSpatial: false });
    const cache = new FeatureCache(
      { height: H, width: W, channels: C },
      'float16',
      Int32Array.from({ length: B }, (_, i) => i),
      B,
      4,
    );
    p.maps.forEach((m, i) => cache.store(i, m));
    const scratch = Array.from({ length: B }, () => new Float32Array(cache.mapSize));
    const maps16 = Array.from({ length: B }, (_, i) => cache.map(i, scratch[i]));
    expect(maps16[0]).toBe(scratch[0]); // decoded into the caller's scratch, as the trainer does
    const got = runKernel(p, kernel, { lossScale: 1.5, maps: maps16, relaxed });
    const ref = await tfjsReference(p, 1.5, 0, 'sum', maps16);
    expectClose('poisson (float16 maps)', [got.poisson], [ref.poisson], ATOL, RTOL);
    expectClose('grad spatial (float16 maps)', got.gradSpatial, ref.gradSpatial, ATOL, RTOL);
    expectClose('grad features (float16 maps)', got.gradFeatures, ref.gradFeatures, ATOL, RTOL);
    // against the float32 maps: within float16's rounding (relative 2^-11 per value)
    const full = runKernel(p, kernel, { lossScale: 1.5, relaxed });
    expectClose('poisson float16 vs float32', [got.poisson], [full.poisson], 0, 2e-3);
    expectClose('predictions float16 vs float32', got.predictions, full.predictions, 2e-3, 2e-3);
  });
});

describe('factorized readout kernel: shapes and errors', () => {
  it('refuses mismatched arrays and reports its path', () => {
    const k = new FusedFactorizedReadout({ height: 2, width: 3, channels: 4 }, 5, 'auto', { relaxed: false });
    expect(['wasm', 'js']).toContain(k.path);
    expect(k.bytes).toBeGreaterThan(0);
    const base = {
      height: 2,
      width: 3,
      channels: 4,
      neurons: 5,
      maps: [new Float32Array(24)],
      spatial: new Float32Array(30),
      features: new Float32Array(20),
      bias: new Float32Array(5),
      mask: { normalize: true, constrainPos: false, positiveSpatial: false },
      targets: new Float32Array(5),
      lossScale: 1,
      logEps: 1e-8,
      gradSpatial: new Float32Array(30),
      gradFeatures: new Float32Array(20),
      gradBias: new Float32Array(5),
    };
    expect(() => k.trainStep({ ...base, spatial: new Float32Array(29) })).toThrow(/spatial: expected 30 values/);
    expect(() => k.trainStep({ ...base, channels: 3 })).toThrow(/made for 2x3x4 maps/);
    expect(() => k.trainStep({ ...base, gradBias: null })).toThrow(/gradBias/);
    expect(() => k.trainStep({ ...base, maps: [new Float32Array(23)] })).toThrow(/feature map 0/);
    expect(() => k.trainStep(base)).not.toThrow();
  });
});
