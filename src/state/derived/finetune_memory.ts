/**
 * What fine-tuning a readout in the page adds to the tab's memory, for the estimate shown before a run starts.
 * The core-output cache is exact (planCache); the rest was measured in headless Chromium (bench/real_size_scan.mjs,
 * the Sensorium core on WebAssembly, 2 cores, so 2 core-pool workers and the training worker):
 *
 *   Lurz 2020-sized scan (5,993 trials, 5,335 neurons; scripts/make_real_size_scan.ts): cache 975 MB + scan 175 MB
 *     + responses 142 MB + runtimes 450 MB = 1,742 MB estimated; the renderer grew by 1,858 MB at its peak in one
 *     run (the estimate 6% low) and by 1,759 MB in another (scans loading in a worker; 1% low); with the readout's
 *     steps on the core workers (readout_shards.ts) by 1,861 MB (2026-12-07; 6% low: the workers' copies of the
 *     readout and step buffers fit in what the runtimes term already holds);
 *   the same kind with 250 train + validation images: 67 + 36 + 46 + 450 = 599 MB estimated; 554 and 570 MB
 *     measured in two runs (8% and 5% high).
 * (MB = 2^20 bytes.)
 *
 * The scan is copied into the training worker (structured clone), the worker holds the normalized responses of the
 * train and validation tiers and the test tier's predictions and responses, and each worker has its own JS heap and
 * tfjs-wasm memory, which grows to the largest batch it ran and is not returned (plus core outputs in flight
 * awaiting garbage collection): RUNTIME_BYTES, measured, not derived.
 */

import { tierIndices } from '../../io/scan/tiers';
import type { Scan } from '../../io/scan/types';
import { DEFAULT_CACHE_PRECISION } from '../../train/readout/feature_cache';
import { planCache } from '../../train/readout/finetune';

/** The workers' runtimes (see above): what the two scans' peaks leave after the other terms, 400-570 MB; 450 MB taken. */
export const RUNTIME_BYTES = 450 * 2 ** 20;

export interface FineTuneMemory {
  cache: number;
  scanCopy: number;
  responses: number;
  runtimes: number;
  total: number;
}

export function fineTuneMemory(scan: Scan, coreOutputShape: [number, number, number]): FineTuneMemory {
  const cache = planCache(scan, coreOutputShape, DEFAULT_CACHE_PRECISION).bytes;
  const scanCopy =
    scan.images.byteLength +
    scan.responses.byteLength +
    (scan.behavior?.byteLength ?? 0) +
    (scan.pupilCenter?.byteLength ?? 0);
  const rows =
    tierIndices(scan, 'train').length + tierIndices(scan, 'validation').length + 2 * tierIndices(scan, 'test').length;
  const responses = rows * scan.nNeurons * 4;
  const runtimes = RUNTIME_BYTES;
  return { cache, scanCopy, responses, runtimes, total: cache + scanCopy + responses + runtimes };
}

export function formatMB(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${Math.round(bytes / 2 ** 20)} MB`;
}
