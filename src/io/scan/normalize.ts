/**
 * neuralpredictors' NeuroNormalizer: built from the scan statistics, applied on demand to the trials a
 * caller asks for (a batch, a tier), so the scan itself keeps its raw (and compact uint8) arrays.
 */
import { InputError } from '../host_tensor';
import type { NormalizedGroup, Normalizer, Scan, Statistics } from './types';

/** Response precision with NeuroNormalizer's threshold rule (over every neuron given; NaN std ignored in the mean). */
export function responsePrecision(std: Float32Array): Float32Array {
  let sum = 0,
    count = 0;
  for (const s of std)
    if (!Number.isNaN(s)) {
      sum += s;
      count++;
    }
  // np.nanmean in float32 then 0.01 * it: the comparison is done in float32 as neuralpredictors does.
  const threshold = Math.fround(0.01 * Math.fround(count ? sum / count : NaN));
  const out = new Float32Array(std.length);
  for (let i = 0; i < std.length; i++) out[i] = std[i] > threshold ? 1 / std[i] : 1 / threshold;
  return out;
}

export interface NormalizerInputs {
  images: Statistics;
  /** Statistics of every neuron in the files (before dropping), so the threshold matches neuralpredictors. */
  responses: Statistics;
  behavior?: Statistics;
  pupilCenter?: Statistics;
  /** Rows of the kept neurons. */
  keepNeurons: Int32Array;
  exclude: NormalizedGroup[];
  statsSource: string;
  subtractBehaviorMean: boolean;
  /** Names the statistics folder in errors. */
  statsPath: (group: string, stat: string) => string;
}

export function buildNormalizer(s: NormalizerInputs): Normalizer {
  const ex = new Set(s.exclude);
  const scalar = (st: Statistics, which: 'mean' | 'std') => {
    const a = st[which];
    if (a.length !== 1)
      throw new InputError(s.statsPath('images', which), `expected a single value (0-d), found ${a.length}`);
    return a[0];
  };
  const imageMean = ex.has('images') ? 0 : scalar(s.images, 'mean');
  const imageStd = ex.has('images') ? 1 : scalar(s.images, 'std');
  if (!ex.has('images') && !(imageStd > 0 && Number.isFinite(imageStd) && Number.isFinite(imageMean))) {
    throw new InputError(
      s.statsPath('images', 'std'),
      `image std ${imageStd} (mean ${imageMean}) cannot normalize images`,
    );
  }
  const fullPrecision = responsePrecision(s.responses.std);
  const precision = new Float32Array(s.keepNeurons.length);
  s.keepNeurons.forEach((row, j) => {
    precision[j] = fullPrecision[row];
  });
  const out: Normalizer = {
    imageMean,
    imageStd,
    responsePrecision: precision,
    exclude: [...s.exclude],
    statsSource: s.statsSource,
  };
  if (s.behavior) {
    out.behaviorPrecision = s.behavior.std.map((v) => 1 / v);
    out.behaviorMean = s.subtractBehaviorMean
      ? Float32Array.from(s.behavior.mean)
      : new Float32Array(s.behavior.std.length);
  }
  if (s.pupilCenter) {
    out.pupilMean = Float32Array.from(s.pupilCenter.mean);
    out.pupilStd = Float32Array.from(s.pupilCenter.std);
  }
  return out;
}

type Indices = ArrayLike<number>;

function checkIndices(scan: Scan, indices: Indices): void {
  for (let k = 0; k < indices.length; k++) {
    const t = indices[k];
    if (!(t >= 0 && t < scan.nTrials) || !Number.isInteger(t))
      throw new RangeError(`trial index ${t} out of range 0..${scan.nTrials - 1}`);
  }
}

function outArray(len: number, out?: Float32Array): Float32Array {
  if (!out) return new Float32Array(len);
  if (out.length < len) throw new RangeError(`output buffer holds ${out.length} values, need ${len}`);
  return out;
}

/** Images of the given trials (scan positions), z-scored as the loaders do: (indices.length x C*H*W). */
export function normalizedImages(scan: Scan, indices: Indices, out?: Float32Array): Float32Array {
  checkIndices(scan, indices);
  const [c, h, w] = scan.imageShape;
  const per = c * h * w;
  const dst = outArray(indices.length * per, out);
  const excluded = scan.normalizer.exclude.includes('images');
  // (x - mean) / std in float32, as torch would after the loader's float32 cast.
  const mean = excluded ? 0 : scan.normalizer.imageMean;
  const std = excluded ? 1 : scan.normalizer.imageStd;
  for (let k = 0; k < indices.length; k++) {
    const src = indices[k] * per,
      o = k * per;
    for (let p = 0; p < per; p++) dst[o + p] = (scan.images[src + p] - mean) / std;
  }
  return dst;
}

function rowsScaled(
  data: Float32Array,
  dim: number,
  indices: Indices,
  sub: Float32Array | undefined,
  mul: Float32Array | undefined,
  div: Float32Array | undefined,
  out?: Float32Array,
): Float32Array {
  const dst = outArray(indices.length * dim, out);
  for (let k = 0; k < indices.length; k++) {
    const src = indices[k] * dim,
      o = k * dim;
    for (let j = 0; j < dim; j++) {
      let v = data[src + j];
      if (sub) v -= sub[j];
      if (mul) v *= mul[j];
      if (div) v /= div[j];
      dst[o + j] = v;
    }
  }
  return dst;
}

/** Responses of the given trials times the per-neuron precision: (indices.length x N). */
export function normalizedResponses(scan: Scan, indices: Indices, out?: Float32Array): Float32Array {
  checkIndices(scan, indices);
  const ex = scan.normalizer.exclude.includes('responses');
  return rowsScaled(
    scan.responses,
    scan.nNeurons,
    indices,
    undefined,
    ex ? undefined : scan.normalizer.responsePrecision,
    undefined,
    out,
  );
}

/** Behavior of the given trials, normalized as NeuroNormalizer: (indices.length x behaviorDim). */
export function normalizedBehavior(scan: Scan, indices: Indices, out?: Float32Array): Float32Array {
  if (!scan.behavior) throw new Error(`scan ${scan.name} has no behavior`);
  checkIndices(scan, indices);
  const n = scan.normalizer,
    ex = n.exclude.includes('behavior');
  return rowsScaled(
    scan.behavior,
    scan.behaviorDim,
    indices,
    ex ? undefined : n.behaviorMean,
    ex ? undefined : n.behaviorPrecision,
    undefined,
    out,
  );
}

/** Pupil center of the given trials, z-scored: (indices.length x pupilDim). */
export function normalizedPupilCenter(scan: Scan, indices: Indices, out?: Float32Array): Float32Array {
  if (!scan.pupilCenter) throw new Error(`scan ${scan.name} has no pupil_center`);
  checkIndices(scan, indices);
  const n = scan.normalizer,
    ex = n.exclude.includes('pupil_center');
  return rowsScaled(
    scan.pupilCenter,
    scan.pupilDim,
    indices,
    ex ? undefined : n.pupilMean,
    undefined,
    ex ? undefined : n.pupilStd,
    out,
  );
}
