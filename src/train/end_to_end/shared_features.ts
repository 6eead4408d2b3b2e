/**
 * New readouts that share their features across matched scans (model/feature_sharing.ts), as neuralpredictors'
 * MultiReadoutSharedParametersBase(share_features=True) builds them: the first scan's readout holds the M shared
 * vectors, every readout reads them with its own `scales` (initialized to 1, as neuralpredictors' `initialize`) and
 * `feature_sharing_index` (np.unique(match_ids, return_inverse=True)[1]). The readouts are first made as usual
 * (new_model.ts), then their state_dict entries are rewritten into the shared form, so the model is loaded, trained
 * and exported through the same code as a neuralpredictors checkpoint with shared features.
 *
 * Initial shared vectors: a Gaussian readout's features are all 1/C, so any row is the same; a factorized readout's
 * are N(0, init_noise) per neuron, and shared vector m takes the first scan's first neuron with match m (the same
 * distribution neuralpredictors draws the (M, C) parameter from).
 */
import type { HostTensor, StateDict } from '../../io/host_tensor';
import { type MatchedScanIds, matchedScanIndex } from '../../model/feature_sharing';

export interface SharedReadoutEntry extends MatchedScanIds {
  /** The readout's data key (its entries are `readout.<key>.*` of the state dict). */
  key: string;
}

/**
 * Rewrites the readouts' `_features` in `sd` (in place) into one shared tensor with per-readout `scales` and
 * `feature_sharing_index`. Throws (naming the scan) when the scans' match ids do not allow sharing
 * (matchedScanIndex) or a readout's entries are missing.
 */
export function shareReadoutFeatures(sd: StateDict, readouts: readonly SharedReadoutEntry[]): void {
  if (readouts.length === 0) return;
  const sharing = matchedScanIndex(readouts);
  const M = sharing[0].matches;
  const first = readouts[0];
  const feat0 = sd.get(`readout.${first.key}._features`);
  if (feat0?.dtype !== 'float32') throw new Error(`readout '${first.key}': no float32 _features to share`);
  const data = feat0.data as Float32Array;
  const factorized = sd.has(`readout.${first.key}.spatial`);
  const N0 = sharing[0].index.length;
  // the row of the first scan's first neuron with each match
  const rowOf = new Int32Array(M).fill(-1);
  sharing[0].index.forEach((m, n) => {
    if (rowOf[m] < 0) rowOf[m] = n;
  });
  let shared: HostTensor<'float32'>;
  if (factorized) {
    const C = feat0.shape[1];
    const out = new Float32Array(M * C);
    for (let m = 0; m < M; m++) out.set(data.subarray(rowOf[m] * C, (rowOf[m] + 1) * C), m * C);
    shared = { dtype: 'float32', shape: [M, C], data: out };
  } else {
    const C = feat0.shape[1]; // (1, C, 1, N)
    const out = new Float32Array(C * M);
    for (let c = 0; c < C; c++) for (let m = 0; m < M; m++) out[c * M + m] = data[c * N0 + rowOf[m]];
    shared = { dtype: 'float32', shape: [1, C, 1, M], data: out };
  }
  readouts.forEach((r, k) => {
    const p = `readout.${r.key}.`;
    if (!sd.has(`${p}_features`)) throw new Error(`readout '${r.key}': no _features to share`);
    if (sd.has(`${p}spatial`) !== factorized)
      throw new Error(`readout '${r.key}': features are shared only between readouts of one kind`);
    const N = sharing[k].index.length;
    sd.set(`${p}_features`, shared);
    sd.set(`${p}scales`, {
      dtype: 'float32',
      shape: factorized ? [N, 1] : [1, 1, 1, N],
      data: new Float32Array(N).fill(1),
    });
    sd.set(`${p}feature_sharing_index`, {
      dtype: 'int64',
      shape: [N],
      data: BigInt64Array.from(sharing[k].index, (i) => BigInt(i)),
    });
  });
}
