/**
 * The factorized readout's training step on cached core outputs (a frozen core; issue 12), ours against
 * neuralpredictors' FullFactorized2d in PyTorch on the same tensor shapes, in one run:
 *
 *   ours, per option (images/s of a training step: forward, Poisson, backward to spatial/features/bias, host Adam;
 *   maps decoded from a float16 feature cache as the trainer reads them):
 *     wasm        the fused kernel, generated WebAssembly SIMD GEMMs (f32x4 mul + add), src/kernels/factorized_readout.ts
 *     wasm-relaxed the same with relaxed-SIMD fused multiply-add (only where the engine has it: Node >= 22, or
 *                 `node --experimental-wasm-relaxed-simd`; browsers since 2023)
 *     js          the same kernel's plain-loop fallback
 *     tfjs-wasm   our tfjs model (src/model/factorized_readout.ts) with tf.variableGrads on tfjs-backend-wasm,
 *                 i.e. tf.matMul on XNNPACK, plus the raw pair of matMuls alone (no autodiff, no ELU/loss)
 *   PyTorch: bench/factorized_torch.py (neuralpredictors' own class, forward + backward + Adam, batch 64).
 *
 * Usage: node --import tsx bench/factorized.ts [--neurons 7776,1000] [--batch 64] [--neuralpredictors DIR]
 *        [--options wasm,js,tfjs] [--torch-threads 1,2] [--passes 1,2,4] [--tiles 4x2u4,...]
 * --neuralpredictors: a folder holding the neuralpredictors package (default: the vendored third_party/neuralpredictors).
 * npm run bench runs this with --neurons 7776 --options wasm --torch-threads 1,2 and reports its JSON line.
 * Prints one line per measurement and a JSON line at the end. Single-threaded on our side. Each measurement is
 * given as wall-clock images/s and as images per CPU-second (process CPU time), which on a loaded machine is the
 * fairer measure (the same for PyTorch with 1 thread).
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node';
import { type FactorizedTrainArgs, FusedFactorizedReadout } from '../src/kernels/factorized_readout';
import { relaxedSimdAvailable } from '../src/kernels/wasm/factorized_kernel';
import { FullFactorized2d } from '../src/model/factorized_readout';
import { Adam } from '../src/train/optim/adam';
import { FeatureCache } from '../src/train/readout/feature_cache';
import { Rng } from '../src/util/rng';
import { NEURALPREDICTORS, TORCH_PYTHON } from '../test/fixtures/paths';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const NEURONS = arg('neurons', '7776,1000').split(',').map(Number);
const BATCH = Number(arg('batch', '64'));
const OPTIONS = arg('options', 'wasm,js,tfjs').split(',');
const PASSES = arg('passes', '1').split(',').map(Number);
const TILES = arg('tiles', '')
  .split(',')
  .filter(Boolean)
  .map((t) => {
    const m = /^(\d+)x(\d+)u(\d+)$/.exec(t)!;
    return { mr: +m[1], nv: +m[2], unroll: +m[3] };
  });
const NP = arg('neuralpredictors', NEURALPREDICTORS);
const TORCH_THREADS = arg('torch-threads', '1,2');
const [C, H, W] = [64, 28, 56];
const HW = H * W;
const log = (s: string): void => {
  console.error(s);
};

interface Result {
  option: string;
  neurons: number;
  img_per_s: number;
  img_per_cpu_s: number;
  images: number;
  note?: string;
}

/** Wall-clock and CPU seconds of f (process CPU time: our side is single-threaded). */
function timed(f: () => void): { wall: number; cpu: number } {
  const t0 = performance.now(),
    c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}
const results: Result[] = [];

function problem(N: number, B: number) {
  const rng = new Rng(N);
  const cache = new FeatureCache(
    { height: H, width: W, channels: C },
    'float16',
    Int32Array.from({ length: B }, (_, i) => i),
    B,
    B,
  );
  for (let b = 0; b < B; b++)
    cache.store(
      b,
      Float32Array.from({ length: HW * C }, () => {
        const v = rng.normal();
        return v > 0 ? v : Math.expm1(v);
      }),
    );
  return {
    cache,
    spatial: Float32Array.from({ length: N * HW }, () => rng.normal() * 1e-3),
    features: Float32Array.from({ length: N * C }, () => rng.normal() * 1e-3),
    bias: Float32Array.from({ length: N }, () => 1),
    targets: Float32Array.from({ length: B * N }, () => rng.poisson(1.2)),
  };
}

/** Our fused kernel: `images` images as steps of up to BATCH, with the float16 decode and host Adam; images/s. */
function timeKernel(
  N: number,
  kernel: 'wasm' | 'js',
  images: number,
  opts: { relaxed: boolean; imagesPerPass: number; tile?: { mr: number; nv: number; unroll: number } },
): { perS: number; perCpuS: number; path: string } {
  const B = Math.min(BATCH, images);
  const p = problem(N, B);
  const k = new FusedFactorizedReadout({ height: H, width: W, channels: C }, N, kernel, {
    relaxed: opts.relaxed,
    imagesPerPass: opts.imagesPerPass,
    tile: opts.tile,
  });
  const params = [
    { name: '_features', value: p.features, grad: new Float32Array(N * C) },
    { name: 'spatial', value: p.spatial, grad: new Float32Array(N * HW) },
    { name: 'bias', value: p.bias, grad: new Float32Array(N) },
  ];
  const adam = new Adam(params, { lr: 0.005 });
  const scratch = Array.from({ length: B }, () => new Float32Array(HW * C));
  const step = (n: number): void => {
    for (const q of params) q.grad.fill(0);
    const maps = Array.from({ length: n }, (_, i) => p.cache.map(i, scratch[i]));
    const a: FactorizedTrainArgs = {
      height: H,
      width: W,
      channels: C,
      neurons: N,
      maps,
      spatial: p.spatial,
      features: p.features,
      bias: p.bias,
      mask: { normalize: true, constrainPos: false, positiveSpatial: false },
      targets: p.targets.subarray(0, n * N),
      lossScale: Math.sqrt(5500 / BATCH),
      logEps: 1e-8,
      gradSpatial: params[1].grad,
      gradFeatures: params[0].grad,
      gradBias: params[2].grad,
      regWeight: 0.0076,
    };
    k.trainStep(a);
    adam.update();
  };
  step(Math.min(2, B)); // compiles, and lets the engine tier the GEMMs up
  step(Math.min(2, B));
  const t = timed(() => {
    let done = 0;
    while (done < images) {
      const n = Math.min(B, images - done);
      step(n);
      done += n;
    }
  });
  return { perS: images / t.wall, perCpuS: images / t.cpu, path: k.path };
}

/** tfjs on the wasm backend: our model's forward + variableGrads (matMul on XNNPACK), and the two matMuls alone. */
async function timeTfjs(
  N: number,
  B: number,
): Promise<{ step: number; stepCpu: number; matmul: number; matmulCpu: number }> {
  await initNodeBackend('wasm');
  const p = problem(N, B);
  const r = new FullFactorized2d({
    neurons: N,
    channels: C,
    height: H,
    width: W,
    spatial: p.spatial,
    features: p.features,
    bias: p.bias,
    options: { regWeight: 0.0076 },
  });
  const scratch = new Float32Array(HW * C);
  const flat = new Float32Array(B * HW * C);
  const t = tf.tensor2d(p.targets, [B, N]);
  const opt = tf.train.adam(0.005);
  const step = (n: number): void => {
    for (let i = 0; i < n; i++) flat.set(p.cache.map(i, scratch), i * HW * C);
    tf.tidy(() => {
      const x = tf.tensor4d(flat.subarray(0, n * HW * C), [n, H, W, C]);
      const tt = t.slice([0, 0], [n, N]);
      opt.minimize(
        () => {
          const resp = tf.elu(r.forward(x)).add(1);
          return resp
            .sub(tt.mul(resp.add(1e-8).log()))
            .sum()
            .mul(Math.sqrt(5500 / BATCH))
            .add(r.regularizer()) as tf.Scalar;
        },
        false,
        r.variables(),
      );
    });
  };
  step(2);
  const ts = timed(() => step(B));
  // the two GEMMs of a step alone, for B images: (N, HW) x (HW, B C) and (N, B C) x (B C, HW)
  const m = tf.randomNormal([N, HW]),
    x = tf.randomNormal([HW, B * C]),
    g = tf.randomNormal([N, B * C]),
    xt = tf.randomNormal([B * C, HW]);
  tf.tidy(() => {
    tf.matMul(m, x.slice([0, 0], [HW, 2 * C])).dataSync();
  });
  const tm = timed(() =>
    tf.tidy(() => {
      tf.matMul(m, x).dataSync();
      tf.matMul(g, xt).dataSync();
    }),
  );
  tf.dispose([m, x, g, xt, t]);
  opt.dispose();
  r.dispose();
  return { step: B / ts.wall, stepCpu: B / ts.cpu, matmul: B / tm.wall, matmulCpu: B / tm.cpu };
}

function torchSide(): unknown {
  if (!existsSync(`${NP}/neuralpredictors`)) {
    log(`PyTorch: skipped (no neuralpredictors package in ${NP})`);
    return null;
  }
  const python = TORCH_PYTHON;
  if (!existsSync(python)) {
    log(`PyTorch: skipped (${python} not found; bash scripts/setup_torch.sh makes it)`);
    return null;
  }
  const script = fileURLToPath(new URL('./factorized_torch.py', import.meta.url));
  const r = spawnSync(
    python,
    [
      script,
      '--neuralpredictors',
      NP,
      '--neurons',
      NEURONS.join(','),
      '--batch',
      String(BATCH),
      '--threads',
      TORCH_THREADS,
    ],
    { encoding: 'utf8', timeout: 1_800_000, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (r.status !== 0) {
    log(`PyTorch: factorized_torch.py failed (exit ${r.status})`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

async function main(): Promise<void> {
  log(
    `factorized readout training step, cached ${H}x${W}x${C} maps (float16 cache), batch ${BATCH}; load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}; relaxed SIMD ${relaxedSimdAvailable() ? 'available' : 'not available'}`,
  );
  for (const N of NEURONS) {
    const big = N * HW * C > 2e8;
    if (OPTIONS.includes('wasm')) {
      for (const tile of TILES.length ? TILES : [undefined]) {
        for (const pass of PASSES) {
          for (const relaxed of relaxedSimdAvailable() ? [false, true] : [false]) {
            const images = big ? BATCH : 4 * BATCH;
            const r = timeKernel(N, 'wasm', images, { relaxed, imagesPerPass: pass, tile });
            const note = `${pass} image(s) per pass${tile ? `, tile ${tile.mr}x${tile.nv}u${tile.unroll}` : ''}`;
            results.push({ option: r.path, neurons: N, img_per_s: r.perS, img_per_cpu_s: r.perCpuS, images, note });
            log(
              `ours ${r.path.padEnd(12)} ${N} neurons: ${r.perS.toFixed(1)} images/s wall, ${r.perCpuS.toFixed(1)} per CPU-second (${note}, ${images} images)`,
            );
          }
        }
      }
    }
    if (OPTIONS.includes('js')) {
      const images = big ? 2 : 8;
      const r = timeKernel(N, 'js', images, { relaxed: false, imagesPerPass: 1 });
      results.push({ option: 'js', neurons: N, img_per_s: r.perS, img_per_cpu_s: r.perCpuS, images });
      log(
        `ours js           ${N} neurons: ${r.perS.toFixed(2)} images/s wall, ${r.perCpuS.toFixed(2)} per CPU-second (${images} images)`,
      );
    }
    if (OPTIONS.includes('tfjs')) {
      const B = big ? 16 : BATCH;
      const r = await timeTfjs(N, B);
      results.push({ option: 'tfjs-wasm step', neurons: N, img_per_s: r.step, img_per_cpu_s: r.stepCpu, images: B });
      results.push({
        option: 'tfjs-wasm matMul pair',
        neurons: N,
        img_per_s: r.matmul,
        img_per_cpu_s: r.matmulCpu,
        images: B,
      });
      log(
        `tfjs-wasm (XNNPACK) ${N} neurons: step ${r.step.toFixed(2)} images/s wall (${r.stepCpu.toFixed(2)} per CPU-second), the two matMuls alone ${r.matmul.toFixed(2)} (${r.matmulCpu.toFixed(2)}) (batch ${B})`,
      );
    }
  }
  const torch = torchSide();
  console.log(JSON.stringify({ shape: [C, H, W], batch: BATCH, load: loadavg(), ours: results, pytorch: torch }));
}

await main();
