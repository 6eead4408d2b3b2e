/** Trial selections of a scan: tiers, and the repeats of each image that oracle metrics need. */
import type { Scan } from './types';

/** Scan positions of the trials in `tier`, in order (as neuralpredictors' np.where(tiers == tier)). */
export function tierIndices(scan: Pick<Scan, 'tiers'>, tier: string): Int32Array {
  let n = 0;
  for (const t of scan.tiers) if (t === tier) n++;
  const out = new Int32Array(n);
  let k = 0;
  scan.tiers.forEach((t, i) => {
    if (t === tier) out[k++] = i;
  });
  return out;
}

/** Number of trials per tier, in order of first appearance. */
export function tierCounts(scan: Pick<Scan, 'tiers'>): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of scan.tiers) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/**
 * The trials of `tier` grouped by frame_image_id, as neuralpredictors' RepeatsBatchSampler yields them:
 * groups in ascending image id, trials in ascending scan position. Images shown once form groups of one.
 */
export function repeatGroups(scan: Pick<Scan, 'tiers' | 'frameImageId'>, tier = 'test'): number[][] {
  const groups = new Map<number, number[]>();
  scan.tiers.forEach((t, i) => {
    if (t !== tier) return;
    const id = scan.frameImageId[i];
    const g = groups.get(id);
    if (g) g.push(i);
    else groups.set(id, [i]);
  });
  return [...groups.keys()].sort((a, b) => a - b).map((id) => groups.get(id)!);
}

/** True when at least one image of `tier` was shown more than once (oracle metrics need repeats). */
export function hasRepeats(scan: Pick<Scan, 'tiers' | 'frameImageId'>, tier = 'test'): boolean {
  return repeatGroups(scan, tier).some((g) => g.length > 1);
}
