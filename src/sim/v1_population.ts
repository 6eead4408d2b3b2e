/**
 * A simulated mouse-V1 population: the demo's ground truth, defined by the project.
 *
 * Each neuron is a simple cell (a half-squared Gabor filter) or a complex cell (the energy model: the sum
 * of squares of a quadrature pair of Gabors), divided by a surround term (a Gaussian-weighted local
 * contrast variance over a field larger than the receptive field; Heeger-style normalization), plus a
 * small spontaneous rate:
 *
 *   s(x)   = (pixel(x) - 127.5) / 127.5                              contrast, images in raw 0..255 units
 *   D      = max(0, <G_phase, s>)^2                                  simple
 *          = <G_phase, s>^2 + <G_phase+90deg, s>^2                     complex
 *   V      = sum_x w(x) s(x)^2 - (sum_x w(x) s(x))^2                  w: Gaussian surround, sums to 1
 *   rate   = amplitude * (baseline + D / (c50^2 + surroundStrength * V))
 *
 * Each Gabor is normalized so that its optimal full-contrast grating gives <G, s> = 1, and `amplitude`
 * is c50^2 + surroundStrength / 2, so a neuron's rate for its optimal full-field full-contrast grating
 * (V = 1/2) is about 1 + baseline: rates are in units of that response. The caller turns expected rates
 * into noisy responses (scale, then Poisson).
 *
 * Where neurons are: each has cortical coordinates (µm, like `cell_motor_coordinates`: x, y in an imaged
 * field, z = depth in L2/3); the animal's retinotopic map (retinotopy.ts) sends (x, y) to a point of the
 * visual field, and the receptive field sits there plus a small scatter, as measured receptive fields
 * scatter around the smooth map.
 *
 * Distributions (defaults; orders of magnitude from mouse V1 studies such as Niell & Stryker 2008):
 * 40 % simple / 60 % complex; preferred spatial frequency log-normal, median 0.04 cycles/degree;
 * envelope size from the number of cycles under one sd (log-normal, median 0.33), giving sigma of
 * several degrees (median ~8, kept in 2.5..12); orientation and phase uniform; surround 2.5x the field's size.
 *
 * Cell types (option `cellTypes: K`, Klindt et al. 2017's setting): K types that share the whole nonlinear
 * computation: type k's orientation is offset + k * 180 / K degrees (offset drawn per animal), types alternate
 * simple (even k) and complex (odd k), and every other tuning parameter (spatial frequency, envelope size and
 * aspect, phase, surround, c50, baseline) is drawn once per type from the distributions above. A neuron of a type
 * is that type's filter at its own position (drawn as above: cortex, retinotopic map, scatter); nothing else
 * differs, so its "barcode" in a model that represents the types is the type's. Types are dealt in shuffled
 * blocks of K (neuron n's type does not depend on nNeurons; counts differ by at most one).
 */
import { Rng } from '../util/rng';
import { type AxisWindow, applyKernel, type BoxKernel, type GaborParams, gaborKernel, gaussianWindow } from './gabor';
import { degreesToPixel, makeRetinotopy, type RetinotopicMap, type RetinotopyOptions } from './retinotopy';

export type CellType = 'simple' | 'complex';

export interface V1Neuron {
  /** Cortical position (x, y, z) in micrometres; z = depth below the surface. */
  cortexUm: [number, number, number];
  type: CellType;
  /** Cell type 0..K-1 in a cell-type population (option `cellTypes`); absent otherwise. */
  cellType?: number;
  /** Receptive field in image pixels (see gabor.ts for the frame); for complex cells, the first of the pair. */
  rf: GaborParams;
  /** Where the smooth retinotopic map puts this neuron (pixels), before the receptive-field scatter. */
  mappedPx: [number, number];
  /** Surround: isotropic Gaussian sd (pixels) and weight of the contrast variance in the denominator. */
  surroundSigma: number;
  surroundStrength: number;
  /** Semi-saturation contrast of the normalization. */
  c50: number;
  /** Spontaneous rate, in units of the optimal-grating response. */
  baseline: number;
  /** Output gain (c50^2 + surroundStrength / 2 by default; see the file comment). */
  amplitude: number;
}

export interface PopulationOptions {
  /** Seeds everything about the animal: its map and its neurons. */
  animalSeed: number;
  nNeurons: number;
  /** (channels, height, width); one channel. */
  imageShape: [1, number, number];
  /** Degrees of visual angle per image pixel. Default 1.875 (64 pixels span 120 degrees of azimuth). */
  degPerPixel?: number;
  /** Fraction of simple cells. Default 0.4. */
  fractionSimple?: number;
  /** Median preferred spatial frequency, cycles/degree, and sd of its natural log. Defaults 0.04, 0.5. */
  sfMedianCpd?: number;
  sfLogSd?: number;
  /** Spatial frequency range kept, cycles/degree (the top must stay below the pixel Nyquist). Default [0.015, 0.15]. */
  sfRangeCpd?: [number, number];
  /** Cycles per envelope sd (sigma * sf): median and log-sd. Defaults 0.33, 0.25; kept in [0.25, 0.7]. */
  cyclesPerSigmaMedian?: number;
  cyclesPerSigmaLogSd?: number;
  /** Envelope sd range kept, degrees. Default [2.5, 12]. */
  sigmaRangeDeg?: [number, number];
  /** Size of the imaged cortical field (x, y), µm. Default [1200, 800]. */
  corticalExtentUm?: [number, number];
  /** sd of each receptive field's scatter around the map, degrees. Default 2. */
  rfScatterDeg?: number;
  /**
   * Receptive-field centres are kept at least this far inside the image, pixels. Default 4: the border a
   * 9x9 unpadded first layer (the Sensorium core) removes, so every centre lies on the core's output map
   * and a Gaussian readout can reach it.
   */
  marginPx?: number;
  /** Retinotopy options other than the field centre (drawn per animal). */
  retinotopy?: Omit<RetinotopyOptions, 'corticalCenterUm'>;
  /**
   * K >= 1: a cell-type population of K types (see the file comment); `fractionSimple` does not apply. Absent
   * (the default): every neuron has its own tuning, and the population is exactly what it was before types existed.
   */
  cellTypes?: number;
}

/** What the neurons of one cell type share: everything but the position. */
export interface CellTypeTuning {
  type: CellType;
  /** Gabor parameters but the centre (x0, y0). */
  rf: Omit<GaborParams, 'x0' | 'y0'>;
  surroundSigma: number;
  surroundStrength: number;
  c50: number;
  baseline: number;
  amplitude: number;
}

export interface Population {
  readonly animalSeed: number;
  readonly imageShape: [1, number, number];
  readonly degPerPixel: number;
  readonly neurons: readonly V1Neuron[];
  /** The animal's map; undefined for populations built from a neuron list without one. */
  readonly retinotopy?: RetinotopicMap;
  /** The K types of a cell-type population (option `cellTypes`), indexed by V1Neuron.cellType. */
  readonly cellTypes?: readonly CellTypeTuning[];
  /**
   * Expected rates for a batch of images (B, 1, H, W), row-major, in raw pixel units 0..255 (not z-scored).
   * Returns (B, N) row-major, all > 0.
   */
  rates(images: Float32Array | Uint8Array): Float32Array;
}

const GRAY = 127.5;
/** Fewest carrier cycles per envelope sd. */
const MIN_CYCLES = 0.25;

/** Draws an animal: its retinotopic map and `nNeurons` neurons. Deterministic in `animalSeed`. */
export function makePopulation(options: PopulationOptions): Population {
  const [channels, height, width] = options.imageShape;
  if (channels !== 1 || !(height > 0) || !(width > 0))
    throw new Error(`imageShape must be [1, H, W], got [${options.imageShape}]`);
  if (!Number.isInteger(options.nNeurons) || options.nNeurons < 1)
    throw new Error(`nNeurons must be a positive integer, got ${options.nNeurons}`);
  const degPerPixel = options.degPerPixel ?? 1.875;
  const [sfLo, sfHi] = options.sfRangeCpd ?? [0.015, 0.15];
  if (sfHi * degPerPixel >= 0.5)
    throw new Error(`highest spatial frequency ${sfHi} cpd is above the pixel Nyquist at ${degPerPixel} deg/pixel`);
  const [sigLo, sigHi] = options.sigmaRangeDeg ?? [2.5, 12];
  const [extX, extY] = options.corticalExtentUm ?? [1200, 800];
  const margin = options.marginPx ?? 4;
  const scatter = options.rfScatterDeg ?? 2;
  const K = options.cellTypes;
  if (K !== undefined && !(Number.isInteger(K) && K >= 1))
    throw new Error(`cellTypes must be an integer >= 1, not ${K}`);
  const draw: TuningDraw = { sfLo, sfHi, sigLo, sigHi, degPerPixel, options };

  const root = new Rng(options.animalSeed);
  // separate streams: the map does not change when the neuron count does, and neuron i is the same
  // for every nNeurons > i
  const mapRng = root.fork();
  const neuronRng = root.fork();
  const fieldCenter: [number, number] = [mapRng.range(-1000, 1000), mapRng.range(-1000, 1000)];
  const retinotopy = makeRetinotopy(mapRng, { ...options.retinotopy, corticalCenterUm: fieldCenter });
  // types from a third stream (forked only for a cell-type population: the other two streams are the same either way)
  let types: CellTypeTuning[] | undefined;
  let typeRng: Rng | undefined;
  if (K !== undefined) {
    typeRng = root.fork();
    const offset = typeRng.range(0, Math.PI / K);
    types = [];
    for (let k = 0; k < K; k++) {
      const t = drawTuning(typeRng, draw);
      const orientation = offset + (k * Math.PI) / K;
      types.push({ ...t, type: k % 2 === 0 ? 'simple' : 'complex', rf: { ...t.rf, orientation } });
    }
  }
  let block: Int32Array = new Int32Array(0);

  const neurons: V1Neuron[] = [];
  for (let n = 0; n < options.nNeurons; n++) {
    const rng = neuronRng;
    // position: uniform in the imaged field, kept only where the receptive field lands on the image
    let cortexUm: [number, number, number] | null = null;
    let mappedPx: [number, number] = [0, 0];
    let center: [number, number] = [0, 0];
    for (let attempt = 0; attempt < 10000 && cortexUm === null; attempt++) {
      const x = fieldCenter[0] + rng.range(-extX / 2, extX / 2);
      const y = fieldCenter[1] + rng.range(-extY / 2, extY / 2);
      const z = rng.range(200, 300);
      const [az, el] = retinotopy.toVisual(x, y);
      mappedPx = degreesToPixel(az, el, height, width, degPerPixel);
      center = degreesToPixel(az + scatter * rng.normal(), el + scatter * rng.normal(), height, width, degPerPixel);
      if (
        center[0] >= margin &&
        center[0] <= width - 1 - margin &&
        center[1] >= margin &&
        center[1] <= height - 1 - margin
      ) {
        cortexUm = [x, y, z];
      }
    }
    if (cortexUm === null)
      throw new Error(
        'makePopulation: the retinotopic map puts almost no cortical point on the image; enlarge the image or degPerPixel',
      );

    const rf = (t: CellTypeTuning): GaborParams => ({ x0: center[0], y0: center[1], ...t.rf });
    if (types === undefined) {
      const t = drawTuning(rng, draw);
      neurons.push({ cortexUm, type: t.type, rf: rf(t), mappedPx, ...surroundOf(t) });
    } else {
      if (n % K! === 0) block = typeRng!.permutation(K!);
      const cellType = block[n % K!];
      const t = types[cellType];
      neurons.push({ cortexUm, type: t.type, cellType, rf: rf(t), mappedPx, ...surroundOf(t) });
    }
  }
  const extra = { animalSeed: options.animalSeed, degPerPixel, retinotopy, cellTypes: types };
  return populationFromNeurons(neurons, options.imageShape, extra);
}

interface TuningDraw {
  sfLo: number;
  sfHi: number;
  sigLo: number;
  sigHi: number;
  degPerPixel: number;
  options: PopulationOptions;
}

/** A neuron's (or a cell type's) tuning: everything but its position, drawn in a fixed order from `rng`. */
function drawTuning(rng: Rng, d: TuningDraw): CellTypeTuning {
  const { sfLo, sfHi, sigLo, sigHi, degPerPixel, options } = d;
  const type: CellType = rng.uniform() < (options.fractionSimple ?? 0.4) ? 'simple' : 'complex';
  let sfCpd = clamp((options.sfMedianCpd ?? 0.04) * Math.exp((options.sfLogSd ?? 0.5) * rng.normal()), sfLo, sfHi);
  const cyclesMedian = options.cyclesPerSigmaMedian ?? 0.33;
  const cycles = clamp(cyclesMedian * Math.exp((options.cyclesPerSigmaLogSd ?? 0.25) * rng.normal()), MIN_CYCLES, 0.7);
  const sigmaDeg = clamp(cycles / sfCpd, sigLo, sigHi);
  // a field capped in size must still hold MIN_CYCLES, or its quadrature pair stops being one and the
  // "complex" cell turns phase-selective: the lowest frequencies move up to fit
  sfCpd = Math.max(sfCpd, MIN_CYCLES / sigmaDeg);
  const aspect = clamp(1.2 * Math.exp(0.25 * rng.normal()), 0.6, 2.5);
  const orientation = rng.range(0, Math.PI);
  const phase = rng.range(0, 2 * Math.PI);
  const sigma = sigmaDeg / degPerPixel;
  const surroundRatio = clamp(2.5 * Math.exp(0.2 * rng.normal()), 1.6, 4);
  const surroundStrength = rng.range(0.2, 1.5);
  const c50 = clamp(0.25 * Math.exp(0.3 * rng.normal()), 0.1, 0.6);
  const baseline = rng.range(0.005, 0.03);
  return {
    type,
    rf: { sigma, aspect, sf: sfCpd * degPerPixel, orientation, phase },
    surroundSigma: surroundRatio * sigma * Math.max(1, aspect),
    surroundStrength,
    c50,
    baseline,
    amplitude: c50 * c50 + surroundStrength / 2,
  };
}

/** The V1Neuron fields after `mappedPx`, in the order neurons.json has always listed them. */
function surroundOf(t: CellTypeTuning): Omit<CellTypeTuning, 'type' | 'rf'> {
  const { surroundSigma, surroundStrength, c50, baseline, amplitude } = t;
  return { surroundSigma, surroundStrength, c50, baseline, amplitude };
}

interface CompiledNeuron {
  even: BoxKernel;
  odd: BoxKernel | null;
  surroundX: AxisWindow;
  surroundY: AxisWindow;
  /** sum of the surround weights that fall on the image */
  surroundMass: number;
  denominatorConst: number;
  surroundStrength: number;
  baseline: number;
  amplitude: number;
}

/**
 * A population from explicit neurons (tests, hand-made examples). Filters are computed once here, each
 * restricted to its bounding box, so `rates` costs about (box area) per neuron and image.
 */
export function populationFromNeurons(
  neurons: V1Neuron[],
  imageShape: [1, number, number],
  extra: {
    animalSeed?: number;
    degPerPixel?: number;
    retinotopy?: RetinotopicMap;
    cellTypes?: readonly CellTypeTuning[];
  } = {},
): Population {
  const [, height, width] = imageShape;
  const compiled: CompiledNeuron[] = neurons.map((nr) => {
    const even = gaborKernel(nr.rf, height, width);
    const odd =
      nr.type === 'complex' ? gaborKernel({ ...nr.rf, phase: nr.rf.phase + Math.PI / 2 }, height, width) : null;
    // the surround only needs ~3 sd: it pools a smooth statistic, not a signed filter
    const surroundX = gaussianWindow(nr.rf.x0, nr.surroundSigma, width, 3);
    const surroundY = gaussianWindow(nr.rf.y0, nr.surroundSigma, height, 3);
    const mass = sum(surroundX.weights) * sum(surroundY.weights);
    return {
      even,
      odd,
      surroundX,
      surroundY,
      surroundMass: mass,
      denominatorConst: nr.c50 * nr.c50,
      surroundStrength: nr.surroundStrength,
      baseline: nr.baseline,
      amplitude: nr.amplitude,
    };
  });
  const frozen = neurons.map((n) => structuredClone(n));
  return {
    animalSeed: extra.animalSeed ?? 0,
    imageShape: [1, height, width],
    degPerPixel: extra.degPerPixel ?? 1.875,
    neurons: frozen,
    retinotopy: extra.retinotopy,
    ...(extra.cellTypes && { cellTypes: extra.cellTypes.map((t) => structuredClone(t)) }),
    rates: (images) => computeRates(compiled, images, height, width),
  };
}

function computeRates(
  compiled: CompiledNeuron[],
  images: Float32Array | Uint8Array,
  height: number,
  width: number,
): Float32Array {
  const pixels = height * width;
  if (images.length % pixels !== 0)
    throw new Error(`images: length ${images.length} is not a multiple of 1 x ${height} x ${width}`);
  const batch = images.length / pixels;
  const n = compiled.length;
  const out = new Float32Array(batch * n);
  const s = new Float32Array(pixels);
  const s2 = new Float32Array(pixels);
  for (let b = 0; b < batch; b++) {
    const off = b * pixels;
    for (let p = 0; p < pixels; p++) {
      const v = (images[off + p] - GRAY) / GRAY;
      s[p] = v;
      s2[p] = v * v;
    }
    for (let i = 0; i < n; i++) {
      const c = compiled[i];
      const l1 = applyKernel(c.even, s, width);
      let drive: number;
      if (c.odd === null) {
        drive = l1 > 0 ? l1 * l1 : 0;
      } else {
        const l2 = applyKernel(c.odd, s, width);
        drive = l1 * l1 + l2 * l2;
      }
      const [m1, m2] = windowMoments(c.surroundX, c.surroundY, s, s2, width);
      const mean = m1 / c.surroundMass;
      const variance = Math.max(0, m2 / c.surroundMass - mean * mean);
      out[b * n + i] = c.amplitude * (c.baseline + drive / (c.denominatorConst + c.surroundStrength * variance));
    }
  }
  return out;
}

/** Separable Gaussian-weighted sums of s and s^2 over the window. */
function windowMoments(
  wx: AxisWindow,
  wy: AxisWindow,
  s: Float32Array,
  s2: Float32Array,
  width: number,
): [number, number] {
  let m1 = 0;
  let m2 = 0;
  const gx = wx.weights;
  const gy = wy.weights;
  for (let i = 0; i < gy.length; i++) {
    const base = (wy.start + i) * width + wx.start;
    let r1 = 0;
    let r2 = 0;
    for (let j = 0; j < gx.length; j++) {
      r1 += gx[j] * s[base + j];
      r2 += gx[j] * s2[base + j];
    }
    m1 += gy[i] * r1;
    m2 += gy[i] * r2;
  }
  return [m1, m2];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function sum(a: Float32Array): number {
  let t = 0;
  for (let i = 0; i < a.length; i++) t += a[i];
  return t;
}
