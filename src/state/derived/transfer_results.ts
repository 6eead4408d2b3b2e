/**
 * The transfer experiment's shipped results (public/demo/transfer_results.json, written by `npm run train:demo`),
 * read at build time so that the page shows them at once and makes no request for them. Parsed defensively: the
 * file is ours, but a missing or malformed one must leave the view with "no shipped results", not a crash.
 */
import type { TransferCondition } from '../../experiments/transfer';

export const TRANSFER_CONDITIONS: readonly TransferCondition[] = ['transfer', 'random', 'direct'];

export interface TransferPoint {
  condition: TransferCondition;
  images: number;
  fractionOracle: number;
  testCorrelation: number | null;
  /** 'shipped': from transfer_results.json; 'browser': run on this page. */
  origin: 'shipped' | 'browser';
  epochs: number | null;
  seconds: number | null;
}

export interface ShippedTransfer {
  animal: string;
  neurons: number | null;
  sizes: number[];
  seed: number;
  points: TransferPoint[];
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The points of a transfer_results.json object; cells without a finite fraction oracle are left out. */
export function parseTransferResults(json: unknown): ShippedTransfer | null {
  if (!json || typeof json !== 'object') return null;
  const o = json as Record<string, unknown>;
  const conditions = o.conditions as Record<string, unknown> | undefined;
  if (!conditions || typeof conditions !== 'object') return null;
  const points: TransferPoint[] = [];
  for (const condition of TRANSFER_CONDITIONS) {
    const cells = conditions[condition];
    if (!Array.isArray(cells)) continue;
    for (const c of cells as Record<string, unknown>[]) {
      const images = num(c?.images),
        fo = num(c?.fraction_oracle);
      if (images === null || images < 1 || fo === null) continue;
      points.push({
        condition,
        images,
        fractionOracle: fo,
        testCorrelation: num(c.test_correlation),
        origin: 'shipped',
        epochs: num(c.epochs),
        seconds: num(c.seconds),
      });
    }
  }
  const sizes = Array.isArray(o.sizes)
    ? (o.sizes as unknown[]).map(num).filter((v): v is number => v !== null && v >= 1)
    : [];
  return {
    animal: typeof o.animal === 'string' ? o.animal : 'the held-out animal',
    neurons: num(o.neurons),
    sizes: sizes.length ? sizes : [...new Set(points.map((p) => p.images))].sort((a, b) => a - b),
    seed: num(o.seed) ?? 2024,
    points,
  };
}
