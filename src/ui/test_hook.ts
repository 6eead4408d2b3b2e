/**
 * A small, read-only window into the store for the browser tests (`window.__v1x`): they check numbers the
 * page computed (predictions, backend) without scraping them from the DOM. Nothing here changes state that
 * the UI could not change itself.
 */

import type * as coreChecks from '../kernels/core_checks';
import { useStore } from '../state/store';
import type * as kernelChecks from './webgpu_kernel_checks';

export interface TestHook {
  /** Resolves once the backend is chosen (or failed). */
  backendReady(): Promise<{ backend: string | null; reason: string | null; tried: unknown[] }>;
  /** Resolves when the current model load (and its first prediction) has finished. */
  idle(): Promise<void>;
  /** The latest prediction as plain numbers, or null. */
  prediction(): { shape: number[]; data: number[]; backend: string; imagesName: string } | null;
  /**
   * Readout positions of the current model: grid units (N, 2) and stimulus pixels (N, 2), flattened; for a
   * factorized readout also its masks' peaks and centroids (grid units) and half-maximum sizes (pixels).
   */
  geometry(): {
    kind: string;
    position: string;
    grid: number[];
    pixels: number[];
    masks: { peak: number[]; centre: number[]; halfMaxPixels: number[]; height: number; width: number } | null;
  } | null;
  state(): { modelStatus: string; modelError: string | null; neurons: number | null; backend: string | null };
  /** The fine-tuning run: phase, where its readout steps ran and why, the validation correlation per epoch. */
  training(): {
    phase: string;
    readoutEngine: { engine: string; reason: string } | null;
    valCorrelations: number[];
    /** Training images per second of each epoch (the steps only; NaN for epoch 0). */
    imagesPerS: number[];
    testCorrelation: number | null;
  };
  /** The WGSL readout kernels and the WebAssembly path on the same inputs (webgpu_kernel_checks.ts), loaded on use. */
  webgpuKernels(): Promise<typeof kernelChecks>;
  /** The fast frozen core (our WebAssembly kernels) against the model's forward (kernels/core_checks.ts), loaded on use. */
  coreKernels(): Promise<typeof coreChecks>;
}

declare global {
  interface Window {
    __v1x?: TestHook;
  }
}

function waitFor(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) return resolve();
    const unsubscribe = useStore.subscribe(() => {
      if (check()) {
        unsubscribe();
        resolve();
      }
    });
  });
}

export function installTestHook(): void {
  window.__v1x = {
    async backendReady() {
      await waitFor(() => ['ready', 'error'].includes(useStore.getState().backendStatus));
      const b = useStore.getState().backend;
      return {
        backend: b?.backend ?? null,
        reason: b?.reason ?? useStore.getState().backendError,
        tried: b?.tried ?? [],
      };
    },
    async idle() {
      await waitFor(() => {
        const s = useStore.getState();
        return s.modelStatus !== 'loading' && !s.predicting && s.backendStatus !== 'selecting';
      });
    },
    prediction() {
      const p = useStore.getState().prediction;
      return p ? { shape: [...p.shape], data: Array.from(p.data), backend: p.backend, imagesName: p.imagesName } : null;
    },
    geometry() {
      const g = useStore.getState().geometry;
      if (!g) return null;
      const f = g.factorized;
      return {
        kind: g.kind,
        position: g.position,
        grid: Array.from(g.grid),
        pixels: Array.from(g.pixels),
        masks: f
          ? {
              peak: Array.from(f.geometry.peak),
              centre: Array.from(f.geometry.centre),
              halfMaxPixels: Array.from(f.geometry.halfMaxPixels),
              height: f.height,
              width: f.width,
            }
          : null,
      };
    },
    training() {
      const s = useStore.getState();
      const epochs = s.trainingHistory.filter((e) => e.kind === 'epoch');
      const test = s.trainingResult?.metrics;
      return {
        phase: s.trainingPhase,
        readoutEngine: s.trainingReadoutEngine,
        valCorrelations: epochs.map((e) => e.valCorrelation),
        imagesPerS: epochs.map((e) => e.imagesPerS),
        testCorrelation: test?.test_correlation ?? null,
      };
    },
    webgpuKernels: () => import('./webgpu_kernel_checks'),
    coreKernels: () => import('../kernels/core_checks'),
    state() {
      const s = useStore.getState();
      return {
        modelStatus: s.modelStatus,
        modelError: s.modelError,
        neurons: s.model?.neurons ?? null,
        backend: s.backend?.backend ?? null,
      };
    },
  };
  retainPromises(window.__v1x as unknown as Record<string, unknown>);
}

/**
 * Keeps every promise a hook function returns reachable from `window` until it settles. The browser tests await
 * them through the DevTools protocol, which holds them only weakly: one waiting on a store subscription was once
 * garbage collected mid-wait ("Resulting promise was garbage collected", a flaky browser test).
 */
function retainPromises(hook: Record<string, unknown>): void {
  const pending = new Set<Promise<unknown>>();
  (window as unknown as { __v1xPending: Set<Promise<unknown>> }).__v1xPending = pending;
  for (const [key, value] of Object.entries(hook)) {
    if (typeof value !== 'function') continue;
    const fn = value as (...args: unknown[]) => unknown;
    hook[key] = (...args: unknown[]) => {
      const out = fn.apply(hook, args);
      if (out instanceof Promise) {
        pending.add(out);
        void out.then(
          () => pending.delete(out),
          () => pending.delete(out),
        );
      }
      return out;
    };
  }
}
