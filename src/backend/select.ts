/**
 * Browser (page or worker) tfjs backend choice: WebGPU when the browser gives an adapter, else WebGL, else
 * WASM, else cpu. Each attempt is recorded with why it failed, so the page can say why it runs where it runs.
 *
 * No DOM access here: the caller passes the override (e.g. from `?backend=`), so a Web Worker can use it too.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// `?url` makes Vite emit the binaries next to the bundle: the wasm backend then loads them from our own
// origin instead of a CDN, so no request leaves the machine.
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { registerWasmGradKernels } from '../kernels/wasm/grad_kernels';

export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

export interface BackendAttempt {
  name: BrowserBackend;
  ok: boolean;
  /** Why it works (adapter / renderer name) or why not. */
  reason: string;
}

export interface BackendChoice {
  backend: BrowserBackend;
  /** One sentence for the indicator: what runs and why this one. */
  reason: string;
  tried: BackendAttempt[];
}

export function isBrowserBackend(name: unknown): name is BrowserBackend {
  return typeof name === 'string' && (BROWSER_BACKENDS as readonly string[]).includes(name);
}

/** Reads `?backend=webgpu|webgl|wasm|cpu` from a query string; null when absent or not a backend name. */
export function backendFromQuery(search: string): BrowserBackend | null {
  const value = new URLSearchParams(search).get('backend');
  return isBrowserBackend(value) ? value : null;
}

let webgpuImported = false;
let wasmPathsSet = false;

/** Small op run on the new backend: a backend that registers but cannot compute is no backend. */
async function smokeTest(): Promise<void> {
  const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2, 3]), tf.scalar(1)));
  try {
    const values = await y.data();
    if (values[0] !== 2 || values[2] !== 4) throw new Error(`smoke test gave [${Array.from(values).join(', ')}]`);
  } finally {
    y.dispose();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function tryWebGPU(): Promise<string> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
  if (!webgpuImported) {
    // Loaded on demand: the WebGPU backend registers itself when its module runs.
    await import('@tensorflow/tfjs-backend-webgpu');
    webgpuImported = true;
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not initialize its WebGPU backend');
  await tf.ready();
  await smokeTest();
  const name = adapterName(adapter.info);
  // A software adapter (SwiftShader, the fallback adapter) is far slower than a GPU: say so, the user may switch.
  const software = isSoftwareAdapter(adapter.info);
  return `WebGPU adapter ${name || '(unnamed)'}${software ? ' (a software renderer: WASM may be faster here)' : ''}`;
}

async function tryWebGL(): Promise<string> {
  if (!(await tf.setBackend('webgl'))) throw new Error('no WebGL context could be created');
  await tf.ready();
  await smokeTest();
  return `WebGL ${tf.env().getNumber('WEBGL_VERSION')}`;
}

async function tryWasm(): Promise<string> {
  if (!wasmPathsSet) {
    setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
    });
    wasmPathsSet = true;
  }
  registerWasmGradKernels(); // the conv backprop kernels tfjs-backend-wasm 4.22 lacks (end-to-end training)
  if (!(await tf.setBackend('wasm'))) throw new Error('WebAssembly backend failed to initialize');
  await tf.ready();
  await smokeTest();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `WebAssembly${simd ? ' with SIMD' : ''}`;
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialize');
  await tf.ready();
  return 'plain JavaScript (slow)';
}

const attempts: Record<BrowserBackend, () => Promise<string>> = {
  webgpu: tryWebGPU,
  webgl: tryWebGL,
  wasm: tryWasm,
  cpu: tryCpu,
};

function explain(name: BrowserBackend, why: string, override: BrowserBackend | null, failed: BackendAttempt[]): string {
  if (override === name) return `${why}, chosen with ?backend=${name}`;
  if (override !== null) return `${why}; ?backend=${override} failed: ${failed[0]?.reason ?? ''}`;
  if (failed.length === 0) return `${why}; the first choice (WebGPU, then WebGL, WASM, CPU)`;
  return `${why}; ${failed.map((f) => `${f.name} unavailable: ${f.reason}`).join('; ')}`;
}

/**
 * Picks and activates a tfjs backend. With `override`, that backend is tried first; if it fails, the
 * usual order follows and the reason says the requested one failed.
 */
export async function selectBackend(override: BrowserBackend | null = null): Promise<BackendChoice> {
  const order: BrowserBackend[] = override
    ? [override, ...BROWSER_BACKENDS.filter((b) => b !== override)]
    : [...BROWSER_BACKENDS];
  const tried: BackendAttempt[] = [];
  for (const name of order) {
    try {
      const why = await attempts[name]();
      tried.push({ name, ok: true, reason: why });
      return {
        backend: name,
        reason: explain(
          name,
          why,
          override,
          tried.filter((t) => !t.ok),
        ),
        tried,
      };
    } catch (err) {
      tried.push({ name, ok: false, reason: message(err) });
    }
  }
  throw new Error(`no tfjs backend works here: ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}`);
}

/** What an adapter calls itself: vendor, architecture, description. */
export function adapterName(info: Partial<GPUAdapterInfo> | undefined): string {
  return [info?.vendor, info?.architecture, info?.description].filter((s) => s).join(' ');
}

/**
 * A software adapter: the fallback adapter flag (GPUAdapterInfo.isFallbackAdapter, Chrome 121+), or a software
 * renderer's name (SwiftShader, llvmpipe, Microsoft Basic Render Driver) in its vendor, architecture or description.
 */
export function isSoftwareAdapter(
  info: (Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }) | undefined,
): boolean {
  return !!info?.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software|basic render/i.test(adapterName(info));
}

/** Where a readout's fine-tuning steps run: the WGSL kernels (kernels/webgpu) or the WebAssembly SIMD ones. */
export type ReadoutEngineName = 'webgpu' | 'wasm';

export interface ReadoutEngineChoice {
  engine: ReadoutEngineName;
  /** One line for the page: which and why. */
  reason: string;
}

/**
 * The readout engine for an adapter (null: none) — the rule, without the browser: a hardware adapter gets WebGPU;
 * a software one (SwiftShader runs WGSL on the CPU, slower than our WebAssembly SIMD kernels) or none keeps WASM.
 * `force` (tests, `?readoutEngine=`) overrides; forcing WebGPU without an adapter still gives WASM, saying why.
 */
export function readoutEngineFor(
  info: (Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }) | null,
  force: ReadoutEngineName | null = null,
  unsupported: string | null = null,
): ReadoutEngineChoice {
  if (force === 'wasm') return { engine: 'wasm', reason: 'readout training on WASM, chosen with readoutEngine=wasm' };
  if (unsupported) return { engine: 'wasm', reason: `readout training on WASM: ${unsupported}` };
  if (!info) return { engine: 'wasm', reason: 'readout training on WASM: no WebGPU adapter' };
  const name = adapterName(info) || '(unnamed adapter)';
  if (isSoftwareAdapter(info)) {
    if (force === 'webgpu')
      return {
        engine: 'webgpu',
        reason: `readout training on WebGPU (${name}, a software adapter), forced with readoutEngine=webgpu`,
      };
    return {
      engine: 'wasm',
      reason: `readout training on WASM: the WebGPU adapter ${name} is a software renderer, slower than WebAssembly SIMD`,
    };
  }
  return {
    engine: 'webgpu',
    reason: `readout training on WebGPU: hardware adapter ${name}${force === 'webgpu' ? ' (readoutEngine=webgpu)' : ''}`,
  };
}

/** Reads `?readoutEngine=webgpu|wasm` from a query string; null when absent or not an engine name. */
/** ?readoutWorkers=0 keeps the readout's steps in the training worker (for comparisons); anything else: default. */
export function readoutWorkersFromQuery(search: string): boolean {
  return new URLSearchParams(search).get('readoutWorkers') !== '0';
}

export function readoutEngineFromQuery(search: string): ReadoutEngineName | null {
  const v = new URLSearchParams(search).get('readoutEngine');
  return v === 'webgpu' || v === 'wasm' ? v : null;
}

/**
 * Chooses the readout engine in this page or worker and, for WebGPU, the device: the tfjs WebGPU backend's when it
 * is the active backend (the core's output buffers are then bound by the kernels directly), else a new one.
 */
export async function chooseReadoutEngine(
  force: ReadoutEngineName | null = null,
): Promise<ReadoutEngineChoice & { device: GPUDevice | null }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu || force === 'wasm')
    return { ...readoutEngineFor(null, force, gpu ? null : 'this browser has no WebGPU'), device: null };
  const adapter = await gpu.requestAdapter();
  const choice = readoutEngineFor(adapter?.info ?? null, force);
  if (choice.engine !== 'webgpu' || !adapter) return { ...choice, device: null };
  if (tf.getBackend() === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    if (device) return { ...choice, reason: `${choice.reason}, sharing the core's device`, device };
  }
  return { ...choice, device: await adapter.requestDevice() };
}
