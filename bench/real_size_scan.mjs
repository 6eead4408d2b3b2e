/**
 * A real-size scan in a browser tab: load time, peak memory and responsiveness in headless Chromium, then a short
 * fine-tuning run (the core-output cache and a few readout epochs) with the memory estimate the page shows against
 * what the browser's processes hold. Not part of npm test (minutes, ~2 GB); run it once, niced, on a quiet machine:
 *
 *   node --import tsx scripts/make_real_size_scan.ts --out /tmp/static-real-size.zip
 *   npx vite build --outDir /tmp/real-size-dist
 *   nice -n 5 node bench/real_size_scan.mjs --scan /tmp/static-real-size.zip --dist /tmp/real-size-dist [--epochs 2]
 *     [--model test/fixtures/sensorium-sota] [--backend wasm] [--no-train]
 *   ... --arrays DIR (the same scan as plain .npy files, make_real_size_scan.ts --arrays DIR: picked as files, the
 *     proposed mapping confirmed in the dialog, then loaded; --scan is then only a name for the report)
 *
 * Memory, sampled every 250 ms: every Chromium process's proportional set size (PSS, /proc/<pid>/smaps_rollup: shared
 * pages split among the processes sharing them, so the sum is what the browser costs the machine) and the page's
 * renderer alone (it runs the page and its workers); performance.memory (the main thread's JS heap, without
 * ArrayBuffer contents); peaks per phase. Responsiveness: the largest gap between animation frames on the page's
 * main thread and the slowest round trip of a trivial page.evaluate during each phase.
 * With --isolated the app is served cross-origin isolated (COOP/COEP headers added by the test's router), which
 * performance.measureUserAgentSpecificMemory needs: the browser's own account of the page and each worker (JS heap,
 * ArrayBuffers, WebAssembly memories), sampled every 5 s with its largest total kept per phase. Isolation also lets
 * tfjs-backend-wasm use threads on the page's main thread; the training worker and the core pool are the same.
 * Prints progress on stderr and one JSON line at the end.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { COMMON_FLAGS } from '../test/e2e/chromium_flags.mjs';
import { startStaticServer } from '../test/e2e/static_server.mjs';
import { SOTA } from '../test/fixtures/e2e_paths.mjs';

const { values: opt } = parseArgs({
  options: {
    scan: { type: 'string' },
    dist: { type: 'string', default: 'dist' },
    model: { type: 'string', default: SOTA },
    epochs: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'wasm' },
    'no-train': { type: 'boolean', default: false },
    isolated: { type: 'boolean', default: false },
    arrays: { type: 'string' },
    idle: { type: 'string', default: '3' },
  },
});
if (!opt.scan && !opt.arrays)
  throw new Error('--scan PATH or --arrays DIR is required (make them with scripts/make_real_size_scan.ts)');
const MB = 2 ** 20;
const log = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ---- the browser's processes --------------------------------------------------------------------------------
function children() {
  const byParent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push(Number(d));
    } catch {}
  }
  return byParent;
}
function descendants(root) {
  const byParent = children();
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]) ?? []));
  return out;
}
function kb(text, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}
function processMemory(rootPid) {
  let pss = 0;
  let renderer = 0;
  for (const pid of descendants(rootPid).slice(1)) {
    try {
      const p = kb(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
      pss += p;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) renderer = Math.max(renderer, p);
    } catch {}
  }
  return { pss, renderer };
}

// ---- phases with peaks ---------------------------------------------------------------------------------------
const phases = {};
let current = null;
function phase(name) {
  current = { name, t0: performance.now(), peakPss: 0, peakRenderer: 0, peakJsHeap: 0, maxEvalMs: 0 };
  phases[name] = current;
  log(`phase ${name}`);
}

const server = await startStaticServer(resolve(opt.dist));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: [...COMMON_FLAGS, '--enable-precise-memory-info', '--enable-blink-features=ForceEagerMeasureMemory'],
});
// Chromium's processes are this script's descendants (playwright launches it as a child).
const rootPid = process.pid;
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const local = (url) => /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url);
if (opt.isolated)
  await context.route('**/*', async (route) => {
    if (!local(route.request().url())) return route.abort();
    const response = await route.fetch();
    return route.fulfill({
      response,
      headers: {
        ...response.headers(),
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      },
    });
  });
else
  await context.route('**/*', (route) =>
    /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(route.request().url()) ||
    route.request().url().startsWith('blob:') ||
    route.request().url().startsWith('data:')
      ? route.continue()
      : route.abort(),
  );
const page = await context.newPage();
page.setDefaultTimeout(30 * 60_000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('crash', () => errors.push('page crashed'));
await page.addInitScript(() => {
  const r = { maxGap: 0, gapsOver200: 0 };
  let last = performance.now();
  const tick = (t) => {
    const g = t - last;
    last = t;
    if (g > r.maxGap) r.maxGap = g;
    if (g > 200) r.gapsOver200++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  window.__resp = r;
  window.__respReset = () => {
    r.maxGap = 0;
    r.gapsOver200 = 0;
  };
});

/** performance.measureUserAgentSpecificMemory, summed by where it was spent (the page, each worker script). */
async function uaMemory() {
  return page
    .evaluate(async () => {
      if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return null;
      const m = await performance.measureUserAgentSpecificMemory();
      const by = {};
      for (const b of m.breakdown) {
        if (!b.bytes) continue;
        const a = b.attribution[0];
        const where = a
          ? `${a.scope}:${(a.url ?? '')
              .split('/')
              .pop()
              .split('?')[0]
              .replace(/-[A-Za-z0-9_-]{8}\.js$/, '')}`
          : 'shared';
        const key = `${where} ${b.types.join('+') || 'other'}`;
        by[key] = (by[key] ?? 0) + b.bytes;
      }
      return { total: m.bytes, by };
    })
    .catch(() => null);
}
let lastUa = 0;

let sampling = true;
const sampler = (async () => {
  while (sampling) {
    if (current) {
      const m = processMemory(rootPid);
      current.peakPss = Math.max(current.peakPss, m.pss);
      current.peakRenderer = Math.max(current.peakRenderer, m.renderer);
      const t0 = performance.now();
      try {
        const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
        current.peakJsHeap = Math.max(current.peakJsHeap, heap);
        current.maxEvalMs = Math.max(current.maxEvalMs, performance.now() - t0);
      } catch {}
      if (opt.isolated && performance.now() - lastUa > 5000) {
        lastUa = performance.now();
        const ua = await uaMemory();
        if (ua && (!current.peakUa || ua.total > current.peakUa.total)) current.peakUa = ua;
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
})();
async function endPhase() {
  const r = await page.evaluate(() => {
    const x = { ...window.__resp };
    window.__respReset();
    return x;
  });
  const m = processMemory(rootPid);
  Object.assign(current, {
    seconds: +((performance.now() - current.t0) / 1000).toFixed(1),
    endPssMB: +(m.pss / MB).toFixed(0),
    endRendererMB: +(m.renderer / MB).toFixed(0),
    peakPssMB: +(current.peakPss / MB).toFixed(0),
    peakRendererMB: +(current.peakRenderer / MB).toFixed(0),
    peakJsHeapMB: +(current.peakJsHeap / MB).toFixed(0),
    maxFrameGapMs: Math.round(r.maxGap),
    frameGapsOver200ms: r.gapsOver200,
    maxEvalRoundTripMs: Math.round(current.maxEvalMs),
  });
  if (current.peakUa) {
    current.peakUaMB = +(current.peakUa.total / MB).toFixed(0);
    current.peakUaByMB = Object.fromEntries(
      Object.entries(current.peakUa.by).map(([k, v]) => [k, +(v / MB).toFixed(1)]),
    );
  }
  delete current.peakUa;
  for (const k of ['t0', 'peakPss', 'peakRenderer', 'peakJsHeap', 'maxEvalMs']) delete current[k];
  log(JSON.stringify(current));
}

// ---- the page: model, scan, fine-tuning ---------------------------------------------------------------------
phase('open');
await page.goto(`${server.url}/index.html?backend=${opt.backend}&demo=off`);
await page.evaluate(() => window.__v1x.backendReady());
await page.getByTestId('model-input').setInputFiles([join(opt.model, 'model.pth'), join(opt.model, 'config.json')]);
await page.waitForFunction(() => window.__v1x.state().modelStatus === 'ready');
await endPhase();

phase('load');
if (opt.arrays) {
  await page.getByTestId('scan-input').setInputFiles(
    readdirSync(opt.arrays)
      .filter((f) => f.endsWith('.npy'))
      .map((f) => join(opt.arrays, f)),
  );
  await page.getByTestId('array-confirm').click();
} else await page.getByTestId('scan-input').setInputFiles(opt.scan);
await page.getByTestId('scan-summary').waitFor();
const summaryText = await page.getByTestId('scan-summary').textContent();
const scanMemoryText = (await page.getByTestId('scan-memory').count())
  ? await page.getByTestId('scan-memory').textContent()
  : null;
await endPhase();
const scanError = (await page.getByTestId('scan-error').count())
  ? await page.getByTestId('scan-error').textContent()
  : null;

phase('idle-after-load');
await new Promise((r) => setTimeout(r, 1000 * Number(opt.idle)));
await endPhase();

let training = null;
/** The run's phase as the page shows it ('caching', 'training', 'done', ...). */
const trainPhase = async () =>
  ((await page.getByTestId('train-phase').textContent()) ?? '').split(':')[0].trim() || 'idle';
if (!opt['no-train']) {
  phase('cache');
  await page.getByLabel('max epochs').fill(opt.epochs);
  const shownBefore = (await page.getByTestId('train-memory').count())
    ? await page.getByTestId('train-memory').textContent()
    : null;
  log(`shown before the run: ${shownBefore}`);
  await page.getByTestId('train-start').click();
  let estimate = null;
  // the page's estimate, shown as soon as caching starts: "core features: ... (N MB, float16)"
  for (;;) {
    const t =
      (await page
        .getByTestId('train-progress')
        .textContent()
        .catch(() => '')) ?? '';
    const m = /\((\d+) MB, (float16|float32)\)/.exec(t);
    if (m && !estimate) {
      estimate = { cacheMB: Number(m[1]), precision: m[2] };
      log(`estimate shown: ${m[0]}`);
    }
    const phaseNow = await trainPhase();
    if (!['loading', 'caching', 'idle'].includes(phaseNow) || errors.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await endPhase();
  phase('train');
  while (!['done', 'stopped', 'error'].includes(await trainPhase()) && !errors.length)
    await new Promise((r) => setTimeout(r, 1000));
  training = {
    phase: await page.getByTestId('train-phase').textContent(),
    testCorrelation: await page
      .getByTestId('result-test-correlation')
      .textContent()
      .catch(() => null),
  };
  training.error = await page.evaluate(
    () => document.querySelector('[data-testid="training-panel"] .error')?.textContent ?? null,
  );
  training.estimate = estimate;
  training.shownBefore = shownBefore;
  await endPhase();
}
sampling = false;
await sampler;
const result = {
  scan: opt.scan,
  arrays: opt.arrays ?? null,
  scan_zip_mb: opt.scan ? +(statSync(opt.scan).size / MB).toFixed(0) : null,
  backend: opt.backend,
  summary: summaryText,
  scan_memory_shown: scanMemoryText,
  scan_error: scanError,
  phases,
  training,
  errors,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await browser.close();
server.close?.();
process.exit(0);
