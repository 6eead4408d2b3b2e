/**
 * Trials grouped by the image they showed (`frame_image_id`): the repeats that the oracle, the correlation
 * to the average and FEVE are built on. Groups are ordered by image id, as Sensorium's `split_images`
 * (np.unique) orders them; the order changes no metric.
 */
export interface RepeatGroup {
  imageId: number;
  /** Row indices (into the arrays handed to the metrics) of the trials that showed this image. */
  trials: number[];
}

export function groupByImage(imageIds: ArrayLike<number | bigint>): RepeatGroup[] {
  const byId = new Map<number, number[]>();
  for (let i = 0; i < imageIds.length; i++) {
    const id = Number(imageIds[i]);
    let g = byId.get(id);
    if (!g) {
      g = [];
      byId.set(id, g);
    }
    g.push(i);
  }
  return [...byId.entries()].sort((x, y) => x[0] - y[0]).map(([imageId, trials]) => ({ imageId, trials }));
}

/** Groups with at least two trials: the only ones that carry information about trial-to-trial noise. */
export function repeatedGroups(groups: RepeatGroup[]): RepeatGroup[] {
  return groups.filter((g) => g.trials.length >= 2);
}

/**
 * Mean over the trials of each group: a (groups, neurons) row-major array, in group order.
 */
export function groupMeans(values: Float32Array | Float64Array, neurons: number, groups: RepeatGroup[]): Float64Array {
  const out = new Float64Array(groups.length * neurons);
  groups.forEach((g, gi) => {
    const row = gi * neurons;
    for (const t of g.trials) {
      const src = t * neurons;
      for (let n = 0; n < neurons; n++) out[row + n] += values[src + n];
    }
    const k = g.trials.length;
    for (let n = 0; n < neurons; n++) out[row + n] /= k;
  });
  return out;
}
