/**
 * A simulated static scan of one animal with the project's own ground truth (v1_population.ts): the
 * simulator's natural-like images shown in train / validation / test tiers (test images repeated), noisy
 * responses drawn from the population's expected rates, and the truth beside it.
 *
 * Noise model, per neuron n and trial t showing image i:
 *   lambda[t, n] = gain * q[n] * rate[i, n]       q[n] = target[n] / mean over training images of rate[., n]
 *   response     = Poisson(lambda) / scale[n]
 * `target[n]` (log-normal, median 1) makes neurons differ in how many events they give per trial, as real
 * neurons do, independently of how strongly the simulated images happen to drive their filters; `scale[n]`
 * (log-uniform in [0.5, 2]) gives them different units, as deconvolved calcium traces have. One global
 * `gain` is set so that the median neuron's expected jackknife oracle correlation on the test tier equals
 * `targetMedianOracle`: for Poisson noise and R repeats the expected oracle is
 *   S / sqrt((S + M) (S + M / (R - 1)))      S = variance of lambda over test images, M = its mean,
 * which grows with the gain, so a bisection finds it without drawing noise.
 */
import { Rng } from '../util/rng';
import { generateImages } from './images';
import type { ScanData } from './scan_writer';
import { makePopulation, type Population, type PopulationOptions } from './v1_population';

export interface V1ScanOptions {
  /** Seeds the animal (map and neurons), as makePopulation. */
  animalSeed: number;
  nNeurons: number;
  /** Default [1, 36, 64]. */
  imageShape?: [1, number, number];
  /** Seed of the image set and of the trial order and noise. Default: animalSeed + 7919. */
  scanSeed?: number;
  /** Unique images per tier; test images are shown `testRepeats` times. Defaults 4000, 500, 100, 10. */
  nTrain?: number;
  nValidation?: number;
  nTest?: number;
  testRepeats?: number;
  /** Median expected jackknife oracle on the test tier. Default 0.6. */
  targetMedianOracle?: number;
  /** sd of log(target[n]), the spread of mean event counts between neurons. Default 0.5. */
  meanCountLogSd?: number;
  /** Root folder name of the scan. Default `static-v1sim-<animalSeed>`. */
  name?: string;
  /** meta/neurons ids. Defaults: animalId 92000 + animalSeed (non-zero, see the sim-scan fixture), session 1, scan 1. */
  animalId?: number;
  session?: number;
  scanIdx?: number;
  /**
   * Further population options (distributions, degPerPixel, cortical extent, ...). With `cellTypes: K` the
   * population is K cell types (v1_population.ts) and the scan carries meta/neurons/cell_types.npy.
   */
  population?: Omit<PopulationOptions, 'animalSeed' | 'nNeurons' | 'imageShape'>;
  /** Called with (images done, images in all) while the rates are computed. */
  onProgress?: (done: number, total: number) => void;
}

export interface V1ScanTruth {
  population: Population;
  /** (T, N): expected value of every stored response, gain * q * rate / scale (the noise-free prediction). */
  expectedResponses: Float32Array;
  /** (T, N): the population's rate for the trial's image, before gain and scale. */
  rates: Float32Array;
  gain: number;
  /** Per neuron: q[n] and scale[n] of the noise model. */
  rateFactor: Float32Array;
  responseScale: Float32Array;
  /** Per neuron: the expected jackknife oracle the gain was set by. */
  expectedOracle: Float64Array;
  scanSeed: number;
}

export interface V1Scan {
  /** The scan as scan_writer.ts writes it (trial order = file index). */
  scan: ScanData;
  truth: V1ScanTruth;
}

export function simulateV1Scan(o: V1ScanOptions): V1Scan {
  const imageShape = o.imageShape ?? [1, 36, 64];
  const [, H, W] = imageShape;
  const nTrain = o.nTrain ?? 4000;
  const nVal = o.nValidation ?? 500;
  const nTest = o.nTest ?? 100;
  const reps = o.testRepeats ?? 10;
  if (reps < 2) throw new Error(`testRepeats must be >= 2 for an oracle, got ${reps}`);
  if (nTrain < 1 || nTest < 2) throw new Error('a scan needs training images and at least 2 test images');
  const scanSeed = o.scanSeed ?? o.animalSeed + 7919;
  const target = o.targetMedianOracle ?? 0.6;
  if (!(target > 0 && target < 1)) throw new Error(`targetMedianOracle must be in (0, 1), got ${target}`);

  const population = makePopulation({ ...o.population, animalSeed: o.animalSeed, nNeurons: o.nNeurons, imageShape });
  const N = o.nNeurons;
  const rng = new Rng(scanSeed);
  const imageRng = rng.fork();
  const orderRng = rng.fork();
  const neuronRng = rng.fork();
  const noiseRng = rng.fork();

  // unique images: train, validation, test (ids are their indices in the image set)
  const nUnique = nTrain + nVal + nTest;
  const pixels = H * W;
  const uniqueImages = generateImages(nUnique, H, W, imageRng.uint32());
  const uniqueRates = new Float32Array(nUnique * N);
  const chunk = 100;
  for (let s = 0; s < nUnique; s += chunk) {
    const e = Math.min(nUnique, s + chunk);
    uniqueRates.set(population.rates(uniqueImages.subarray(s * pixels, e * pixels)), s * N);
    o.onProgress?.(e, nUnique);
  }

  // per-neuron event-count level and units
  const rateFactor = new Float32Array(N);
  const responseScale = new Float32Array(N);
  const logSd = o.meanCountLogSd ?? 0.5;
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let i = 0; i < nTrain; i++) m += uniqueRates[i * N + n];
    m /= nTrain;
    rateFactor[n] = Math.exp(logSd * neuronRng.normal()) / m;
    responseScale[n] = neuronRng.logUniform(0.5, 2);
  }

  // gain from the expected oracle on the test images
  const testStart = nTrain + nVal;
  const sig = new Float64Array(N);
  const mu = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s1 = 0;
    let s2 = 0;
    for (let i = testStart; i < nUnique; i++) {
      const v = rateFactor[n] * uniqueRates[i * N + n];
      s1 += v;
      s2 += v * v;
    }
    mu[n] = s1 / nTest;
    sig[n] = Math.max(0, s2 / nTest - mu[n] * mu[n]);
  }
  const oracleAt = (gain: number): Float64Array => {
    const out = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      const S = gain * gain * sig[n];
      const M = gain * mu[n];
      out[n] = S / Math.sqrt((S + M) * (S + M / (reps - 1)));
    }
    return out;
  };
  const medianOracle = (gain: number): number => median(oracleAt(gain));
  let lo = 1e-6;
  let hi = 1e6;
  if (medianOracle(hi) < target)
    throw new Error(`no gain reaches a median oracle of ${target}: the test images barely drive the neurons`);
  for (let it = 0; it < 200 && hi / lo > 1 + 1e-10; it++) {
    const mid = Math.sqrt(lo * hi);
    if (medianOracle(mid) < target) lo = mid;
    else hi = mid;
  }
  const gain = Math.sqrt(lo * hi);

  // trials: every train / validation image once, every test image `reps` times; stored in random order
  const trialImage: number[] = [];
  for (let i = 0; i < testStart; i++) trialImage.push(i);
  for (let r = 0; r < reps; r++) for (let i = testStart; i < nUnique; i++) trialImage.push(i);
  const T = trialImage.length;
  const storage = orderRng.permutation(T);
  const trialIdx = Array.from(orderRng.permutation(T));
  const tierOf = (i: number): string => (i < nTrain ? 'train' : i < testStart ? 'validation' : 'test');

  const images = new Uint8Array(T * pixels);
  const responses = new Float32Array(T * N);
  const expectedResponses = new Float32Array(T * N);
  const rates = new Float32Array(T * N);
  const tiers: string[] = new Array(T);
  const frameImageId: number[] = new Array(T);
  for (let t = 0; t < T; t++) {
    const img = trialImage[storage[t]];
    images.set(uniqueImages.subarray(img * pixels, (img + 1) * pixels), t * pixels);
    tiers[t] = tierOf(img);
    frameImageId[t] = img;
    for (let n = 0; n < N; n++) {
      const rate = uniqueRates[img * N + n];
      const lambda = gain * rateFactor[n] * rate;
      rates[t * N + n] = rate;
      expectedResponses[t * N + n] = lambda / responseScale[n];
      responses[t * N + n] = noiseRng.poisson(lambda) / responseScale[n];
    }
  }

  const unitIds: number[] = [];
  let uid = 0;
  for (let n = 0; n < N; n++) {
    uid += 1 + orderRng.int(4); // unique, increasing, not contiguous, as in real scans
    unitIds.push(uid);
  }
  const cellMotorCoordinates = new Float64Array(N * 3);
  population.neurons.forEach((nr, n) => cellMotorCoordinates.set(nr.cortexUm, n * 3));

  return {
    scan: {
      name: o.name ?? `static-v1sim-${o.animalSeed}`,
      imageShape,
      images,
      responses,
      neurons: N,
      tiers,
      frameImageId,
      trialIdx,
      unitIds,
      animalId: o.animalId ?? 92000 + o.animalSeed,
      session: o.session ?? 1,
      scanIdx: o.scanIdx ?? 1,
      cellMotorCoordinates,
      ...(population.cellTypes && { cellTypes: population.neurons.map((nr) => nr.cellType!) }),
    },
    truth: {
      population,
      expectedResponses,
      rates,
      gain,
      rateFactor,
      responseScale,
      expectedOracle: oracleAt(gain),
      scanSeed,
    },
  };
}

function median(a: ArrayLike<number>): number {
  const s = Array.from(a).sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
