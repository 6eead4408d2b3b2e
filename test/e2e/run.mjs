#!/usr/bin/env node
/**
 * Browser tests: a tiny runner over test/e2e/*.e2e.mjs. Each file exports named async tests that receive
 * { page, baseUrl, shot, fixtures, openPage, allowConsoleError, log }. The built app (dist/) is served by a
 * static server on 127.0.0.1; Debian's Chromium is driven by playwright-core, once with the flags that give
 * WebGPU through SwiftShader and once without them (to see the WebGL fallback).
 *
 * A test fails if it throws, if its page writes a console error or an uncaught exception, or if the page
 * requests anything that is not on this machine. `allowConsoleError(regex)` lets a test expect one error
 * message it provokes on purpose (e.g. the browser's own log line for a 404).
 *
 * Usage: node test/e2e/run.mjs [substring of "file › test" to run only some]
 * Env: E2E_TIMEOUT_MS (per test, default 300000), E2E_HEADED=1 (show the browser, needs a display), E2E_DIST (the
 * built app's folder, default dist/: several checkouts or builds side by side), E2E_SHOTS (screenshots folder).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FIXTURES as fixtures } from '../fixtures/e2e_paths.mjs';
import { COMMON_FLAGS, WEBGPU_FLAGS } from './chromium_flags.mjs';
import { startStaticServer } from './static_server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error('Chromium not found: sudo apt-get install -y chromium');
  process.exit(1);
}

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const dist = resolve(process.env.E2E_DIST || join(repo, 'dist'));
const shotsDir = resolve(process.env.E2E_SHOTS || join(repo, 'test-results', 'screenshots'));
const timeoutMs = Number(process.env.E2E_TIMEOUT_MS || 300_000);
const filter = process.argv[2] || '';

if (!existsSync(join(dist, 'index.html'))) {
  console.error('dist/index.html not found: run `npx vite build` first (npm run test:e2e does)');
  process.exit(1);
}
mkdirSync(shotsDir, { recursive: true });

const { chromium } = await import('playwright-core');

// Without the WebGPU flags navigator.gpu exists but requestAdapter() gives null, as on a browser whose GPU is
// blocklisted; WebGL still works there (software rendering), so the app must fall back to it.
const NO_WEBGPU_FLAGS = [];

const browsers = new Map();
async function browser(webgpu) {
  const key = webgpu ? 'webgpu' : 'no-webgpu';
  if (!browsers.has(key)) {
    browsers.set(
      key,
      chromium.launch({
        executablePath: CHROMIUM,
        headless: !process.env.E2E_HEADED,
        args: [...COMMON_FLAGS, ...(webgpu ? WEBGPU_FLAGS : NO_WEBGPU_FLAGS)],
      }),
    );
  }
  return browsers.get(key);
}

function isLocal(url) {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  return (u.protocol === 'http:' || u.protocol === 'ws:') && (u.hostname === '127.0.0.1' || u.hostname === 'localhost');
}

/** Everything a test may break: collected per test, checked after it. */
function makeProblems() {
  return { consoleErrors: [], offMachine: [], requests: [], allowed: [] };
}

/**
 * Pages open with `demo=off` (an empty page, as before the bundled demo existed) unless a test asks for the demo
 * (`demo: true`, or `test.demo = true` for the runner's own page): otherwise the demo, loading in the background,
 * would race the files a test loads.
 */
async function openPageWith(
  problems,
  contexts,
  { webgpu = true, query = '', demo = false, viewport = { width: 1280, height: 720 } } = {},
  baseUrl,
) {
  const b = await browser(webgpu);
  const context = await b.newContext({ viewport, acceptDownloads: true });
  contexts.push(context);
  // Off-machine requests are recorded (the test fails) and aborted so nothing leaves.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    problems.offMachine.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (r) => {
    problems.requests.push(r.url());
    if (!isLocal(r.url()) && !problems.offMachine.includes(r.url())) problems.offMachine.push(r.url());
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const i = problems.allowed.findIndex((re) => re.test(text));
    // An allowed error is consumed: each allowance covers one expected message.
    if (i >= 0) problems.allowed.splice(i, 1);
    else problems.consoleErrors.push(`console.error: ${text}`);
  });
  page.on('pageerror', (err) => problems.consoleErrors.push(`uncaught: ${err.message}`));
  page.on('crash', () => problems.consoleErrors.push('page crashed'));
  page.setDefaultTimeout(timeoutMs);
  retryCollectedQueries(page);
  if (query !== null) {
    const params = [query.replace(/^\?/, ''), demo ? '' : 'demo=off'].filter(Boolean).join('&');
    await page.goto(`${baseUrl}/index.html${params ? `?${params}` : ''}`);
  }
  return page;
}

/**
 * The test hook's read-only queries (`() => window.__v1x.backendReady()` and the like, asking nothing else) are
 * asked again, once, when Chromium reports "Resulting promise was garbage collected". The DevTools protocol holds
 * an awaited promise weakly; the hook keeps its promises reachable from `window` (src/ui/test_hook.ts), and yet
 * Chromium 150 collected one on a page opened right before, about once in 30 pages. Asking a query again cannot
 * change what it answers; anything else (a click, a training run) is never repeated and fails as before.
 */
const HOOK_QUERY = /^\(\)\s*=>\s*window\.__v1x\.(backendReady|idle|state|prediction|geometry|training)\(\)$/;
function retryCollectedQueries(page) {
  const evaluate = page.evaluate.bind(page);
  page.evaluate = async (fn, ...args) => {
    try {
      return await evaluate(fn, ...args);
    } catch (e) {
      if (!/Resulting promise was garbage collected/.test(String(e?.message)) || !HOOK_QUERY.test(String(fn).trim()))
        throw e;
      console.log(`       (asked again: Chromium collected the promise of ${String(fn).trim()})`);
      return evaluate(fn, ...args);
    }
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
    }),
  ]);
}

const server = await startStaticServer(dist);
const baseUrl = server.url;

const files = readdirSync(here)
  .filter((f) => f.endsWith('.e2e.mjs'))
  .sort();
let passed = 0;
const failed = [];
const started = Date.now();

for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href);
  for (const [name, test] of Object.entries(mod)) {
    if (typeof test !== 'function') continue;
    const id = `${file.replace(/\.e2e\.mjs$/, '')} › ${name}`;
    if (filter && !id.includes(filter)) continue;
    const problems = makeProblems();
    const contexts = [];
    const t0 = Date.now();
    const openPage = (opts = {}) => openPageWith(problems, contexts, opts, baseUrl);
    let page;
    let shots = 0;
    const shot = async (shotName, target = page) => {
      const path = join(shotsDir, `${file.replace(/\.e2e\.mjs$/, '')}-${name}-${shotName}.png`);
      await target.screenshot({ path, fullPage: true });
      shots++;
      return path;
    };
    let error = null;
    try {
      page = await openPage({ webgpu: true, query: test.query ?? '', demo: test.demo === true });
      const allowConsoleError = (re) => problems.allowed.push(re);
      await withTimeout(
        test({
          page,
          baseUrl,
          shot,
          fixtures,
          openPage,
          allowConsoleError,
          log: (...a) => console.log('      ', ...a),
        }),
        timeoutMs,
        id,
      );
    } catch (err) {
      error = err;
    }
    if (error) {
      // Every page the test opened, so the one that failed is among them.
      for (const [i, c] of contexts.entries()) {
        for (const [j, p] of c.pages().entries()) {
          if (!p.isClosed()) await shot(`failure-${i}${j ? `-${j}` : ''}`, p).catch(() => {});
        }
      }
    }
    const extra = [];
    if (problems.consoleErrors.length) extra.push(...problems.consoleErrors.slice(0, 5));
    if (problems.offMachine.length)
      extra.push(`requests off this machine: ${[...new Set(problems.offMachine)].slice(0, 5).join(', ')}`);
    for (const c of contexts) await c.close().catch(() => {});
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (!error && extra.length === 0) {
      passed++;
      console.log(`ok    ${id} (${secs} s, ${problems.requests.length} local requests, ${shots} screenshots)`);
    } else {
      failed.push(id);
      console.log(`FAIL  ${id} (${secs} s)`);
      if (error) console.log(`      ${(error.stack || String(error)).split('\n').slice(0, 6).join('\n      ')}`);
      for (const e of extra) console.log(`      ${e.slice(0, 500)}`);
    }
  }
}

for (const b of browsers.values()) await (await b).close().catch(() => {});
await server.close();

const total = passed + failed.length;
console.log(
  `\n${passed}/${total} browser tests passed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in test-results/screenshots/`,
);
if (total === 0) {
  console.log(filter ? `no test matches '${filter}'` : 'no tests found');
  process.exit(1);
}
if (failed.length) {
  console.log(`failed: ${failed.join(', ')}`);
  process.exit(1);
}
