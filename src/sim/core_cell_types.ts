/**
 * Cell types on a given core, as in Klindt et al. 2017 (Section 4, "K feature maps of a given core"): K channels of
 * a core's output are K cell types; a neuron of type k reads channel c_k of the feature map at its own position
 * and nothing else, so its feature vector ("barcode") is one-hot at c_k times its gain:
 *
 *   rate_n(image) = elu(gain_n * x[c_k](mu_n) + bias_n + elu_offset) + 1
 *
 * with x[c](mu) the core's output channel c sampled at mu by bilinear interpolation exactly as grid_sample
 * (align_corners=True, zero padding) and FullGaussian2d in eval mode read it: this is a FullGaussian2d readout with
 * features one-hot * gain, mu = the position and the bias, on the core, so the core "can represent" the types
 * exactly and a readout fitted on it can recover them (types by clustering the features, positions from mu).
 *
 * - channels: K distinct channels that respond well: ranked by how much they vary across images (the sd over
 *   probe images at each position, averaged over positions), taken greedily while their stimulus-driven
 *   correlation with every channel already taken stays below 0.5 (then by rank alone, if too few pass); or given;
 * - types: dealt in shuffled blocks of K (counts differ by at most one; neuron n's type does not depend on N);
 * - positions: uniform in [-r, r]^2 grid units (r = 0.9 by default), (x along the width, y along the height);
 * - gain_n = driveSd / sd_c * exp(gainLogSd * z_n) and bias_n = -gain_n * mean_c - elu_offset, with mean_c and sd_c
 *   channel c's mean and sd over the probe images and all positions: the drive has mean ~0 and sd ~driveSd.
 *
 * Everything is computed from float32-rounded positions, gains and biases, the values the truth files and a
 * float32 checkpoint hold, so a model built from them predicts these rates to float32 precision.
 */
import type { HostTensor, StateDict } from '../io/host_tensor';
import { Rng } from '../util/rng';
import { generateImage } from './images';
import type { Predict } from './simulate_scan';

/** Core output (count, C, H', W') row-major for `count` z-scored images (count, C, H, W). */
export type CoreFunction = (images: Float32Array, count: number) => Promise<Float32Array>;

export interface CoreCellTypeOptions {
  neurons: number;
  seed: number;
  /** Number of types K. Default 4. */
  types?: number;
  /** The model's input [C, H, W] and the core's output [C', H', W']. */
  imageShape: [number, number, number];
  coreShape: [number, number, number];
  /** The K channels (distinct, 0 <= c < C'); default: chosen from the probe images (see the file comment). */
  channels?: number[];
  /** Positions uniform in [-r, r]^2 grid units. Default 0.9. */
  positionRange?: number;
  /** sd of log gain around the type's gain. Default 0.2. */
  gainLogSd?: number;
  /** sd of the drive (gain * x + bias) over images and positions. Default 1. */
  driveSd?: number;
  /** The encoder's elu_offset (output elu(v + elu_offset) + 1). Default 0. */
  eluOffset?: number;
  /** Probe images for choosing channels and calibrating gains (procedural images, z-scored). Default 128. */
  probeImages?: number;
  /** Images per core call. Default 32. */
  batchSize?: number;
  /** Most-correlated pair of types allowed when choosing channels. Default 0.5. */
  maxChannelCorrelation?: number;
}

export interface CoreCellTypes {
  neurons: number;
  /** K. */
  types: number;
  /** Core output channel of each type, (K,). */
  channels: number[];
  /** Type of each neuron, 0..K-1, (N,). */
  cellTypes: Int32Array;
  /** Readout position mu of each neuron, (N, 2), (x, y) grid units in [-1, 1] (FullGaussian2d's mu, align_corners). */
  grid: Float32Array;
  gain: Float32Array;
  bias: Float32Array;
  eluOffset: number;
  /** [C', H', W'] of the core's output. */
  coreShape: [number, number, number];
  /** Per type: its channel's mean and sd over the probe images and positions, and the score it was ranked by. */
  channelMean: number[];
  channelSd: number[];
  /** Per core channel: the sd across images, averaged over positions (the ranking score). */
  channelScore: Float64Array;
  /** Largest |correlation| between two chosen channels over the probe (stimulus-driven part). */
  maxCorrelation: number;
  positionRange: number;
  gainLogSd: number;
  driveSd: number;
}

/** `count` procedural images (imageShape: grayscale copied to every channel), z-scored with their own mean and sd. */
export function probeImages(count: number, imageShape: [number, number, number], seed: number): Float32Array {
  const [C, H, W] = imageShape;
  const out = new Float32Array(count * C * H * W);
  let s = 0,
    ss = 0;
  const gray: Uint8Array[] = [];
  for (let u = 0; u < count; u++) {
    const g = generateImage(seed, u, H, W);
    gray.push(g);
    for (let p = 0; p < g.length; p++) {
      s += g[p];
      ss += g[p] * g[p];
    }
  }
  const n = count * H * W,
    mean = s / n,
    sd = Math.sqrt(Math.max(ss / n - mean * mean, 1e-12));
  gray.forEach((g, u) => {
    for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[(u * C + c) * H * W + p] = (g[p] - mean) / sd;
  });
  return out;
}

async function coreInBatches(
  core: CoreFunction,
  images: Float32Array,
  count: number,
  perImage: number,
  perOut: number,
  batchSize: number,
): Promise<Float32Array> {
  const out = new Float32Array(count * perOut);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const y = await core(images.subarray(start * perImage, (start + n) * perImage), n);
    if (y.length !== n * perOut) {
      throw new Error(`the core returned ${y.length} values for ${n} images, expected ${n} x ${perOut}`);
    }
    out.set(y, start * perOut);
  }
  return out;
}

/**
 * Channels ranked by their variation across images; K taken greedily below `maxCorrelation` (see the file comment),
 * or the `given` ones. `maps` is (P, C, H, W). Returns the channels, every channel's score and the largest
 * |correlation| between two of the channels returned.
 */
export function chooseTypeChannels(
  maps: Float32Array,
  shape: [number, number, number, number],
  K: number,
  opts: { maxCorrelation?: number; given?: number[] } = {},
): { channels: number[]; score: Float64Array; maxCorrelation: number } {
  const [P, C, H, W] = shape;
  if (K > C) throw new Error(`${K} cell types need ${K} distinct channels; the core has ${C}`);
  const given = opts.given;
  const outside = (c: number) => !Number.isInteger(c) || c < 0 || c >= C;
  if (given && (given.length !== K || new Set(given).size !== K || given.some(outside))) {
    throw new Error(`the channels of ${K} cell types must be ${K} distinct integers in 0..${C - 1}, got ${given}`);
  }
  const S = H * W;
  // per channel: values minus their mean over images at each position (the stimulus-driven part), and its score
  const centred: Float32Array[] = [];
  const score = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const v = new Float32Array(P * S);
    let sdSum = 0;
    for (let q = 0; q < S; q++) {
      let m = 0;
      for (let p = 0; p < P; p++) m += maps[(p * C + c) * S + q];
      m /= P;
      let ss = 0;
      for (let p = 0; p < P; p++) {
        const d = maps[(p * C + c) * S + q] - m;
        v[p * S + q] = d;
        ss += d * d;
      }
      sdSum += Math.sqrt(ss / P);
    }
    score[c] = sdSum / S;
    centred.push(v);
  }
  const norm = centred.map((v) => Math.sqrt(v.reduce((a, x) => a + x * x, 0)));
  const corr = (a: number, b: number) => {
    if (!(norm[a] > 0) || !(norm[b] > 0)) return 0;
    const va = centred[a],
      vb = centred[b];
    let d = 0;
    for (let i = 0; i < va.length; i++) d += va[i] * vb[i];
    return d / (norm[a] * norm[b]);
  };
  const ranked = Array.from({ length: C }, (_, c) => c).sort((a, b) => score[b] - score[a] || a - b);
  const chosen: number[] = given ? [...given] : [];
  for (const c of ranked) {
    if (chosen.length === K) break;
    if (chosen.every((o) => Math.abs(corr(c, o)) < (opts.maxCorrelation ?? 0.5))) chosen.push(c);
  }
  for (const c of ranked) if (chosen.length < K && !chosen.includes(c)) chosen.push(c);
  let worst = 0;
  for (let i = 0; i < K; i++) {
    for (let j = i + 1; j < K; j++) worst = Math.max(worst, Math.abs(corr(chosen[i], chosen[j])));
  }
  return { channels: chosen, score, maxCorrelation: worst };
}

/** Draws the population: channels (unless given), types, positions, gains and biases. Deterministic in `seed`. */
export async function makeCoreCellTypes(core: CoreFunction, o: CoreCellTypeOptions): Promise<CoreCellTypes> {
  const N = o.neurons,
    K = o.types ?? 4;
  if (!Number.isInteger(N) || N < 1) throw new Error(`neurons must be a positive integer, got ${N}`);
  if (!Number.isInteger(K) || K < 1) throw new Error(`the number of cell types must be a positive integer, got ${K}`);
  const [C, H, W] = o.imageShape;
  const [Cc, Hf, Wf] = o.coreShape;
  const range = o.positionRange ?? 0.9;
  if (!(range >= 0 && range <= 1)) throw new Error(`positionRange must be in [0, 1] (grid units), got ${range}`);
  const gainLogSd = o.gainLogSd ?? 0.2,
    driveSd = o.driveSd ?? 1,
    eluOffset = o.eluOffset ?? 0;
  if (!(gainLogSd >= 0) || !(driveSd > 0)) throw new Error('gainLogSd must be >= 0 and driveSd > 0');
  if (K > Cc) throw new Error(`${K} cell types need ${K} distinct channels; the core has ${Cc}`);
  const outside = (c: number) => !Number.isInteger(c) || c < 0 || c >= Cc;
  if (o.channels && (o.channels.length !== K || new Set(o.channels).size !== K || o.channels.some(outside))) {
    throw new Error(
      `the channels of ${K} cell types must be ${K} distinct integers in 0..${Cc - 1}, got ${o.channels}`,
    );
  }
  const rng = new Rng(o.seed ^ 0x3c6ef372);
  const probeSeed = rng.uint32(),
    typeRng = rng.fork(),
    positionRng = rng.fork(),
    gainRng = rng.fork();

  const P = Math.max(2, Math.floor(o.probeImages ?? 128));
  const probe = probeImages(P, o.imageShape, probeSeed);
  const maps = await coreInBatches(core, probe, P, C * H * W, Cc * Hf * Wf, o.batchSize ?? 32);
  const pick = chooseTypeChannels(maps, [P, Cc, Hf, Wf], K, {
    maxCorrelation: o.maxChannelCorrelation,
    given: o.channels,
  });
  const channels = pick.channels;
  const S = Hf * Wf;
  const channelMean: number[] = [],
    channelSd: number[] = [];
  for (const c of channels) {
    let s = 0,
      ss = 0;
    for (let p = 0; p < P; p++) {
      for (let q = 0; q < S; q++) {
        const v = maps[(p * Cc + c) * S + q];
        s += v;
        ss += v * v;
      }
    }
    const m = s / (P * S);
    const sd = Math.sqrt(Math.max(0, ss / (P * S) - m * m));
    if (!(sd > 1e-6)) throw new Error(`core channel ${c} does not vary across images (sd ${sd}); choose others`);
    channelMean.push(m);
    channelSd.push(sd);
  }

  const cellTypes = new Int32Array(N);
  let block: Int32Array = new Int32Array(0);
  for (let n = 0; n < N; n++) {
    if (n % K === 0) block = typeRng.permutation(K);
    cellTypes[n] = block[n % K];
  }
  const grid = new Float32Array(2 * N);
  for (let k = 0; k < 2 * N; k++) grid[k] = positionRng.range(-range, range);
  const gain = new Float32Array(N),
    bias = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const k = cellTypes[n];
    gain[n] = (driveSd / channelSd[k]) * Math.exp(gainLogSd * gainRng.normal());
    bias[n] = -gain[n] * channelMean[k] - eluOffset;
  }
  return {
    neurons: N,
    types: K,
    channels,
    cellTypes,
    grid,
    gain,
    bias,
    eluOffset,
    coreShape: [Cc, Hf, Wf],
    channelMean,
    channelSd,
    channelScore: pick.score,
    maxCorrelation: pick.maxCorrelation,
    positionRange: range,
    gainLogSd,
    driveSd,
  };
}

/** Rates (B, N) from core output (B, C', H', W'), as the file comment defines them. */
export function coreCellTypeRates(pop: CoreCellTypes, maps: Float32Array, batch: number): Float32Array {
  const [C, Hf, Wf] = pop.coreShape;
  const S = Hf * Wf,
    N = pop.neurons;
  if (maps.length !== batch * C * S) {
    throw new Error(`core output has ${maps.length} values, expected ${batch} x ${C} x ${Hf} x ${Wf}`);
  }
  const out = new Float32Array(batch * N);
  for (let n = 0; n < N; n++) {
    const c = pop.channels[pop.cellTypes[n]];
    // grid_sample, align_corners=True: -1 and 1 are the centres of the first and last pixels; zeros outside
    const ix = ((pop.grid[2 * n] + 1) / 2) * (Wf - 1),
      iy = ((pop.grid[2 * n + 1] + 1) / 2) * (Hf - 1);
    const x0 = Math.floor(ix),
      y0 = Math.floor(iy),
      fx = ix - x0,
      fy = iy - y0;
    const taps: [number, number][] = [];
    const corners = [
      [x0, y0, (1 - fx) * (1 - fy)],
      [x0 + 1, y0, fx * (1 - fy)],
      [x0, y0 + 1, (1 - fx) * fy],
      [x0 + 1, y0 + 1, fx * fy],
    ];
    for (const [x, y, w] of corners) {
      if (x >= 0 && x < Wf && y >= 0 && y < Hf && w !== 0) taps.push([y * Wf + x, w]);
    }
    for (let b = 0; b < batch; b++) {
      const base = (b * C + c) * S;
      let v = 0;
      for (const [q, w] of taps) v += w * maps[base + q];
      const z = pop.gain[n] * v + pop.bias[n] + pop.eluOffset;
      out[b * N + n] = (z > 0 ? z : Math.expm1(z)) + 1;
    }
  }
  return out;
}

/** The simulator's `predict` for this population on `core`. */
export function coreCellTypePredict(core: CoreFunction, pop: CoreCellTypes): Predict {
  return async (images, count) => coreCellTypeRates(pop, await core(images, count), count);
}

/** True feature vectors (N, C'), neuron-major: one-hot at the type's channel times the gain. */
export function coreCellTypeFeatures(pop: CoreCellTypes): Float32Array {
  const C = pop.coreShape[0];
  const f = new Float32Array(pop.neurons * C);
  for (let n = 0; n < pop.neurons; n++) f[n * C + pop.channels[pop.cellTypes[n]]] = pop.gain[n];
  return f;
}

/**
 * The population as a neuralpredictors FullGaussian2d readout's state_dict entries `readout.<key>.*` (free means,
 * sigma full and zero: eval mode reads at mu), which with the core's entries makes the ground-truth model.
 */
export function coreCellTypeReadoutStateDict(pop: CoreCellTypes, key: string): StateDict {
  const N = pop.neurons,
    C = pop.coreShape[0];
  const f32 = (shape: number[], data: Float32Array): HostTensor<'float32'> => ({ dtype: 'float32', shape, data });
  const features = new Float32Array(C * N); // (1, C, 1, N)
  for (let n = 0; n < N; n++) features[pop.channels[pop.cellTypes[n]] * N + n] = pop.gain[n];
  const p = `readout.${key}.`;
  return new Map<string, HostTensor>([
    [`${p}_mu`, f32([1, N, 1, 2], Float32Array.from(pop.grid))],
    [`${p}sigma`, f32([1, N, 2, 2], new Float32Array(4 * N))],
    [`${p}_features`, f32([1, C, 1, N], features)],
    [`${p}bias`, f32([N], Float32Array.from(pop.bias))],
  ]);
}
