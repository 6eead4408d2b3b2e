/**
 * Feature sharing across readouts, as neuralpredictors' `MultiReadoutSharedParametersBase(share_features=True)`
 * does it: scans that recorded the same neurons (FileTree `meta/neurons/multi_match_id`) give each matched neuron
 * one feature vector ("what" it computes), held once by the first readout (the "original") and read by every
 * readout of the group, each neuron with its own scale:
 *
 *   features of neuron n = scales[n] * shared[feature_sharing_index[n]]
 *
 * `feature_sharing_index` is `np.unique(match_ids, return_inverse=True)[1]` of the readout's own match ids, so the
 * k-th shared vector belongs to the k-th smallest id: the indices line up across scans only when every scan holds
 * every id, which `matchedScanIndex` checks (as the Sensorium / nnfabrik model builders assert). A scan may hold one
 * id more than once (two of its neurons then share a vector); M, the number of shared vectors, is the number of
 * distinct ids.
 *
 * Layouts (neuralpredictors' own): FullGaussian2d `_features` (1, C, 1, M), `scales` (1, 1, 1, N);
 * FullFactorized2d `_features` (M, C), `scales` (N, 1); both `feature_sharing_index` (N) int64. Every sharing
 * readout's state_dict holds `_features` (PyTorch writes the one tensor under each module that holds it).
 *
 * What neuralpredictors does beside the forward pass, followed here: a Gaussian readout's feature L1 counts only in
 * the original (the others' `feature_l1` is 0; its L1 is of the scaled features), a factorized readout's
 * regularizer counts in every readout (of its scaled features); `constrain_pos` / `positive_weights` clamp a
 * temporary when features are shared, i.e. do not clamp them.
 */

/** How one readout's neurons read the shared features. */
export interface FeatureSharing {
  /** (N) the row of each neuron's vector among the M shared ones (neuralpredictors' `feature_sharing_index`). */
  index: Int32Array;
  /** M: the number of shared feature vectors (distinct match ids). */
  matches: number;
  /** Whether this readout owns the features (neuralpredictors' `_original_features`: the group's first readout). */
  original: boolean;
}

/** neuralpredictors' `np.unique(match_ids, return_inverse=True)`: the sorted distinct ids and each neuron's row. */
export function sharingIndexFromMatchIds(matchIds: ArrayLike<number>): { index: Int32Array; ids: number[] } {
  const ids = [...new Set(Array.from(matchIds))].sort((a, b) => a - b);
  const row = new Map(ids.map((id, k) => [id, k]));
  return { index: Int32Array.from(matchIds, (id) => row.get(id)!), ids };
}

/** A scan as feature sharing sees it: its name (for messages) and its neurons' match ids (null: none in the scan). */
export interface MatchedScanIds {
  name: string;
  matchIds: ArrayLike<number> | null | undefined;
}

/**
 * Each scan's sharing index, after checking that sharing is meaningful: every scan has match ids, every id is a
 * finite number, and every scan holds every id (otherwise neuralpredictors' index k would mean a different neuron in
 * different scans). The first scan's readout is the original. Throws an Error naming the scan and what is wrong.
 */
export function matchedScanIndex(scans: readonly MatchedScanIds[]): FeatureSharing[] {
  if (scans.length === 0) return [];
  const sets = scans.map((s) => {
    if (!s.matchIds || s.matchIds.length === 0)
      throw new Error(
        `scan ${s.name}: no meta/neurons/multi_match_id.npy (one match id per neuron), so its neurons cannot share features`,
      );
    for (let i = 0; i < s.matchIds.length; i++) {
      if (!Number.isFinite(s.matchIds[i]))
        throw new Error(`scan ${s.name}: multi_match_id of neuron ${i} is ${s.matchIds[i]}, not a number`);
    }
    return sharingIndexFromMatchIds(s.matchIds);
  });
  const first = sets[0].ids;
  sets.forEach((set, k) => {
    const same = set.ids.length === first.length && set.ids.every((id, i) => id === first[i]);
    if (same) return;
    const missing = first.filter((id) => !set.ids.includes(id));
    const extra = set.ids.filter((id) => !first.includes(id));
    const list = (xs: number[]): string => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, ... (${xs.length})` : '');
    throw new Error(
      `scan ${scans[k].name}: its match ids (meta/neurons/multi_match_id.npy) differ from scan ${scans[0].name}'s` +
        (missing.length ? `; missing ${list(missing)}` : '') +
        (extra.length ? `; not in ${scans[0].name}: ${list(extra)}` : '') +
        ': features are shared only when every scan holds every match id (as neuralpredictors assumes)',
    );
  });
  return sets.map((s, k) => ({ index: s.index, matches: first.length, original: k === 0 }));
}

/**
 * Host form of the features a shared readout uses, neuron-major: out[n, c] = scales[n] * shared[index[n], c]
 * with shared (M, C) row-major (a factorized readout's layout). Returns out ((N, C), allocated when absent).
 */
export function expandSharedFeatures(
  shared: Float32Array,
  scales: Float32Array,
  index: Int32Array,
  channels: number,
  out = new Float32Array(index.length * channels),
): Float32Array {
  const C = channels;
  for (let n = 0; n < index.length; n++) {
    const s = scales[n],
      row = index[n] * C;
    for (let c = 0; c < C; c++) out[n * C + c] = s * shared[row + c];
  }
  return out;
}

/**
 * The backward of expandSharedFeatures: given dL/d(neuron features) (N, C), adds dL/dshared (M, C) (each neuron's
 * gradient times its scale, summed over the neurons that read the row) and dL/dscales (N) (the gradient's dot
 * product with the shared row).
 */
export function accumulateSharedGradients(
  gradNeuron: Float32Array,
  shared: Float32Array,
  scales: Float32Array,
  index: Int32Array,
  channels: number,
  gradShared: Float32Array,
  gradScales: Float32Array,
): void {
  const C = channels;
  for (let n = 0; n < index.length; n++) {
    const s = scales[n],
      row = index[n] * C;
    let dot = 0;
    for (let c = 0; c < C; c++) {
      const g = gradNeuron[n * C + c];
      gradShared[row + c] += s * g;
      dot += g * shared[row + c];
    }
    gradScales[n] += dot;
  }
}

/** Checks a sharing index against its readout (N neurons, M shared vectors); returns a message or null. */
export function sharingIndexProblem(index: ArrayLike<number>, neurons: number, matches: number): string | null {
  if (index.length !== neurons) return `has ${index.length} entries for ${neurons} neurons`;
  for (let n = 0; n < index.length; n++) {
    const k = index[n];
    if (!Number.isInteger(k) || k < 0 || k >= matches)
      return `entry ${n} is ${k}, outside the ${matches} shared feature vectors (0..${matches - 1})`;
  }
  return null;
}
