/**
 * Matched scans: the same neurons recorded in several scans, each with its own images, trial order, noise and
 * response units (as a cell imaged again in another session), and `meta/neurons/multi_match_id.npy` saying which
 * neuron is which (neuralpredictors' match ids; feature sharing across the scans' readouts uses them:
 * model/feature_sharing.ts).
 *
 * Scan k (0-based) of a set is the scan simulated with seed `matchedScanSeed(seed, k)` for everything that differs
 * between recordings, and the population's own seed for the neurons, so scan 0 is the scan simulated alone. Every
 * scan keeps the population's neuron order (its truth files line up with its neurons); the match id of population
 * neuron n is n + 1 in every scan, and its unit id is the scan's own. Nothing downstream relies on the order: the
 * match ids alone pair the neurons.
 */
import type { ScanData } from './scan_writer';
import { simulateV1Scan, type V1Scan, type V1ScanOptions } from './v1_scan';

/** The recording seed of matched scan k: k = 0 is `seed` itself. */
export function matchedScanSeed(seed: number, k: number): number {
  return seed + 1000 * k;
}

/** Name of matched scan k of `count`: `<name>-<k+1>` (the name itself for a single scan). */
export function matchedScanName(name: string, k: number, count: number): string {
  return count > 1 ? `${name}-${k + 1}` : name;
}

/** The scan as matched scan k: match id n + 1 for neuron n, its own scan index and unit ids. */
export function asMatchedScan(scan: ScanData, k: number): ScanData {
  const offset = 100_000 * (k + 1); // unit ids are per scan (a new segmentation), match ids are shared
  return {
    ...scan,
    scanIdx: k + 1,
    unitIds: Array.from(scan.unitIds, (u) => offset + u),
    multiMatchId: Array.from({ length: scan.neurons }, (_, n) => n + 1),
  };
}

/**
 * `count` matched scans of the project's Gabor population (v1_scan.ts): one animal (`animalSeed`: map and
 * neurons), scan k with scanSeed matchedScanSeed(scanSeed, k) (images, trial order, noise, units) and name
 * matchedScanName(name, k, count).
 */
export function simulateMatchedV1Scans(o: V1ScanOptions, count: number): V1Scan[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`matched scans must be a positive integer, got ${count}`);
  const name = o.name ?? `static-v1sim-${o.animalSeed}`;
  const scanSeed = o.scanSeed ?? o.animalSeed + 7919;
  return Array.from({ length: count }, (_, k) => {
    const v = simulateV1Scan({ ...o, name: matchedScanName(name, k, count), scanSeed: matchedScanSeed(scanSeed, k) });
    return { ...v, scan: asMatchedScan(v.scan, k) };
  });
}
