/**
 * A static scan simulated with any model as ground truth, in the FileTree layout (scan_writer.ts), the way
 * test/fixtures/sim-scan/static-sim-a was made:
 *
 * - images: the procedural natural-like images of images.ts, train / validation unique, test images repeated;
 * - true rates: the model's output for each image z-scored with the train-tier pixel statistics, exactly what
 *   a model trained through the loaders sees;
 * - responses: Poisson(gain * rate) / scale_n, or Gamma(shape = gain * rate, scale 1) / scale_n (a continuous
 *   response with the same mean and variance as the Poisson count), or calcium-like (dF/F with negative values:
 *   the Poisson count plus N(0, CALCIUM_NOISE_SD^2), then / scale_n); one global gain is calibrated so that the
 *   median neuron's jackknife oracle on the test tier hits a target (0.55 like the fixture); scale_n, drawn
 *   log-uniformly from [0.5, 2] per neuron, gives each neuron its own units as in deconvolved calcium data;
 * - cortical coordinates: x, y = 300 µm * grid + offset from a given grid (e.g. the readout's source_grid),
 *   z uniform in 200..300 µm.
 *
 * The model is reached only through `predict`, so the simulator does not depend on the model's internals.
 */
import { oracleJackknife, type RepeatGroup } from '../metrics';
import { Rng } from '../util/rng';
import { generateImage } from './images';
import { imageStatistics, type ScanData } from './scan_writer';

/** Rates (count, neurons), >= 0, for `count` images (count, C, H, W) z-scored as the loaders do. */
export type Predict = (images: Float32Array, count: number) => Promise<Float32Array>;

export type NoiseModel = 'poisson' | 'gamma' | 'calcium';

/**
 * 'calcium': a dF/F-like response, the Poisson count (spikes) plus Gaussian noise of this standard deviation in
 * count units (the indicator's and the baseline estimate's noise, about one spike's transient): its mean is still
 * the rate, but quiet trials go negative, as two-photon dF/F before spike inference does.
 */
export const CALCIUM_NOISE_SD = 1;

export interface TrialCounts {
  train: number;
  validation: number;
  /** Unique test images. */
  testImages: number;
  /** Presentations of each test image. */
  testRepeats: number;
}

export const DEFAULT_TRIALS: Readonly<TrialCounts> = Object.freeze({
  train: 4000,
  validation: 500,
  testImages: 100,
  testRepeats: 10,
});

export interface SimulateScanOptions {
  /** Root folder name of the scan. */
  name: string;
  seed: number;
  neurons: number;
  predict: Predict;
  /** [C, H, W]; default [1, 36, 64]. Images are grayscale (copied to every channel). */
  imageShape?: [number, number, number];
  trials?: Partial<TrialCounts>;
  noise?: NoiseModel;
  /** Median jackknife oracle over neurons on the test tier that the gain is calibrated to; default 0.55. */
  targetOracle?: number;
  /** A fixed gain instead of calibrating one. */
  gain?: number;
  /** Range of the per-neuron unit factor scale_n (log-uniform); default [0.5, 2]. */
  responseScaleRange?: [number, number];
  /** (neurons, 2) cortical grid in about [-1, 1] (e.g. the readout's source_grid); default uniform random. */
  corticalGrid?: ArrayLike<number>;
  /** Default 90000 + seed mod 10000 (non-zero: the Lurz 2020 builder then reads cell_motor_coordinates). */
  animalId?: number;
  session?: number;
  scanIdx?: number;
  /** Images per `predict` call; default 128. */
  batchSize?: number;
  /** Ground-truth cell type of each neuron (integers 0..K-1): the scan then carries meta/neurons/cell_types.npy. */
  cellTypes?: ArrayLike<number>;
  onProgress?: (stage: 'images' | 'predict' | 'calibrate' | 'responses', done: number, total: number) => void;
}

export interface ScanTruth {
  /** Expected value of every stored response, (trials, neurons), stored units: gain * rate / scale_n. */
  trueRates: Float32Array;
  /** The model's rate per unique image, (images, neurons), before gain and scale. */
  rates: Float32Array;
  /** Unique image of each trial (row of `rates`). */
  imageOfTrial: Int32Array;
  gain: number;
  responseScale: Float32Array;
  /** Jackknife oracle of the stored test responses, per neuron. */
  oracle: Float64Array;
  /** Median of `oracle` (the calibrated quantity). */
  medianOracle: number;
  noise: NoiseModel;
  /** Train-tier pixel mean and std (float32) the model's input was z-scored with. */
  imageMean: number;
  imageStd: number;
  /** µm added to 300 * grid for cell_motor_coordinates. */
  offsetUm: [number, number];
  /** The cortical grid used, (neurons, 2). */
  corticalGrid: Float32Array;
  seed: number;
  trials: TrialCounts;
}

export interface SimulatedScan {
  scan: ScanData;
  truth: ScanTruth;
}

/** `count` distinct neurons out of `total`, sorted, reproducible by seed. */
export function chooseNeurons(total: number, count: number, seed: number): Int32Array {
  if (!Number.isInteger(count) || count < 1 || count > total)
    throw new Error(`cannot choose ${count} neurons out of ${total}`);
  return new Rng(seed ^ 0x2c1b3c6d).sample(total, count).sort();
}

export async function simulateScan(opts: SimulateScanOptions): Promise<SimulatedScan> {
  const N = opts.neurons;
  if (!Number.isInteger(N) || N < 1) throw new Error(`neurons must be a positive integer, got ${N}`);
  const counts: TrialCounts = { ...DEFAULT_TRIALS, ...opts.trials };
  for (const [k, v] of Object.entries(counts))
    if (!Number.isInteger(v) || v < 0) throw new Error(`trial count ${k} must be a non-negative integer, got ${v}`);
  if (counts.testImages > 0 && counts.testRepeats < 2)
    throw new Error('test images need at least 2 repeats (the oracle is computed from repeats)');
  const noise = opts.noise ?? 'poisson';
  const targetOracle = opts.targetOracle ?? 0.55;
  if (opts.gain === undefined && !(targetOracle > 0 && targetOracle < 1))
    throw new Error(`target oracle must be in (0, 1), got ${targetOracle}`);
  if (opts.gain === undefined && counts.testImages === 0)
    throw new Error('calibrating the gain needs repeated test images (or give a fixed gain)');
  const [C, H, W] = opts.imageShape ?? [1, 36, 64];
  const per = C * H * W;
  const rng = new Rng(opts.seed);
  const rngLayout = rng.fork(),
    rngNeurons = rng.fork(),
    rngTrainNoise = rng.fork(),
    calibrationSeed = rng.uint32();
  const progress = opts.onProgress ?? (() => {});

  // ---- unique images and their tiers --------------------------------------------------------------------
  const U = counts.train + counts.validation + counts.testImages;
  const imageSeedBase = rngLayout.uint32();
  const unique = new Uint8Array(U * per);
  for (let u = 0; u < U; u++) {
    const g = generateImage(imageSeedBase, u, H, W);
    for (let c = 0; c < C; c++) unique.set(g, u * per + c * H * W);
    if (u % 256 === 0 || u === U - 1) progress('images', u + 1, U);
  }
  const imageIds = rngLayout.sample(Math.max(100_000, 10 * U), U);

  // trials in canonical order (train, validation, test image-major), then stored in random order
  const canonical: { u: number; tier: string }[] = [];
  for (let u = 0; u < counts.train; u++) canonical.push({ u, tier: 'train' });
  for (let u = counts.train; u < counts.train + counts.validation; u++) canonical.push({ u, tier: 'validation' });
  for (let u = counts.train + counts.validation; u < U; u++)
    for (let r = 0; r < counts.testRepeats; r++) canonical.push({ u, tier: 'test' });
  const T = canonical.length;
  const storedOrder = rngLayout.permutation(T); // stored trial i = canonical[storedOrder[i]]
  const trialIdx = rngLayout.permutation(T);
  const imageOfTrial = Int32Array.from(storedOrder, (c) => canonical[c].u);
  const tiers = Array.from(storedOrder, (c) => canonical[c].tier);

  // ---- true rates: the model on the images z-scored with the stored train statistics ---------------------
  const trainTrials = tiers.flatMap((t, i) => (t === 'train' ? [i] : []));
  const images = new Uint8Array(T * per);
  for (let i = 0; i < T; i++) images.set(unique.subarray(imageOfTrial[i] * per, (imageOfTrial[i] + 1) * per), i * per);
  const stats = imageStatistics(images, per, trainTrials.length ? trainTrials : tiers.map((_, i) => i));
  const imageMean = stats.mean[0],
    imageStd = stats.std[0];
  const rates = new Float32Array(U * N);
  const batch = Math.max(1, Math.floor(opts.batchSize ?? 128));
  for (let start = 0; start < U; start += batch) {
    const n = Math.min(batch, U - start);
    const x = new Float32Array(n * per);
    for (let p = 0; p < n * per; p++) x[p] = (unique[start * per + p] - imageMean) / imageStd;
    const y = await opts.predict(x, n);
    if (y.length !== n * N) throw new Error(`predict returned ${y.length} values for ${n} images x ${N} neurons`);
    for (let k = 0; k < y.length; k++) {
      if (!(y[k] >= 0) || !Number.isFinite(y[k]))
        throw new Error(
          `predict returned ${y[k]} for image ${start + Math.floor(k / N)}, neuron ${k % N}: rates must be finite and >= 0`,
        );
    }
    rates.set(y, start * N);
    progress('predict', start + n, U);
  }

  // ---- noise: gain calibrated on the test tier (common random numbers, so the median is smooth in the gain) --
  const testFirst = counts.train + counts.validation;
  const testGroups: RepeatGroup[] = [];
  for (let k = 0; k < counts.testImages; k++) {
    testGroups.push({
      imageId: k,
      trials: Array.from({ length: counts.testRepeats }, (_, r) => k * counts.testRepeats + r),
    });
  }
  // Every test response has its own random stream (seeded by its index), so that a change of gain changes each
  // draw continuously (Poisson by inversion) or almost (Gamma by rejection), never shifts the others' streams.
  const drawTest = (gain: number): Float32Array => {
    const out = new Float32Array(counts.testImages * counts.testRepeats * N);
    for (let k = 0; k < counts.testImages; k++) {
      for (let rep = 0; rep < counts.testRepeats; rep++) {
        const row = (k * counts.testRepeats + rep) * N;
        for (let n = 0; n < N; n++) {
          const r = new Rng((calibrationSeed ^ Math.imul(row + n + 1, 0x9e3779b1)) >>> 0);
          out[row + n] = draw(r, noise, gain * rates[(testFirst + k) * N + n]);
        }
      }
    }
    return out;
  };
  const medianOracleAt = (gain: number) => median(oracleJackknife(drawTest(gain), N, testGroups));

  let gain: number;
  if (opts.gain !== undefined) {
    if (!(opts.gain > 0)) throw new Error(`gain must be > 0, got ${opts.gain}`);
    gain = opts.gain;
  } else {
    gain = calibrateGain(medianOracleAt, targetOracle, (i, n) => progress('calibrate', i, n));
  }

  // ---- responses in stored order ----------------------------------------------------------------------
  const scaleRange = opts.responseScaleRange ?? [0.5, 2];
  const responseScale = Float32Array.from({ length: N }, () => rngNeurons.logUniform(scaleRange[0], scaleRange[1]));
  const testCounts = counts.testImages ? drawTest(gain) : new Float32Array(0);
  const responses = new Float32Array(T * N);
  const trueRates = new Float32Array(T * N);
  const testRow = new Int32Array(counts.testImages).fill(0); // next repeat of each test image to place
  for (let i = 0; i < T; i++) {
    const u = imageOfTrial[i];
    let src: number | null = null;
    if (u >= testFirst) {
      const k = u - testFirst;
      src = (k * counts.testRepeats + testRow[k]++) * N;
    }
    for (let n = 0; n < N; n++) {
      const lam = gain * rates[u * N + n];
      const count = src === null ? draw(rngTrainNoise, noise, lam) : testCounts[src + n];
      responses[i * N + n] = count / responseScale[n];
      trueRates[i * N + n] = lam / responseScale[n];
    }
    if (i % 512 === 0 || i === T - 1) progress('responses', i + 1, T);
  }

  // ---- neurons: ids, cortical coordinates -----------------------------------------------------------------
  const unitIds: number[] = [];
  let id = 1 + rngNeurons.int(30);
  for (let n = 0; n < N; n++) {
    unitIds.push(id);
    id += 1 + rngNeurons.int(4);
  }
  const grid = new Float32Array(2 * N);
  if (opts.corticalGrid) {
    if (opts.corticalGrid.length !== 2 * N)
      throw new Error(`cortical grid has ${opts.corticalGrid.length} values, expected ${N} x 2`);
    grid.set(Array.from(opts.corticalGrid));
  } else {
    for (let k = 0; k < 2 * N; k++) grid[k] = rngNeurons.range(-1, 1);
  }
  const offsetUm: [number, number] = [rngNeurons.range(0, 1000), rngNeurons.range(0, 1000)];
  const cmc = new Float64Array(3 * N);
  for (let n = 0; n < N; n++) {
    cmc[3 * n] = 300 * grid[2 * n] + offsetUm[0];
    cmc[3 * n + 1] = 300 * grid[2 * n + 1] + offsetUm[1];
    cmc[3 * n + 2] = rngNeurons.range(200, 300);
  }

  const testTrials = tiers.flatMap((t, i) => (t === 'test' ? [i] : []));
  const storedGroups: RepeatGroup[] = [];
  {
    const byImage = new Map<number, number[]>();
    testTrials.forEach((t, row) => {
      const g = byImage.get(imageOfTrial[t]) ?? [];
      g.push(row);
      byImage.set(imageOfTrial[t], g);
    });
    for (const [u, rows] of byImage) storedGroups.push({ imageId: u, trials: rows });
  }
  const testResponses = new Float32Array(testTrials.length * N);
  testTrials.forEach((t, row) => testResponses.set(responses.subarray(t * N, (t + 1) * N), row * N));
  const oracle = testTrials.length ? oracleJackknife(testResponses, N, storedGroups) : new Float64Array(N).fill(NaN);

  const scan: ScanData = {
    name: opts.name,
    imageShape: [C, H, W],
    images,
    responses,
    neurons: N,
    tiers,
    frameImageId: Array.from(imageOfTrial, (u) => imageIds[u]),
    trialIdx: Array.from(trialIdx),
    unitIds,
    animalId: opts.animalId ?? 90000 + (Math.abs(Math.floor(opts.seed)) % 10000),
    session: opts.session ?? 1,
    scanIdx: opts.scanIdx ?? 1,
    cellMotorCoordinates: cmc,
  };
  if (opts.cellTypes) {
    if (opts.cellTypes.length !== N) throw new Error(`${opts.cellTypes.length} cell types for ${N} neurons`);
    scan.cellTypes = Array.from(opts.cellTypes);
  }
  const truth: ScanTruth = {
    trueRates,
    rates,
    imageOfTrial,
    gain,
    responseScale,
    oracle,
    medianOracle: median(oracle),
    noise,
    imageMean,
    imageStd,
    offsetUm,
    corticalGrid: grid,
    seed: opts.seed,
    trials: counts,
  };
  return { scan, truth };
}

/**
 * One response with mean `mean`: a Poisson count, a Gamma(shape = mean, scale 1) value (same variance), or the count
 * plus Gaussian noise (calcium).
 */
function draw(r: Rng, noise: NoiseModel, mean: number): number {
  if (noise === 'calcium') return (mean > 0 ? r.poisson(mean) : 0) + CALCIUM_NOISE_SD * r.normal();
  if (mean <= 0) return 0;
  return noise === 'poisson' ? r.poisson(mean) : r.gamma(mean);
}

/**
 * The gain whose median oracle is `target`: bracket on a log scale, then bisect. The median oracle rises with
 * the gain (more counts per trial, relatively less noise). With common random numbers it is monotone for
 * Poisson noise (drawn by inversion); Gamma draws use rejection, which can flip a draw now and then, so the
 * gain returned is the evaluated one closest to the target (the stored draw is exactly that evaluation).
 */
function calibrateGain(
  medianOracleAt: (g: number) => number,
  target: number,
  progress: (i: number, n: number) => void,
): number {
  const MAX_STEPS = 40;
  let best = { gain: 1, miss: Infinity };
  const at = (g: number) => {
    const m = medianOracleAt(g);
    if (Math.abs(m - target) < best.miss) best = { gain: g, miss: Math.abs(m - target) };
    return m;
  };
  let lo = 1,
    hi = 1;
  let mLo = at(lo);
  let step = 0;
  if (mLo < target) {
    let mHi = mLo;
    while (mHi < target) {
      lo = hi;
      hi *= 4;
      mHi = at(hi);
      if (++step > 20)
        throw new Error(
          `cannot reach a median oracle of ${target} (at gain ${hi} it is ${mHi.toFixed(3)}): the model's rates barely vary across images`,
        );
    }
  } else {
    while (mLo >= target) {
      hi = lo;
      lo /= 4;
      mLo = at(lo);
      if (++step > 20) throw new Error(`cannot get the median oracle down to ${target}`);
    }
  }
  for (let i = 0; i < MAX_STEPS && best.miss >= 5e-4 && hi / lo > 1 + 1e-6; i++) {
    const mid = Math.sqrt(lo * hi);
    if (at(mid) < target) lo = mid;
    else hi = mid;
    progress(i + 1, MAX_STEPS);
  }
  return best.gain;
}

function median(x: ArrayLike<number>): number {
  const s = Float64Array.from(x)
    .filter((v) => Number.isFinite(v))
    .sort();
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
