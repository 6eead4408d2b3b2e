/**
 * What the Neuron inspector and the Core view compute from the loaded model, kept out of the components:
 * the readout's feature weights, the first layer's filters, the core's feature maps for one image, and the
 * model's predictions on a matching scan's test images with the field's metrics. Results are cached per
 * model object (a rebuilt or replaced model is a new object, so stale results are never shown) and, for the
 * feature maps, per image set and image. Every tensor made here is disposed before the promise resolves.
 */
import { toFloat32 } from '../../io/host_tensor';
import type { Scan } from '../../io/scan';
import { normalizedResponses, repeatGroups } from '../../io/scan';
import { evaluate, type MetricsSummary, type PerNeuronMetrics } from '../../metrics/evaluate';
import { channelMajorFeatures } from '../../model/readout_types';
import type { ImageSet } from '../derived/test_images';
import type { LoadedModel } from './model_service';
import { predictInPage } from './page_inference';
import { scanTestImages } from './scan_service';

// ---- readout feature weights ----

/**
 * The readout's feature weights (C, N) row-major: a FullGaussian2d's torch `_features[0, :, 0, :]`, a
 * FullFactorized2d's `_features` (N, C) transposed to the same layout.
 */
export interface ReadoutFeatures {
  channels: number;
  neurons: number;
  data: Float32Array;
}

const featuresCache = new WeakMap<LoadedModel, Promise<ReadoutFeatures>>();

export function readoutFeatures(model: LoadedModel): Promise<ReadoutFeatures> {
  let p = featuresCache.get(model);
  if (!p) {
    const readout = model.encoder.anyReadout(model.readoutKey);
    const { channels: C, neurons: N } = readout;
    // Each neuron's features (with shared features: its scale * the shared vector), copied to the host.
    const own = readout.neuronFeatures();
    p = own.data().then((d) => ({
      channels: C,
      neurons: N,
      data:
        readout.kind === 'factorized'
          ? channelMajorFeatures(d as Float32Array, N, C)
          : Float32Array.from(d as Float32Array),
    }));
    featuresCache.set(model, p);
    p.finally(() => own.dispose()).catch(() => featuresCache.delete(model));
  }
  return p;
}

/** Neuron n's weight for every channel: column n of the (C, N) features. */
export function neuronFeatures(f: ReadoutFeatures, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0 || n >= f.neurons)
    throw new RangeError(`neuron ${n} is not in 0..${f.neurons - 1}`);
  const out = new Float32Array(f.channels);
  for (let c = 0; c < f.channels; c++) out[c] = f.data[c * f.neurons + n];
  return out;
}

/** Index of the largest |w| (the channel the neuron reads most strongly); first one on ties. */
export function strongestChannel(weights: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < weights.length; c++) if (Math.abs(weights[c]) > Math.abs(weights[best])) best = c;
  return best;
}

// ---- first-layer filters ----

/** The core's first convolution, PyTorch layout (out, in, kh, kw) row-major. */
export interface FirstLayerFilters {
  count: number;
  inChannels: number;
  kh: number;
  kw: number;
  data: Float32Array;
}

const filtersCache = new WeakMap<LoadedModel, Promise<FirstLayerFilters>>();

export function firstLayerFilters(model: LoadedModel): Promise<FirstLayerFilters> {
  let p = filtersCache.get(model);
  if (!p) {
    const w = model.encoder.core.firstLayerWeight;
    const [kh, kw, cin, cout] = w.shape;
    // tfjs keeps (kh, kw, in, out); the view and the tests think in PyTorch's (out, in, kh, kw).
    p = w.data().then((d) => {
      const src = d as Float32Array;
      const data = new Float32Array(src.length);
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          for (let i = 0; i < cin; i++) {
            for (let o = 0; o < cout; o++)
              data[((o * cin + i) * kh + y) * kw + x] = src[((y * kw + x) * cin + i) * cout + o];
          }
        }
      }
      return { count: cout, inChannels: cin, kh, kw, data };
    });
    filtersCache.set(model, p);
    p.catch(() => filtersCache.delete(model));
  }
  return p;
}

// ---- core feature maps ----

/** The core's output for one image: (C, H, W) row-major, with ranges for color scales. */
export interface FeatureMaps {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
  min: number;
  max: number;
  channelMin: Float32Array;
  channelMax: Float32Array;
  /** The backend that computed them and how long it took. */
  backend: string;
  milliseconds: number;
}

/** Feature maps kept per image set (64 x 28 x 56 floats are ~400 kB; a few dozen images is plenty). */
const MAX_CACHED_IMAGES = 24;
const mapsCache = new WeakMap<LoadedModel, WeakMap<ImageSet, Map<number, Promise<FeatureMaps>>>>();

/** Per-channel and overall min/max of (C, H, W) maps. */
export function mapRanges(
  data: Float32Array,
  channels: number,
): { min: number; max: number; channelMin: Float32Array; channelMax: Float32Array } {
  const per = data.length / channels;
  const channelMin = new Float32Array(channels).fill(Infinity);
  const channelMax = new Float32Array(channels).fill(-Infinity);
  for (let c = 0; c < channels; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = c * per; i < (c + 1) * per; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    channelMin[c] = lo;
    channelMax[c] = hi;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let c = 0; c < channels; c++) {
    if (channelMin[c] < min) min = channelMin[c];
    if (channelMax[c] > max) max = channelMax[c];
  }
  return { min, max, channelMin, channelMax };
}

/** Eval-mode core output for image `index` of `images`, computed once per (model, image set, image). */
export function coreFeatureMaps(model: LoadedModel, images: ImageSet, index: number): Promise<FeatureMaps> {
  const [count, c, h, w] = images.shape;
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new RangeError(`image ${index} is not in 0..${count - 1}`);
  let perModel = mapsCache.get(model);
  if (!perModel) {
    perModel = new WeakMap();
    mapsCache.set(model, perModel);
  }
  let perImages = perModel.get(images);
  if (!perImages) {
    perImages = new Map();
    perModel.set(images, perImages);
  }
  const hit = perImages.get(index);
  if (hit) {
    // Most recently used last, so the oldest is evicted first.
    perImages.delete(index);
    perImages.set(index, hit);
    return hit;
  }
  const per = c * h * w;
  const t0 = performance.now();
  const p = model.encoder
    .coreOutput(images.data.subarray(index * per, (index + 1) * per), { batchSize: 1 })
    .then((out) => {
      const [, oc, oh, ow] = out.shape;
      const data = out.data as Float32Array;
      return {
        channels: oc,
        height: oh,
        width: ow,
        data,
        ...mapRanges(data, oc),
        backend: model.backend,
        milliseconds: performance.now() - t0,
      };
    });
  perImages.set(index, p);
  p.catch(() => perImages.delete(index));
  while (perImages.size > MAX_CACHED_IMAGES) perImages.delete(perImages.keys().next().value!);
  return p;
}

/** Readout position (grid units, align_corners=True) -> feature-map pixel coordinates (column, row). */
export function gridToFeaturePixel(gx: number, gy: number, width: number, height: number): [number, number] {
  return [((gx + 1) / 2) * (width - 1), ((gy + 1) / 2) * (height - 1)];
}

/**
 * One channel of the feature maps sampled at a readout position exactly as grid_sample (bilinear,
 * align_corners=True, zeros outside): what the readout multiplies by the neuron's weight for that channel.
 */
export function sampleMap(maps: FeatureMaps, channel: number, gx: number, gy: number): number {
  const [ix, iy] = gridToFeaturePixel(gx, gy, maps.width, maps.height);
  const x0 = Math.floor(ix);
  const y0 = Math.floor(iy);
  const fx = ix - x0;
  const fy = iy - y0;
  const at = (x: number, y: number): number =>
    x < 0 || y < 0 || x >= maps.width || y >= maps.height ? 0 : maps.data[(channel * maps.height + y) * maps.width + x];
  return (
    (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
    fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
  );
}

/**
 * What a factorized readout reads from one channel: the channel's map weighted by the neuron's mask and summed,
 * sum_{h,w} m[h, w] x[c, h, w] (`mask` (h, w) at `offset` of a (N, h, w) array); the readout multiplies it by the
 * neuron's weight for that channel.
 */
export function maskedSum(maps: FeatureMaps, channel: number, mask: ArrayLike<number>, offset: number): number {
  const HW = maps.height * maps.width;
  let s = 0;
  for (let p = 0; p < HW; p++) s += mask[offset + p] * maps.data[channel * HW + p];
  return s;
}

// ---- top images ----

/** Indices of the k images with the largest predicted response of neuron n, largest first. */
export function topImages(predictions: Float32Array, neurons: number, n: number, k: number): number[] {
  const count = predictions.length / neurons;
  const order = Array.from({ length: count }, (_v, i) => i);
  order.sort((a, b) => predictions[b * neurons + n] - predictions[a * neurons + n] || a - b);
  return order.slice(0, Math.max(0, k));
}

// ---- predicted vs observed on a scan's test images ----

/** Whether the loaded scan's neurons are the readout's neurons, and why not when they are not. */
export function scanMatchesReadout(model: LoadedModel, scan: Scan): { ok: boolean; reason: string } {
  if (scan.nNeurons !== model.neurons) {
    return {
      ok: false,
      reason: `the loaded scan ${scan.name} has ${scan.nNeurons.toLocaleString('en-US')} neurons, this readout ${model.neurons.toLocaleString('en-US')}`,
    };
  }
  if (!scan.imageShape.every((v, i) => v === model.inputShape[i])) {
    return {
      ok: false,
      reason: `the scan's images are ${scan.imageShape.join('×')}, the model takes ${model.inputShape.join('×')}`,
    };
  }
  if (repeatGroups(scan, 'test').length === 0) return { ok: false, reason: `the scan ${scan.name} has no test trials` };
  const key =
    scan.dataKey === model.readoutKey
      ? ''
      : ` (matched by neuron count: readout '${model.readoutKey}', scan data key '${scan.dataKey}')`;
  return { ok: true, reason: `${scan.name}, test tier${key}` };
}

/** The model on every distinct test image of a scan, the recorded test trials and the field's metrics. */
export interface ScanTestComparison {
  scanName: string;
  neurons: number;
  /** Distinct test images, in repeat-group order (ascending frame_image_id). */
  images: ImageSet;
  /** Trials (scan positions) of each image. */
  groups: number[][];
  /** (images, neurons) predicted responses. */
  predictions: Float32Array;
  /** (test trials, neurons) normalized recorded responses, trials in group order. */
  responses: Float32Array;
  perNeuron: PerNeuronMetrics;
  summary: MetricsSummary;
  milliseconds: number;
}

const comparisonCache = new WeakMap<LoadedModel, WeakMap<Scan, Promise<ScanTestComparison>>>();

export function scanTestComparison(model: LoadedModel, scan: Scan): Promise<ScanTestComparison> {
  let perModel = comparisonCache.get(model);
  if (!perModel) {
    perModel = new WeakMap();
    comparisonCache.set(model, perModel);
  }
  let p = perModel.get(scan);
  if (!p) {
    p = computeComparison(model, scan);
    perModel.set(scan, p);
    const m = perModel;
    p.catch(() => m.delete(scan));
  }
  return p;
}

async function computeComparison(model: LoadedModel, scan: Scan): Promise<ScanTestComparison> {
  const match = scanMatchesReadout(model, scan);
  if (!match.ok) throw new Error(match.reason);
  const t0 = performance.now();
  const groups = repeatGroups(scan, 'test');
  const images = scanTestImages(scan, Infinity);
  const N = model.neurons;
  const { y } = await predictInPage(model, images.data);
  const predictions = y.data as Float32Array;
  const trials = groups.flat();
  const responses = normalizedResponses(scan, Int32Array.from(trials));
  // Each trial gets its image's prediction (eval mode: repeats of an image predict the same).
  const trialPredictions = new Float32Array(trials.length * N);
  const imageIds = new Float64Array(trials.length);
  let row = 0;
  groups.forEach((g, gi) => {
    for (const t of g) {
      trialPredictions.set(predictions.subarray(gi * N, (gi + 1) * N), row * N);
      imageIds[row] = scan.frameImageId[t];
      row++;
    }
  });
  const { perNeuron, summary } = evaluate({ predictions: trialPredictions, responses, neurons: N, imageIds });
  return {
    scanName: scan.name,
    neurons: N,
    images,
    groups,
    predictions,
    responses,
    perNeuron,
    summary,
    milliseconds: performance.now() - t0,
  };
}

/** Neuron n on each test image: prediction, mean and standard deviation (ddof 0) of the recorded repeats. */
export interface NeuronTestResponses {
  predicted: Float64Array;
  observedMean: Float64Array;
  observedStd: Float64Array;
  repeats: Int32Array;
}

export function neuronTestResponses(cmp: ScanTestComparison, n: number): NeuronTestResponses {
  const N = cmp.neurons;
  if (!Number.isInteger(n) || n < 0 || n >= N) throw new RangeError(`neuron ${n} is not in 0..${N - 1}`);
  const G = cmp.groups.length;
  const predicted = new Float64Array(G);
  const observedMean = new Float64Array(G);
  const observedStd = new Float64Array(G);
  const repeats = new Int32Array(G);
  let row = 0;
  cmp.groups.forEach((g, gi) => {
    predicted[gi] = cmp.predictions[gi * N + n];
    let s = 0;
    for (let k = 0; k < g.length; k++) s += cmp.responses[(row + k) * N + n];
    const m = s / g.length;
    let v = 0;
    for (let k = 0; k < g.length; k++) v += (cmp.responses[(row + k) * N + n] - m) ** 2;
    observedMean[gi] = m;
    observedStd[gi] = Math.sqrt(v / g.length);
    repeats[gi] = g.length;
    row += g.length;
  });
  return { predicted, observedMean, observedStd, repeats };
}

// ---- shared features across readouts ----

/** One readout's neurons that read the same shared feature vector, with their scales. */
export interface SharedFeatureReaders {
  readout: string;
  neurons: number[];
  scales: number[];
}

/**
 * Where a neuron's features come from when its readout shares them (model/feature_sharing.ts, neuralpredictors'
 * share_features): the shared vector it reads (row k of the M; the k-th smallest match id), its scale, the readout
 * that holds the vectors, and every other neuron of the group's readouts that reads the same vector (its matched
 * neuron in the other scans), all read from the checkpoint. Null when the readout has its own features.
 */
export interface SharedFeatureLinks {
  vector: number;
  matches: number;
  scale: number;
  source: string;
  others: SharedFeatureReaders[];
}

export function sharedFeatureLinks(model: LoadedModel, neuron: number): SharedFeatureLinks | null {
  const arch = model.architecture.readouts;
  const own = arch.find((r) => r.key === model.readoutKey);
  if (!own?.sharing) return null;
  const sd = model.source.stateDict;
  const ints = (key: string): number[] => {
    const t = sd.get(`readout.${key}.feature_sharing_index`);
    return t ? Array.from(toFloat32(t)) : [];
  };
  const floats = (key: string): number[] => {
    const t = sd.get(`readout.${key}.scales`);
    return t ? Array.from(toFloat32(t)) : [];
  };
  const index = ints(own.key);
  if (neuron < 0 || neuron >= index.length) return null;
  const vector = index[neuron];
  const others: SharedFeatureReaders[] = [];
  for (const r of arch) {
    if (!r.sharing || r.sharing.source !== own.sharing.source) continue;
    const idx = ints(r.key),
      sc = floats(r.key);
    const neurons = idx.flatMap((k, n) => (k === vector && !(r.key === own.key && n === neuron) ? [n] : []));
    if (neurons.length) others.push({ readout: r.key, neurons, scales: neurons.map((n) => sc[n]) });
  }
  return {
    vector,
    matches: own.sharing.matches,
    scale: floats(own.key)[neuron],
    source: own.sharing.source,
    others,
  };
}
