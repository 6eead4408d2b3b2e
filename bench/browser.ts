/**
 * npm run bench:browser: the built app in headless Debian Chromium (playwright-core, the browser tests' flags)
 * fine-tunes a new readout on static-sim-a (1000 neurons, the fixture checkpoint's core frozen) from the page's
 * own controls with its defaults (the reference protocol: batch 64, lr 0.005, early stopping), and reports:
 * - WASM, to convergence: the core-output cache's images/s (on the page's pool of Web Workers), an epoch on the
 *   cache (training images / epoch seconds incl. the validation pass, and the readout steps alone), the time to a
 *   converged readout (click to result, cache included), the test correlation;
 * - WebGPU (SwiftShader here: a software adapter, slow), a short run on a small simulated scan: the same rates;
 * - memory: the peak resident size of Chromium's renderer process (VmHWM: every worker's JavaScript heap and
 *   WebAssembly memory live in it) and the page's and workers' JavaScript heaps sampled every second;
 * - PyTorch's numbers from the same run (bench/torch_reference.py's *_best keys and the cached readout step), and
 *   neuralpredictors' own trainer on the same scan (bench/neuralpredictors_trainer.py; skip with --no-trainer).
 * The training worker's messages are read by wrapping the page's Worker constructor (an init script), so the page
 * itself is measured unchanged. Prints progress on stderr and one JSON line on stdout.
 *
 * Usage: node --import tsx bench/browser.ts [--dist DIR] [--no-torch] [--no-trainer] [--no-webgpu] [--max-epochs N]
 *        [--in-thread-too]
 * Without --dist the app is built into a temporary folder first. --in-thread-too repeats the WASM run with the
 * readout's steps in the training worker (?readoutWorkers=0) and prints both, and their ratio.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { loadScanFromPath } from '../src/io/scan/node_dir_source';
import { tierIndices } from '../src/io/scan/tiers';
import { COMMON_FLAGS, WEBGPU_FLAGS } from '../test/e2e/chromium_flags.mjs';
import { loadModelAndScan, simScan } from '../test/e2e/sim_scans.mjs';
import { startStaticServer } from '../test/e2e/static_server.mjs';
import { FIXTURES, SIM, SOTA } from '../test/fixtures/paths';
import { runTorchScript, torchReference } from './torch';

const argv = process.argv.slice(2);
const opt = (name: string): string | null => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : null;
};
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : NaN;
};
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const repo = fileURLToPath(new URL('..', import.meta.url));

/** What the init script records of the training worker's messages (ms on the page's clock). */
interface Recorded {
  t: number;
  type: string;
  phase?: string;
  message?: string;
  backend?: { name: string; reason: string };
  readoutEngine?: { engine: string; reason: string };
  done?: number;
  total?: number;
  elapsedS?: number;
  event?: { kind: string; epoch: number; epochS: number; imagesPerS: number; valCorrelation: number };
  timings?: { cacheS: number; trainS: number; testS: number };
  stopReason?: string;
  testCorrelation?: number | null;
}

/** Runs in the page before its scripts: every Worker's messages of interest land in window.__benchLog. */
function recordWorkerMessages(): void {
  const w = window as unknown as { __benchLog: unknown[]; Worker: typeof Worker };
  w.__benchLog = [];
  const Original = w.Worker;
  w.Worker = class extends Original {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      if (options?.name !== 'v1x-training') return;
      this.addEventListener('message', (ev: MessageEvent) => {
        const d = ev.data as Record<string, unknown> & { type: string };
        const t = performance.now();
        if (d.type === 'status')
          w.__benchLog.push({
            t,
            type: d.type,
            phase: d.phase,
            message: d.message,
            backend: d.backend,
            readoutEngine: d.readoutEngine,
          });
        else if (d.type === 'cache-progress')
          w.__benchLog.push({ t, type: d.type, done: d.done, total: d.total, elapsedS: d.elapsedS });
        else if (d.type === 'train-event' && (d.event as { kind: string }).kind === 'epoch')
          w.__benchLog.push({ t, type: d.type, event: d.event });
        else if (d.type === 'done') {
          const metrics = d.metrics as { test_correlation?: number } | null;
          w.__benchLog.push({
            t,
            type: d.type,
            timings: d.timings,
            stopReason: d.stopReason,
            testCorrelation: metrics?.test_correlation ?? null,
          });
        }
      });
    }
  };
}

/** Peak resident size (VmHWM, MiB) of the Chromium renderer processes started by this process. */
function rendererPeakMiB(): number {
  const children = new Map<number, number[]>();
  const cmd = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
      cmd.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8'));
    } catch {
      // the process ended meanwhile
    }
  }
  let peak = 0;
  const walk = (pid: number): void => {
    for (const c of children.get(pid) ?? []) {
      if (cmd.get(c)?.includes('--type=renderer')) {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${c}/status`, 'utf8'));
          if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        } catch {
          // ended
        }
      }
      walk(c);
    }
  };
  walk(process.pid);
  return r1(peak);
}

/** Sums the JavaScript heaps (performance.memory, Chromium) of the page and its workers every second. */
function sampleHeaps(page: Page): { stop(): Promise<number>; peakRendererMiB: () => number } {
  let peakHeap = 0,
    peakRss = 0,
    running = true;
  const loop = (async () => {
    while (running) {
      let total = 0;
      const used = (): number =>
        (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
      total += await page.evaluate(used).catch(() => 0);
      for (const w of page.workers()) total += await w.evaluate(used).catch(() => 0);
      peakHeap = Math.max(peakHeap, total);
      peakRss = Math.max(peakRss, rendererPeakMiB());
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return r1(peakHeap / 2 ** 20);
    },
    peakRendererMiB: () => Math.max(peakRss, rendererPeakMiB()),
  };
}

interface RunResult {
  backend: string;
  backend_reason: string;
  readout_engine: string | null;
  images_cached: number;
  cache_img_per_s: number;
  epochs: number;
  epoch_img_per_s: number;
  readout_step_img_per_s: number;
  time_to_converge_s: number;
  stop_reason: string;
  test_correlation: number | null;
  peak_js_heap_mib: number;
  peak_renderer_rss_mib: number;
}

/** One fine-tuning run from the page's controls; `maxEpochs` null keeps the page's default (early stopping ends it). */
async function fineTune(
  browser: Browser,
  baseUrl: string,
  backend: 'wasm' | 'webgpu',
  scanZip: string,
  neurons: string,
  trainImages: number,
  maxEpochs: number | null,
  /** More of the page's address query (e.g. readoutWorkers=0). */
  query = '',
): Promise<RunResult> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript(recordWorkerMessages);
  const page = await context.newPage();
  page.setDefaultTimeout(3_600_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${baseUrl}/index.html?backend=${backend}&demo=off${query ? `&${query}` : ''}`);
  await loadModelAndScan(page, FIXTURES, scanZip, neurons);
  if (maxEpochs !== null) await page.getByLabel('max epochs').fill(String(maxEpochs));
  const heaps = sampleHeaps(page);
  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-results').or(page.getByTestId('train-error')).first().waitFor();
  const peakHeap = await heaps.stop();
  const peakRss = heaps.peakRendererMiB();
  const rec = (await page.evaluate(() => (window as unknown as { __benchLog: unknown[] }).__benchLog)) as Recorded[];
  await context.close();
  const done = rec.find((m) => m.type === 'done');
  if (!done) throw new Error(`the ${backend} run gave no result: ${errors.join('; ') || rec.at(-1)?.message}`);
  const lastCache = rec.filter((m) => m.type === 'cache-progress').at(-1);
  const epochs = rec.filter((m) => m.type === 'train-event' && m.event!.epoch > 0).map((m) => m.event!);
  const status = rec.filter((m) => m.type === 'status');
  const where = status.filter((m) => m.backend).at(-1)?.backend;
  const engine = status.filter((m) => m.readoutEngine).at(-1)?.readoutEngine;
  return {
    backend: where?.name ?? backend,
    backend_reason: where?.reason ?? '',
    readout_engine: engine ? `${engine.engine}: ${engine.reason}` : null,
    images_cached: lastCache?.total ?? 0,
    cache_img_per_s: lastCache ? r1(lastCache.done! / lastCache.elapsedS!) : NaN,
    epochs: epochs.length,
    epoch_img_per_s: r1(trainImages / median(epochs.map((e) => e.epochS))),
    readout_step_img_per_s: r1(median(epochs.map((e) => e.imagesPerS))),
    time_to_converge_s: r1((done.t - t0) / 1000),
    stop_reason: done.stopReason ?? '',
    test_correlation:
      done.testCorrelation === null || done.testCorrelation === undefined ? null : r3(done.testCorrelation),
    peak_js_heap_mib: peakHeap,
    peak_renderer_rss_mib: peakRss,
  };
}

function buildApp(): string {
  const out = mkdtempSync(join(tmpdir(), 'v1x-bench-dist-'));
  log(`building the app into ${out} ...`);
  const r = spawnSync('npx', ['vite', 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: repo,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
  return out;
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (sudo apt-get install -y chromium)`);
  const dist = opt('--dist') ?? buildApp();
  const maxEpochs = opt('--max-epochs');
  const server = await startStaticServer(dist);
  const zip = join(SIM, 'static-sim-a.zip');
  const scan = await loadScanFromPath(zip);
  const nTrain = tierIndices(scan, 'train').length;
  // the machine's load: on a shared machine every rate here (PyTorch's most of all: its 2 threads spin-wait on each
  // other) drops with it, so it is printed beside them
  const out: Record<string, unknown> = {
    machine: `${process.arch}, Chromium ${CHROMIUM}`,
    load_average_start: r1(loadavg()[0]),
    neurons: scan.nNeurons,
  };
  try {
    const wasmBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: COMMON_FLAGS });
    out.chromium = wasmBrowser.version();
    log(`WASM: fine-tuning on ${scan.name} (${scan.nNeurons} neurons, ${nTrain} training images) to convergence ...`);
    const wasmRun = (query = ''): Promise<RunResult> =>
      fineTune(
        wasmBrowser,
        server.url,
        'wasm',
        zip,
        scan.nNeurons.toLocaleString('en-US'),
        nTrain,
        maxEpochs ? Number(maxEpochs) : null,
        query,
      );
    const wasm = await wasmRun();
    log(`  ${JSON.stringify(wasm)}`);
    out.wasm = wasm;
    if (argv.includes('--in-thread-too')) {
      // the same run with the readout's steps in the training worker (?readoutWorkers=0): what the pool gains
      log('WASM again, the readout steps in the training worker (?readoutWorkers=0) ...');
      const single = await wasmRun('readoutWorkers=0');
      log(`  ${JSON.stringify(single)}`);
      out.wasm_readout_in_training_worker = single;
      out.epoch_ratio_workers_vs_training_worker = r3(wasm.epoch_img_per_s / single.epoch_img_per_s);
      out.converge_ratio_workers_vs_training_worker = r3(wasm.time_to_converge_s / single.time_to_converge_s);
    }
    await wasmBrowser.close();
    if (!argv.includes('--no-webgpu')) {
      const small = simScan(FIXTURES, 'micro-scan', '48,16,4x2');
      const smallScan = await loadScanFromPath(small);
      log('WebGPU (SwiftShader): a short run, 2 epochs on a 68-image simulated scan ...');
      const gpuBrowser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [...COMMON_FLAGS, ...WEBGPU_FLAGS],
      });
      try {
        out.webgpu = await fineTune(
          gpuBrowser,
          server.url,
          'webgpu',
          small,
          '200',
          tierIndices(smallScan, 'train').length,
          2,
        );
        log(`  ${JSON.stringify(out.webgpu)}`);
      } catch (e) {
        out.webgpu = { error: e instanceof Error ? e.message : String(e) };
      } finally {
        await gpuBrowser.close();
      }
    }
  } finally {
    await server.close();
  }

  if (!argv.includes('--no-torch')) {
    log('PyTorch reference (bench/torch_reference.py, 2 threads) ...');
    const torch = torchReference(join(SOTA, 'model.pth'), join(SOTA, 'config.json'));
    const t = torch.timings as unknown as Record<string, number> | null;
    if (t) {
      out.torch = {
        version: t.torch,
        core_img_per_s_best: r1(t.core_img_per_s_best),
        readout_step_img_per_s_best: r1(t.readout_step_img_per_s_best),
        readout_step_cached_img_per_s: r1(t.readout_step_cached_img_per_s),
        neurons: t.neurons,
      };
      const w = out.wasm as RunResult;
      // the same core: a like-for-like ratio. The readout steps are not: PyTorch's are timed on the fixture
      // checkpoint's own readout (its neuron count is in torch.neurons), ours on the scan's neurons.
      out.cache_ratio_vs_torch_core_best = r3(w.cache_img_per_s / t.core_img_per_s_best);
      if (t.neurons === scan.nNeurons)
        out.epoch_ratio_vs_torch_cached_step = r3(w.epoch_img_per_s / t.readout_step_cached_img_per_s);
    } else out.torch = { error: torch.reason };
  }
  if (!argv.includes('--no-trainer') && !argv.includes('--no-torch')) {
    log("neuralpredictors' trainer on static-sim-a (bench/neuralpredictors_trainer.py, 2 threads, 2 epochs timed) ...");
    const r = runTorchScript<{ s_per_epoch: number; epochs_to_converge: number; time_to_converge_s: number }>(
      'neuralpredictors_trainer.py',
      ['--threads', '2', '--epochs', '2'],
    );
    if (r.value) {
      out.neuralpredictors = r.value;
      out.neuralpredictors_time_to_converge_s = r.value.time_to_converge_s;
      out.converge_ratio_vs_neuralpredictors = r3(
        (out.wasm as RunResult).time_to_converge_s / r.value.time_to_converge_s,
      );
    } else out.neuralpredictors = { error: r.reason };
  }
  out.load_average_end = r1(loadavg()[0]);
  console.log(JSON.stringify(out));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
