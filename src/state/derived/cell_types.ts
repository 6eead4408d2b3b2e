/**
 * What the Cell types view ("what", Klindt et al. 2017) analyses: every neuron's feature vector over the core's
 * C channels (its "barcode") as one (N, C) matrix, whatever the readout, and the scan's ground-truth cell types
 * when the scan carries them and its neurons are the readout's. Also the pure helpers the view draws with
 * (cluster sizes and mean barcodes, colors of true types matched to clusters).
 *
 * Readouts plug in through `featureMatrixOf`: anything with `neurons`, `channels` and a `features` tensor whose
 * layout it knows. FullGaussian2d stores features (C, N) (torch (1, C, 1, N)); FullFactorized2d (N, C), told
 * apart by its spatial mask (`spatial`). A readout of another layout adds its case there, nothing else changes.
 * A loaded FullFactorized2d's barcodes are taken up to its sign symmetry ((m, f) and (-m, -f) predict the same):
 * each neuron's features times the sign of its mask's largest weight (model/factorized_masks.ts signedBarcodes),
 * else every cell type would split into two opposite barcodes.
 */
import { adjustedRandIndex } from '../../analysis/adjusted_rand';
import { type Contingency, contingency } from '../../analysis/contingency';
import { type Pca, pca } from '../../analysis/pca';
import { type FeatureScaling, scaleFeatures } from '../../analysis/scaling';
import type { Scan } from '../../io/scan';
import { signedBarcodes } from '../../model/factorized_masks';
import type { FullFactorized2d } from '../../model/factorized_readout';
import { factorizedHostParams } from '../../model/host_params';
import { neuronMajorFeatures } from '../../model/readout_types';
import type { LoadedModel } from '../services/model_service';

/** A population's feature vectors: row n is neuron n's weight on every core channel. */
export interface FeatureMatrix {
  /** (neurons, channels) row-major. */
  features: Float32Array;
  neurons: number;
  channels: number;
  /** Which readout they come from (for the view's caption), e.g. 'Gaussian', 'factorized'. */
  readoutKind: string;
  /** A factorized readout's neurons whose features were negated (their mask's largest weight is negative). */
  signFlipped?: number;
}

/** The parts of a readout the feature matrix needs; `spatial` marks a factorized readout's (N, C) layout. */
export interface FeatureReadout {
  neurons: number;
  channels: number;
  features: { shape: number[]; data(): Promise<ArrayLike<number>> };
  spatial?: unknown;
  /** Each neuron's features in the layout of `features` (with shared features: its scale * the shared vector). */
  neuronFeatures?(): { shape: number[]; data(): Promise<ArrayLike<number>>; dispose(): void };
}

export async function featureMatrixOf(readout: FeatureReadout): Promise<FeatureMatrix> {
  const { neurons: N, channels: C } = readout;
  const neuronsMajor = readout.spatial !== undefined;
  const expected = neuronsMajor ? [N, C] : [C, N];
  // shared features (model/feature_sharing.ts): `features` holds the shared vectors, each neuron reads its own
  const own = readout.neuronFeatures?.() ?? null;
  const shape = own ? own.shape : readout.features.shape;
  if (shape.length !== 2 || shape[0] !== expected[0] || shape[1] !== expected[1]) {
    own?.dispose();
    throw new Error(`readout features have shape (${shape.join(', ')}), expected (${expected.join(', ')})`);
  }
  // Variable.data() copies to the host and allocates no tensor.
  let data: ArrayLike<number>;
  try {
    data = own ? await own.data() : await readout.features.data();
  } finally {
    own?.dispose();
  }
  return {
    features: neuronsMajor ? Float32Array.from(data) : neuronMajorFeatures(data, C, N),
    neurons: N,
    channels: C,
    readoutKind: neuronsMajor ? 'factorized' : 'Gaussian',
  };
}

const cache = new WeakMap<LoadedModel, Promise<FeatureMatrix>>();

/** A factorized readout's barcodes up to its sign symmetry: features times the sign of the mask's largest weight. */
export async function signedFactorizedMatrix(readout: FullFactorized2d): Promise<FeatureMatrix> {
  const p = await factorizedHostParams(readout);
  const features = signedBarcodes(p.features, p.masks, p.neurons, p.channels);
  let flipped = 0;
  const HW = p.height * p.width;
  for (let n = 0; n < p.neurons; n++) {
    let extreme = 0;
    for (let i = n * HW; i < (n + 1) * HW; i++) if (Math.abs(p.masks[i]) > Math.abs(extreme)) extreme = p.masks[i];
    if (extreme < 0) flipped++;
  }
  return { features, neurons: p.neurons, channels: p.channels, readoutKind: 'factorized', signFlipped: flipped };
}

/** The loaded readout's feature matrix, read once per model object. */
export function readoutFeatureMatrix(model: LoadedModel): Promise<FeatureMatrix> {
  let p = cache.get(model);
  if (!p) {
    const readout = model.encoder.anyReadout(model.readoutKey);
    p =
      readout.kind === 'factorized'
        ? signedFactorizedMatrix(readout)
        : featureMatrixOf(readout as unknown as FeatureReadout);
    cache.set(model, p);
    p.catch(() => cache.delete(model));
  }
  return p;
}

/** PCA of the scaled feature vectors to 2-D (fast enough to run on the page: a C x C eigenproblem). */
export function pcaEmbedding(fm: FeatureMatrix, scaling: FeatureScaling): Pca {
  return pca(scaleFeatures({ data: fm.features, rows: fm.neurons, cols: fm.channels }, scaling));
}

/** Ground-truth types of the readout's neurons, or why there are none. */
export type TrueCellTypes = { types: Int32Array; count: number; note: string } | { types: null; note: string };

/**
 * The scan's ground-truth cell types (meta/neurons/cell_types.npy) when its neurons are the readout's: same
 * count (matched by neuron count as the other views do; the data key is named when it differs).
 */
export function trueCellTypes(model: Pick<LoadedModel, 'neurons' | 'readoutKey'>, scan: Scan | null): TrueCellTypes {
  if (!scan) return { types: null, note: 'no scan loaded' };
  const labels = scan.neurons.cellTypes;
  if (!labels) return { types: null, note: `the scan ${scan.name} has no ground-truth cell types` };
  if (scan.nNeurons !== model.neurons || labels.length !== model.neurons) {
    return { types: null, note: `the scan ${scan.name} has ${scan.nNeurons} neurons, this readout ${model.neurons}` };
  }
  const types = Int32Array.from(labels);
  const count = new Set(types).size;
  const key =
    scan.dataKey === model.readoutKey
      ? ''
      : ` (matched by neuron count: readout '${model.readoutKey}', scan '${scan.dataKey}')`;
  return { types, count, note: `ground truth from ${scan.name}${key}` };
}

/** Neurons per cluster and each cluster's mean feature vector ("the cluster's barcode"), (k, C) row-major. */
export function clusterSummary(
  fm: FeatureMatrix,
  labels: ArrayLike<number>,
  k: number,
): { sizes: Int32Array; means: Float32Array } {
  const { channels: C, features } = fm;
  const sizes = new Int32Array(k);
  const sums = new Float64Array(k * C);
  for (let n = 0; n < labels.length; n++) {
    const j = labels[n];
    sizes[j]++;
    for (let c = 0; c < C; c++) sums[j * C + c] += features[n * C + c];
  }
  const means = new Float32Array(k * C);
  for (let j = 0; j < k; j++) for (let c = 0; c < C; c++) means[j * C + c] = sizes[j] ? sums[j * C + c] / sizes[j] : 0;
  return { sizes, means };
}

/**
 * A color slot for every true type, so that the true-type scatter reads against the cluster scatter: pairs
 * (type, cluster) are matched greedily by how many neurons they share (largest first), each cluster's slot used
 * once; a type left over gets the next free slot at or above `clusters`. Returns slot per type label.
 */
export function matchTypesToClusters(
  types: ArrayLike<number>,
  clusters: ArrayLike<number>,
  k: number,
): Map<number, number> {
  const counts = new Map<string, number>();
  const typeLabels = new Set<number>();
  for (let n = 0; n < types.length; n++) {
    typeLabels.add(types[n]);
    const key = `${types[n]},${clusters[n]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const pairs = [...counts]
    .map(([key, count]) => {
      const [t, c] = key.split(',').map(Number);
      return { t, c, count };
    })
    .sort((a, b) => b.count - a.count || a.t - b.t || a.c - b.c);
  const slot = new Map<number, number>();
  const used = new Set<number>();
  for (const { t, c } of pairs) {
    if (slot.has(t) || used.has(c)) continue;
    slot.set(t, c);
    used.add(c);
  }
  let next = k;
  for (const t of [...typeLabels].sort((a, b) => a - b)) {
    if (slot.has(t)) continue;
    while (used.has(next)) next++;
    slot.set(t, next);
    used.add(next);
  }
  return slot;
}

/** Clusters against the true types: agreement, the confusion table and a color slot per neuron's true type. */
export interface TruthComparison {
  /** Adjusted Rand index of clusters and true types (1: the same partition; ~0: chance). */
  ari: number;
  /** Rows: true types; columns: clusters. */
  table: Contingency;
  /** Color slot of each true type (matchTypesToClusters). */
  typeSlots: Map<number, number>;
  /** Color slot of every neuron's true type. */
  neuronSlots: Int32Array;
}

export function compareWithTruth(clusters: ArrayLike<number>, types: ArrayLike<number>, k: number): TruthComparison {
  const typeSlots = matchTypesToClusters(types, clusters, k);
  return {
    ari: adjustedRandIndex(clusters, types),
    table: contingency(types, clusters),
    typeSlots,
    neuronSlots: Int32Array.from(types, (t) => typeSlots.get(t)!),
  };
}
