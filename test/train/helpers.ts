/** Shared pieces of the fine-tuning tests: fixture files, the fixture readout as a TrainableReadout. */
import { readFileSync } from 'node:fs';
import { type HostTensor, type StateDict, toFloat32 } from '../../src/io/host_tensor';
import { parseNumericNpy } from '../../src/io/npy';
import type { Scan } from '../../src/io/scan/types';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import type { TrainableReadout } from '../../src/model/readout_types';
import { readoutFromStateDict as importReadout } from '../../src/train/export';
import { SOTA } from '../fixtures/paths';

export { SIM, SOTA } from '../fixtures/paths';
export const SOTA_KEY = '26872-17-20';

export function npy(path: string): HostTensor {
  return parseNumericNpy(readFileSync(path), path);
}

export async function sotaStateDict(): Promise<StateDict> {
  return readCheckpoint(readFileSync(`${SOTA}/model.pth`), 'model.pth');
}

/** NCHW (B, C, H, W) -> one (H, W, C) map per image. */
export function nchwToMaps(t: HostTensor): Float32Array[] {
  const [B, C, H, W] = t.shape;
  const d = toFloat32(t);
  const maps: Float32Array[] = [];
  for (let b = 0; b < B; b++) {
    const m = new Float32Array(H * W * C);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[(y * W + x) * C + c] = d[((b * C + c) * H + y) * W + x];
    maps.push(m);
  }
  return maps;
}

/** The readout `readout.<key>.*` of a neuralpredictors state dict (full Gaussian, cortex position network). */
export function readoutFromStateDict(sd: StateDict, key: string): TrainableReadout {
  return importReadout(sd, key, true);
}

/** Fixture tolerance for gradients: |a - b| <= 1e-4 max|b| + 1e-4 |b|; returns the worst excess ratio (<= 1 passes). */
export function gradExcess(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let maxB = 0;
  for (let i = 0; i < b.length; i++) maxB = Math.max(maxB, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const tol = 1e-4 * maxB + 1e-4 * Math.abs(b[i]);
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / tol);
  }
  return worst;
}

/** A scan restricted to some trials (same neurons, statistics and normalizer): small, fast end-to-end tests. */
export function subsetScan(scan: Scan, trials: ArrayLike<number>): Scan {
  const per = scan.imageShape[0] * scan.imageShape[1] * scan.imageShape[2];
  const N = scan.nNeurons;
  const T = trials.length;
  const images = scan.images instanceof Uint8Array ? new Uint8Array(T * per) : new Float32Array(T * per);
  const responses = new Float32Array(T * N);
  for (let k = 0; k < T; k++) {
    const t = trials[k];
    images.set(scan.images.subarray(t * per, (t + 1) * per), k * per);
    responses.set(scan.responses.subarray(t * N, (t + 1) * N), k * N);
  }
  const pick = <A extends { [i: number]: number }>(a: A, make: (n: number) => A): A => {
    const o = make(T);
    for (let k = 0; k < T; k++) o[k] = a[trials[k]];
    return o;
  };
  return {
    ...scan,
    nTrials: T,
    images,
    responses,
    tiers: Array.from(trials, (t) => scan.tiers[t]),
    frameImageId: pick(scan.frameImageId, (n) => new Float64Array(n)),
    fileIndex: pick(scan.fileIndex, (n) => new Int32Array(n)),
    trialIdx: scan.trialIdx ? pick(scan.trialIdx, (n) => new Float64Array(n)) : undefined,
    frameImageClass: scan.frameImageClass ? Array.from(trials, (t) => scan.frameImageClass![t]) : undefined,
    behavior: undefined,
    pupilCenter: undefined,
  };
}

/** First `counts[tier]` trials of each tier (test: whole repeat groups of the first images). */
export function pickTrials(scan: Scan, counts: { train: number; validation: number; testImages: number }): Int32Array {
  const out: number[] = [];
  const seen = { train: 0, validation: 0 };
  const testIds = new Set<number>();
  scan.tiers.forEach((tier, t) => {
    if (tier === 'train' && seen.train < counts.train) {
      seen.train++;
      out.push(t);
    } else if (tier === 'validation' && seen.validation < counts.validation) {
      seen.validation++;
      out.push(t);
    } else if (tier === 'test') {
      const id = scan.frameImageId[t];
      if (testIds.has(id) || testIds.size < counts.testImages) {
        testIds.add(id);
        out.push(t);
      }
    }
  });
  return Int32Array.from(out);
}

/** The largest difference between `got` and `want`, relative to the largest magnitude in `want`. */
export function maxRelDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`lengths differ: ${got.length} vs ${want.length}`);
  let scale = 0,
    worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  return worst / scale;
}
