/**
 * The WGSL readout kernels (src/kernels/webgpu) against the WebAssembly path on the same inputs, in the page under
 * SwiftShader (window.__v1x.webgpuKernels runs both; compared here), and a short fine-tune with the readout forced
 * onto WebGPU (?readoutEngine=webgpu: on SwiftShader the page would keep WASM).
 *
 * Tolerances, with ref the WebAssembly value and max|ref| the largest magnitude of that output:
 * - forward values (predictions, the summed loss): |gpu - ref| <= 1e-4 + 1e-4 |ref|
 * - gradients (sums over images, corners, channels or mask pixels, in another order): |gpu - ref| <=
 *   1e-4 max|ref| + 1e-3 |ref|
 * - Adam values after 3 steps: |gpu - ref| <= 1e-6 + 1e-5 |ref|
 * Inputs are made here from a seeded generator; sizes are tiny (SwiftShader runs WGSL on the CPU). One timing of
 * a small step on each engine is logged for the record (SwiftShader, not a GPU; not asserted).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uniform = (r, n, lo, hi) => Array.from({ length: n }, () => lo + (hi - lo) * r());
const counts = (r, n) => Array.from({ length: n }, () => Math.floor(r() * 4));

/** Compares every output; returns the worst |gpu - ref| / allowed per output (<= 1 passes) and the max error. */
function compare(what, gpu, ref, kindOf) {
  const report = {};
  for (const key of Object.keys(ref)) {
    const a = [gpu[key]].flat(),
      b = [ref[key]].flat();
    assert.equal(a.length, b.length, `${what} ${key}: ${a.length} values, expected ${b.length}`);
    const scale = Math.max(...b.map(Math.abs));
    const kind = kindOf(key);
    let worst = 0,
      maxErr = 0,
      at = -1;
    for (let i = 0; i < b.length; i++) {
      assert.ok(Number.isFinite(a[i]), `${what} ${key}[${i}] is ${a[i]}`);
      const err = Math.abs(a[i] - b[i]);
      const allowed =
        kind === 'forward'
          ? 1e-4 + 1e-4 * Math.abs(b[i])
          : kind === 'adam'
            ? 1e-6 + 1e-5 * Math.abs(b[i])
            : 1e-4 * scale + 1e-3 * Math.abs(b[i]);
      if (err / allowed > worst) {
        worst = err / allowed;
        at = i;
      }
      maxErr = Math.max(maxErr, err);
    }
    assert.ok(worst <= 1, `${what} ${key}[${at}]: gpu ${a[at]} vs wasm ${b[at]} (${worst.toFixed(2)}x the tolerance)`);
    report[key] = { maxErr, scale };
  }
  return report;
}

const fmt = (rep) =>
  Object.entries(rep)
    .map(([k, v]) => `${k} ${v.maxErr.toExponential(1)} (max|ref| ${v.scale.toPrecision(3)})`)
    .join(', ');

function gaussianCase(seed, { H, W, C, N, B, eluOffset = 0, lossScale = 1.7 }) {
  const r = rng(seed);
  const positions = [];
  for (let k = 0; k < B * N; k++) {
    // a third on the border (the zero-padded corners), the rest inside
    if (k % 3 === 0) positions.push(...[r() < 0.5 ? -1 : 1, 2 * r() - 1].sort(() => r() - 0.5));
    else positions.push(2 * r() - 1, 2 * r() - 1);
  }
  return {
    height: H,
    width: W,
    channels: C,
    neurons: N,
    batch: B,
    maps: uniform(r, B * H * W * C, -0.5, 1.5),
    features: uniform(r, N * C, -0.4, 0.4),
    bias: uniform(r, N, -0.5, 0.5),
    positions,
    targets: counts(r, B * N),
    lossScale,
    logEps: 1e-8,
    eluOffset,
  };
}

function factorizedCase(seed, { H, W, C, N, B, mask }) {
  const r = rng(seed);
  return {
    height: H,
    width: W,
    channels: C,
    neurons: N,
    batch: B,
    maps: uniform(r, B * H * W * C, -0.5, 1.5),
    spatial: uniform(r, N * H * W, -0.2, 1),
    features: uniform(r, N * C, -0.5, 0.5),
    bias: uniform(r, N, -0.5, 0.5),
    targets: counts(r, B * N),
    mask,
    lossScale: 1.3,
    logEps: 1e-8,
    regWeight: 0.1,
  };
}

const kinds = (key) => (['loss', 'poisson', 'regularizer', 'predictions', 'out'].includes(key) ? 'forward' : 'grad');

async function kernelsPage(openPage) {
  const page = await openPage({});
  const b = await page.evaluate(() => window.__v1x.backendReady());
  assert.equal(b.backend, 'webgpu', 'these tests need WebGPU (SwiftShader)');
  return page;
}

export async function gaussianStepParity({ openPage, log }) {
  const page = await kernelsPage(openPage);
  const cases = [
    { seed: 1, H: 5, W: 7, C: 8, N: 6, B: 3 },
    { seed: 2, H: 4, W: 9, C: 12, N: 11, B: 5, eluOffset: 0.3, lossScale: 2.5 },
  ];
  for (const { seed, ...shape } of cases) {
    const c = gaussianCase(seed, shape);
    const r = await page.evaluate(async (c) => (await window.__v1x.webgpuKernels()).gaussianStep(c), c);
    const rep = compare(`gaussian step ${JSON.stringify(shape)}`, r.gpu, r.wasm, kinds);
    log(`gaussian step ${JSON.stringify(shape)} on ${r.adapter}: ${fmt(rep)}`);
    const p = await page.evaluate(async (c) => (await window.__v1x.webgpuKernels()).gaussianPredict(c), {
      ...c,
      positions: c.positions.slice(0, 2 * c.neurons),
    });
    log(`gaussian predict: ${fmt(compare('gaussian predict', p.gpu, p.wasm, kinds))}`);
  }
}

export async function factorizedStepParity({ openPage, log }) {
  const page = await kernelsPage(openPage);
  const cases = [
    { seed: 3, H: 4, W: 5, C: 6, N: 5, B: 3, mask: { normalize: true, constrainPos: false, positiveSpatial: false } },
    { seed: 4, H: 6, W: 7, C: 20, N: 18, B: 2, mask: { normalize: true, constrainPos: false, positiveSpatial: true } },
    { seed: 5, H: 3, W: 6, C: 4, N: 7, B: 4, mask: { normalize: false, constrainPos: true, positiveSpatial: false } },
  ];
  for (const { seed, ...shape } of cases) {
    const c = factorizedCase(seed, shape);
    const r = await page.evaluate(async (c) => (await window.__v1x.webgpuKernels()).factorizedStep(c), c);
    const rep = compare(`factorized step ${JSON.stringify(shape)}`, r.gpu, r.wasm, kinds);
    log(`factorized step ${JSON.stringify(shape)}: ${fmt(rep)}`);
    const p = await page.evaluate(async (c) => (await window.__v1x.webgpuKernels()).factorizedPredict(c), c);
    log(`factorized predict: ${fmt(compare('factorized predict', p.gpu, p.wasm, kinds))}`);
  }
}

export async function adamParity({ openPage, log }) {
  const page = await kernelsPage(openPage);
  const r0 = rng(6);
  const sizes = [7, 33, 1];
  const total = sizes.reduce((s, n) => s + n, 0);
  const steps = 3;
  // gradients over several orders of magnitude, some exactly 0
  const grads = Array.from({ length: steps * total }, (_, i) =>
    i % 11 === 0 ? 0 : (r0() - 0.5) * 10 ** (-4 + 5 * r0()),
  );
  const c = { sizes, values: uniform(r0, total, -1, 1), grads, steps, lr: 0.01 };
  const r = await page.evaluate(async (c) => (await window.__v1x.webgpuKernels()).adamSteps(c), c);
  log(`adam, 3 steps: ${fmt(compare('adam', r.gpu, r.wasm, () => 'adam'))}`);
}

/**
 * One timing of a step on each engine, for the record (nothing asserted on it). Default: small shapes (SwiftShader is
 * a CPU). E2E_WGSL_TIMING=sensorium times the Sensorium readout's size instead (7776 neurons, 36x64x64 maps,
 * batch 64; factorized batch 16): for a machine with a GPU, where the runner's WebGPU flags must name that adapter
 * instead of SwiftShader (test/e2e/chromium_flags.mjs).
 */
export async function stepTimings({ openPage, log }) {
  const page = await kernelsPage(openPage);
  const big = process.env.E2E_WGSL_TIMING === 'sensorium';
  const runs = big
    ? [
        ['gaussian', { height: 36, width: 64, channels: 64, neurons: 7776, batch: 64 }, 5],
        ['factorized', { height: 36, width: 64, channels: 64, neurons: 7776, batch: 16 }, 2],
      ]
    : [
        ['gaussian', { height: 18, width: 32, channels: 16, neurons: 200, batch: 64 }, 5],
        ['factorized', { height: 18, width: 32, channels: 16, neurons: 100, batch: 16 }, 3],
      ];
  for (const [kind, shape, repeats] of runs) {
    const t = await page.evaluate(
      async ([kind, shape, repeats]) => (await window.__v1x.webgpuKernels()).timeRandomSteps(kind, shape, repeats),
      [kind, shape, repeats],
    );
    log(
      `${kind} step, ${shape.batch} images x ${shape.neurons} neurons on ${shape.height}x${shape.width}x${shape.channels}: WebGPU ${t.gpuMs.toFixed(1)} ms, WASM ${t.wasmMs.toFixed(1)} ms (${t.adapter})`,
    );
    assert.ok(t.gpuMs > 0 && t.wasmMs > 0);
  }
}

function microScan(fixtures) {
  const dir = join(process.cwd(), 'test-results', 'tmp');
  const out = join(dir, 'micro-scan.zip');
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const sota = join(fixtures, 'sensorium-sota');
  const args = ['bin/v1x.mjs', 'simulate', '--checkpoint', join(sota, 'model.pth'), '--config'];
  args.push(join(sota, 'config.json'), '--neurons', '200', '--seed', '1', '--trials', '48,16,4x2');
  args.push('--out', out, '--force', '--backend', 'wasm');
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`v1x simulate failed: ${r.stderr}`);
  return out;
}

/** Fine-tunes a readout on the micro scan from the page's controls (4 epochs, batch 16); the hook's training(). */
async function fineTune(openPage, fixtures, query, factorized = false, epochs = 4) {
  const scan = microScan(fixtures);
  const page = await openPage({ query });
  await page.evaluate(() => window.__v1x.backendReady());
  const sota = join(fixtures, 'sensorium-sota');
  await page.getByTestId('model-input').setInputFiles([join(sota, 'model.pth'), join(sota, 'config.json')]);
  await page.getByTestId('arch-neurons').filter({ hasText: '7,776' }).waitFor({ state: 'attached' });
  await page.getByTestId('scan-input').setInputFiles(scan);
  await page.getByTestId('scan-neurons').filter({ hasText: '200' }).waitFor();
  if (factorized) {
    await page.getByTestId('train-readout-type').selectOption('factorized');
    await page.getByLabel('mask × feature L1').fill('0.01'); // a small scan: a weak penalty (factorized.e2e.mjs)
  }
  await page.getByLabel('max epochs').fill(String(epochs));
  await page.getByLabel('batch size').fill('16');
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').waitFor();
  const t = await page.evaluate(() => window.__v1x.training());
  const seconds = (Date.now() - t0) / 1000;
  return { page, t, seconds };
}

const describeRun = (t, seconds) =>
  `validation correlation per epoch ${t.valCorrelations.map((v) => v.toFixed(3)).join(' ')}, test ${t.testCorrelation?.toFixed(3)}, epoch images/s ${t.imagesPerS
    .slice(1)
    .map((v) => v.toFixed(0))
    .join(' ')}, ${seconds.toFixed(1)} s in all`;

function assertLearned(t) {
  assert.ok(t.valCorrelations.length >= 3, `epochs: ${t.valCorrelations.length}`);
  const best = Math.max(...t.valCorrelations.slice(1));
  assert.ok(best > t.valCorrelations[0] + 0.05, `validation correlation should rise: ${t.valCorrelations.join(', ')}`);
  assert.ok(t.testCorrelation > 0.05, `test correlation ${t.testCorrelation}`);
}

/**
 * The page's fine-tuning with its readout steps on the WGSL kernels (forced: SwiftShader is a software adapter), the
 * core on tfjs-webgpu feeding the GPU cache on the GPU, with no host copy of the cache.
 */
export async function fineTuneOnWgslKernels({ openPage, fixtures, shot, log }) {
  const { page, t, seconds } = await fineTune(openPage, fixtures, 'readoutEngine=webgpu');
  log(`${t.readoutEngine?.reason}; ${describeRun(t, seconds)}`);
  assert.equal(t.readoutEngine?.engine, 'webgpu', `the readout should train on WebGPU: ${t.readoutEngine?.reason}`);
  assert.match(t.readoutEngine.reason, /forced/);
  // the core's outputs never came back to the CPU: no host copy of the cache was made
  assert.match(t.readoutEngine.reason, /maps from the GPU cache, copied from the core on the GPU \(no host copy\)/);
  assert.match(await page.getByTestId('readout-engine').textContent(), /WebGPU/);
  assertLearned(t);
  await shot('done', page);
}

/**
 * The core on WASM (fast here) and the readout forced onto the WGSL kernels (the cache uploaded to the GPU once),
 * then the same run with the readout on WASM: both learn; epoch speeds logged for the record (SwiftShader).
 */
export async function fineTuneWgslVsWasmReadout({ openPage, fixtures, log }) {
  const gpu = await fineTune(openPage, fixtures, 'backend=wasm&readoutEngine=webgpu');
  log(`${gpu.t.readoutEngine?.reason}; ${describeRun(gpu.t, gpu.seconds)}`);
  assert.equal(gpu.t.readoutEngine?.engine, 'webgpu');
  assert.match(gpu.t.readoutEngine.reason, /maps from the GPU cache, uploaded once/);
  assertLearned(gpu.t);
  const wasm = await fineTune(openPage, fixtures, 'backend=wasm&readoutEngine=wasm');
  log(`${wasm.t.readoutEngine?.reason}; ${describeRun(wasm.t, wasm.seconds)}`);
  assert.equal(wasm.t.readoutEngine?.engine, 'wasm');
  assertLearned(wasm.t);
  sameHistory(gpu.t, wasm.t);
}

/** Whole runs agree: the validation correlation of every epoch within 0.01 of the WASM run's (same seed). */
function sameHistory(gpu, wasm) {
  assert.equal(gpu.valCorrelations.length, wasm.valCorrelations.length, 'the same number of epochs');
  gpu.valCorrelations.forEach((v, i) =>
    assert.ok(
      Math.abs(v - wasm.valCorrelations[i]) <= 0.01,
      `epoch ${i}: WebGPU ${v} vs WASM ${wasm.valCorrelations[i]}`,
    ),
  );
}

/**
 * A factorized readout trained on the WGSL GEMMs (core on WASM, forced), against the same run on WASM. One epoch:
 * SwiftShader runs these GEMMs at about 1 image/s here (its workgroup barriers are costly), 4 epochs take 4 minutes.
 */
export async function fineTuneFactorizedWgslVsWasm({ openPage, fixtures, log }) {
  const gpu = await fineTune(openPage, fixtures, 'backend=wasm&readoutEngine=webgpu', true, 1);
  log(`factorized, ${gpu.t.readoutEngine?.reason}; ${describeRun(gpu.t, gpu.seconds)}`);
  assert.equal(gpu.t.readoutEngine?.engine, 'webgpu');
  const wasm = await fineTune(openPage, fixtures, 'backend=wasm&readoutEngine=wasm', true, 1);
  log(`factorized, ${wasm.t.readoutEngine?.reason}; ${describeRun(wasm.t, wasm.seconds)}`);
  sameHistory(gpu.t, wasm.t);
  assert.ok(gpu.t.valCorrelations[1] > gpu.t.valCorrelations[0] + 0.05, `learns: ${gpu.t.valCorrelations.join(', ')}`);
  assert.ok(Math.abs(gpu.t.testCorrelation - wasm.t.testCorrelation) <= 0.01, 'the same test correlation');
}

/** Without the override, SwiftShader is a software adapter: the page keeps the readout on WASM and says why. */
export async function softwareAdapterKeepsWasm({ openPage, log }) {
  const page = await kernelsPage(openPage);
  const auto = await page.evaluate(async () => (await window.__v1x.webgpuKernels()).engineChoice(null));
  log(auto.reason);
  assert.equal(auto.engine, 'wasm');
  assert.match(auto.reason, /software/);
  const forced = await page.evaluate(async () => (await window.__v1x.webgpuKernels()).engineChoice('webgpu'));
  assert.equal(forced.engine, 'webgpu');
  assert.match(forced.reason, /forced/);
}

/**
 * The frozen core's output feeding the kernels on the GPU: a stand-in core (conv2d + elu) on tfjs-webgpu, its output
 * tensors copied into the GPU feature cache (dataToGPU + buffer copy, the device shared with tfjs), the Gaussian
 * step reading maps by slot; against the WASM step on the same outputs read back.
 */
export async function coreOutputToKernelsOnGpu({ openPage, log }) {
  const page = await kernelsPage(openPage);
  const r = rng(9);
  const H = 6,
    W = 8,
    Cin = 3,
    n = 5;
  const c = gaussianCase(10, { H, W, C: 8, N: 7, B: 4 });
  const input = {
    ...c,
    maps: [],
    inputChannels: Cin,
    images: uniform(r, n * H * W * Cin, -1, 1),
    kernel: uniform(r, 9 * Cin * 8, -0.3, 0.3),
    slotOrder: [4, 0, 3, 1],
  };
  const out = await page.evaluate(async (c) => (await window.__v1x.webgpuKernels()).coreOnGpuToKernels(c), input);
  assert.equal(out.filled, n, 'every core output chunk copied into the GPU cache');
  assert.ok(out.shared, "the kernels run on the tfjs backend's device");
  log(`core output -> GPU cache -> gaussian step: ${fmt(compare('core to kernels', out.gpu, out.wasm, kinds))}`);
}
