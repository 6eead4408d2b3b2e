/**
 * Scan loading benchmark: load time and peak memory for
 *   - fixtures/sim-scan/static-sim-a (5,500 trials x 1,000 neurons, 36x64 uint8), from the zip and unpacked;
 *   - a Sensorium-size scan (6,000 trials x 8,000 neurons, 1x144x256 uint8 images) that this script writes to
 *     a temporary zip (deflated, streamed to disk entry by entry), read at scale 0.25 (36x64 float32) as the
 *     Sensorium loaders do, and at scale 1 (kept uint8).
 * Each load runs in a fresh child process so one measurement does not inherit another's heap. Memory is
 * sampled every few ms and at every progress report: rss, and heapUsed + arrayBuffers (what a browser tab
 * would hold in JS). The data are random (smooth images, sparse responses); only sizes matter here.
 *
 *   node --import tsx bench/scan_load.ts [--fresh] [--trials 6000] [--neurons 8000]
 *   node --import tsx bench/scan_load.ts --scan PATH   (only that zip or folder, e.g. the Lurz 2020-sized scan of
 *                                                      scripts/make_real_size_scan.ts; bench/real_size_scan.mjs
 *                                                      measures the same in Chromium)
 * Ends with one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { configure, Uint8ArrayReader, ZipWriter } from '@zip.js/zip.js';
import type { HostArray } from '../src/io/host_tensor';
import { writeNpy } from '../src/io/npy';
import { loadScan } from '../src/io/scan/load_scan';
import { openScanPath } from '../src/io/scan/node_dir_source';
import { SIM_ZIP as FIXTURE } from '../test/fixtures/paths';

configure({ useWebWorkers: false });

const MB = 2 ** 20;

interface LoadResult {
  source: string;
  scale: number;
  open_s: number;
  load_s: number;
  trials: number;
  neurons: number;
  image_shape: number[];
  images_dtype: string;
  scan_mb: number;
  retained_js_mb: number;
  baseline_rss_mb: number;
  peak_rss_mb: number;
  peak_js_mb: number;
  peak_js_over_baseline_mb: number;
}

// ---------------------------------------------------------------------------------------------------------
// Child: one load, measured.
async function child(path: string, scale: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage();
  const baseJs = base.heapUsed + base.arrayBuffers;
  let peakRss = base.rss,
    peakJs = baseJs;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakJs = Math.max(peakJs, m.heapUsed + m.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  const source = await openScanPath(path);
  const t1 = performance.now();
  const scan = await loadScan(source, { scale, onProgress: sample });
  const t2 = performance.now();
  sample();
  clearInterval(timer);
  gc?.();
  const m = process.memoryUsage();
  const retainedJs = m.heapUsed + m.arrayBuffers - baseJs;
  await source.close?.();
  const scanBytes = scan.images.byteLength + scan.responses.byteLength;
  const out: LoadResult = {
    source: path,
    scale,
    open_s: (t1 - t0) / 1000,
    load_s: (t2 - t0) / 1000,
    trials: scan.nTrials,
    neurons: scan.nNeurons,
    image_shape: scan.imageShape,
    images_dtype: scan.images.constructor.name,
    scan_mb: scanBytes / MB,
    baseline_rss_mb: base.rss / MB,
    peak_rss_mb: peakRss / MB,
    peak_js_mb: peakJs / MB,
    peak_js_over_baseline_mb: (peakJs - baseJs) / MB,
    retained_js_mb: retainedJs / MB,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runChild(path: string, scale: number): LoadResult {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', path, String(scale)], {
    maxBuffer: 1 << 24,
  }).toString();
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

// ---------------------------------------------------------------------------------------------------------
// Writer: a Sensorium-size scan, streamed into a deflated zip.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeSensoriumSizeZip(path: string, T: number, N: number): Promise<void> {
  const [H, W] = [144, 256];
  const rand = rng(2022);
  const root = 'static-bench-sensorium-size/';
  const zip = new ZipWriter(Writable.toWeb(createWriteStream(path)) as WritableStream, {
    level: 1,
    useWebWorkers: false,
  });
  const add = (name: string, data: Uint8Array) => zip.add(root + name, new Uint8ArrayReader(data), { level: 1 });
  const put = (name: string, a: HostArray) => add(name, writeNpy(a));

  // A smooth texture to crop images from (so they compress like photos, not like noise).
  const TS = 512;
  const texture = new Float32Array(TS * TS);
  for (let k = 0; k < 12; k++) {
    const fx = ((rand() * 8 + 1) * 2 * Math.PI) / TS,
      fy = ((rand() * 8 + 1) * 2 * Math.PI) / TS,
      ph = rand() * 6.3,
      amp = 20 + rand() * 20;
    for (let y = 0; y < TS; y++)
      for (let x = 0; x < TS; x++) texture[y * TS + x] += amp * Math.sin(fx * x + fy * y + ph);
  }
  // Tiers as in Sensorium 2022: test images shown 10 times.
  const nTest = Math.min(1000, Math.floor(T / 6)),
    nVal = Math.floor((T - nTest) / 10);
  const tiers: string[] = [],
    ids: number[] = [];
  for (let i = 0; i < T; i++) {
    if (i < nTest) {
      tiers.push('test');
      ids.push(100000 + (i % Math.max(1, nTest / 10)));
    } else if (i < nTest + nVal) {
      tiers.push('validation');
      ids.push(i);
    } else {
      tiers.push('train');
      ids.push(i);
    }
  }
  const order = [...Array(T).keys()].sort(() => rand() - 0.5);

  let pxSum = 0,
    pxSq = 0;
  const img = new Uint8Array(H * W);
  for (let i = 0; i < T; i++) {
    const t = order[i];
    const ox = Math.floor(rand() * (TS - W)),
      oy = Math.floor(rand() * (TS - H)),
      off = 128 + (rand() - 0.5) * 40;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = Math.max(0, Math.min(255, Math.round(off + texture[(oy + y) * TS + ox + x] + (rand() - 0.5) * 16)));
        img[y * W + x] = v;
        pxSum += v;
        pxSq += v * v;
      }
    }
    await put(`data/images/${t}.npy`, { dtype: 'uint8', shape: [1, H, W], data: img });
  }
  const rSum = new Float64Array(N),
    rSq = new Float64Array(N);
  const resp = new Float32Array(N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      // 60 % zeros, the rest exponential: like deconvolved calcium traces.
      const v = rand() < 0.6 ? 0 : -Math.log(1 - rand()) * (0.5 + (n % 7) / 4);
      resp[n] = v;
      rSum[n] += v;
      rSq[n] += v * v;
    }
    await put(`data/responses/${t}.npy`, { dtype: 'float32', shape: [N], data: resp });
  }
  const i64 = (xs: number[]): HostArray => ({
    dtype: 'int64',
    shape: [xs.length],
    data: BigInt64Array.from(xs.map(BigInt)),
  });
  const f32 = (xs: ArrayLike<number>, shape: number[]): HostArray => ({
    dtype: 'float32',
    shape,
    data: Float32Array.from(xs),
  });
  await put('meta/trials/tiers.npy', { dtype: 'string', shape: [T], data: tiers });
  await put('meta/trials/frame_image_id.npy', i64(ids));
  await put('meta/trials/frame_image_class.npy', { dtype: 'string', shape: [T], data: tiers.map(() => 'imagenet') });
  await put('meta/trials/trial_idx.npy', i64([...Array(T).keys()]));
  await put('meta/neurons/unit_ids.npy', i64([...Array(N).keys()].map((n) => n + 1)));
  await put('meta/neurons/animal_ids.npy', i64(Array(N).fill(26872)));
  await put('meta/neurons/sessions.npy', i64(Array(N).fill(17)));
  await put('meta/neurons/scan_idx.npy', i64(Array(N).fill(20)));
  await put('meta/neurons/cell_motor_coordinates.npy', {
    dtype: 'float64',
    shape: [N, 3],
    data: Float64Array.from({ length: 3 * N }, () => rand() * 600),
  });
  const pxMean = pxSum / (T * H * W),
    pxStd = Math.sqrt(pxSq / (T * H * W) - pxMean * pxMean);
  const rMean = Array.from(rSum, (s) => s / T),
    rStd = Array.from(rSq, (q, n) => Math.sqrt(Math.max(0, q / T - rMean[n] ** 2)));
  for (const [stat, v] of [
    ['mean', pxMean],
    ['std', pxStd],
    ['min', 0],
    ['max', 255],
    ['median', pxMean],
  ] as const)
    await put(`meta/statistics/images/all/${stat}.npy`, f32([v], []));
  for (const [stat, v] of [
    ['mean', rMean],
    ['std', rStd],
    ['min', rMean.map(() => 0)],
    ['max', rMean.map((m) => m * 10)],
    ['median', rMean.map(() => 0)],
  ] as const)
    await put(`meta/statistics/responses/all/${stat}.npy`, f32(v, [N]));
  await zip.add(`${root}config.json`, new Uint8ArrayReader(new TextEncoder().encode('{"links": {}}')));
  await zip.close();
}

// ---------------------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ci = args.indexOf('--child');
  if (ci >= 0) return child(args[ci + 1], Number(args[ci + 2]));
  const arg = (name: string, dflt: number) => {
    const k = args.indexOf(name);
    return k >= 0 ? Number(args[k + 1]) : dflt;
  };
  const T = arg('--trials', 6000),
    N = arg('--neurons', 8000);

  const results: Record<string, LoadResult> = {};
  const only = args.indexOf('--scan');
  const report = (key: string, r: LoadResult) => {
    results[key] = r;
    console.log(
      `${key.padEnd(30)} ${r.trials} x ${r.neurons}, images ${r.image_shape.join('x')} ${r.images_dtype}: ` +
        `load ${r.load_s.toFixed(2)} s (open ${r.open_s.toFixed(2)} s), arrays ${r.scan_mb.toFixed(0)} MB, ` +
        `peak rss ${r.peak_rss_mb.toFixed(0)} MB, peak heap+arrayBuffers ${r.peak_js_mb.toFixed(0)} MB (+${r.peak_js_over_baseline_mb.toFixed(0)} MB over start; ${r.retained_js_mb.toFixed(0)} MB held after GC with the scan open)`,
    );
  };

  if (only >= 0) {
    report('given_scan', runChild(args[only + 1], 1));
  } else if (existsSync(FIXTURE)) {
    report('static_sim_a_zip', runChild(FIXTURE, 1));
    const dir = mkdtempSync(join(tmpdir(), 'v1x-bench-scan-'));
    try {
      execFileSync('unzip', ['-q', FIXTURE, '-d', dir], { stdio: 'ignore' });
      report('static_sim_a_folder', runChild(join(dir, 'static-sim-a'), 1));
    } catch (e) {
      console.log(`static-sim-a folder: skipped (${(e as Error).message.split('\n')[0]})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    console.log(`static-sim-a: skipped, ${FIXTURE} not found`);
  }

  const cacheDir = join(tmpdir(), 'v1x-bench');
  mkdirSync(cacheDir, { recursive: true });
  if (only >= 0) return printSummary(results);
  const big = join(cacheDir, `sensorium-size-${T}x${N}.zip`);
  if (args.includes('--fresh') || !existsSync(big)) {
    const t0 = performance.now();
    await writeSensoriumSizeZip(`${big}.part`, T, N);
    execFileSync('mv', [`${big}.part`, big]);
    console.log(
      `wrote ${big} (${(statSync(big).size / MB).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } else {
    console.log(`reusing ${big} (${(statSync(big).size / MB).toFixed(0)} MB; --fresh rewrites it)`);
  }
  report('sensorium_size_scale_0.25', runChild(big, 0.25));
  report('sensorium_size_scale_1', runChild(big, 1));
  printSummary(results);
}

function printSummary(results: Record<string, LoadResult>): void {
  const summary: Record<string, unknown> = { bench: 'scan_load', node: process.version };
  for (const [k, r] of Object.entries(results)) {
    summary[k] = {
      load_s: +r.load_s.toFixed(3),
      peak_rss_mb: +r.peak_rss_mb.toFixed(1),
      peak_js_mb: +r.peak_js_mb.toFixed(1),
      scan_mb: +r.scan_mb.toFixed(1),
      retained_js_mb: +r.retained_js_mb.toFixed(1),
      trials: r.trials,
      neurons: r.neurons,
      image_shape: r.image_shape,
    };
  }
  console.log(JSON.stringify(summary));
}

await main();
