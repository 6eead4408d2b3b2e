/**
 * Gabor receptive fields on the image's pixel grid, the building block of the simulated simple and complex
 * cells (v1_population.ts).
 *
 * Coordinates are image pixels: x = column (0 at the left pixel's centre, growing rightwards), y = row
 * (0 at the top pixel's centre, growing downwards). An orientation theta is the direction of the carrier's
 * wave vector in that (x, y) frame: theta = 0 varies along x (vertical stripes); because y points down,
 * positive theta turns clockwise on the screen.
 *
 *   x' =  (x - x0) cos(theta) + (y - y0) sin(theta)      (across the stripes)
 *   y' = -(x - x0) sin(theta) + (y - y0) cos(theta)      (along the stripes)
 *   G(x, y) = exp(-x'^2 / (2 sigma^2) - y'^2 / (2 (aspect sigma)^2)) * cos(2 pi sf x' + phase)
 */

export interface GaborParams {
  /** Centre, pixels (x = column, y = row). */
  x0: number;
  y0: number;
  /** Envelope standard deviation across the stripes (along the wave vector), pixels. */
  sigma: number;
  /** Envelope standard deviation along the stripes divided by `sigma`. */
  aspect: number;
  /** Spatial frequency of the carrier, cycles per pixel. */
  sf: number;
  /** Direction of the wave vector, radians (see the file comment for the frame). */
  orientation: number;
  /** Carrier phase at the centre, radians: phase 0 is an even (cosine) field with a bright centre. */
  phase: number;
}

/**
 * A filter restricted to its bounding box inside the image: weights of the pixels
 * rows row0..row0+rows-1, columns col0..col0+cols-1, row-major.
 */
export interface BoxKernel {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
  weights: Float32Array;
}

/** Envelope extent (in envelope standard deviations) beyond which a Gabor is treated as zero. */
export const DEFAULT_TRUNCATE = 4;

/** The raw Gabor value at a point (no DC correction, no normalization). */
export function gaborValue(p: GaborParams, x: number, y: number): number {
  const c = Math.cos(p.orientation);
  const s = Math.sin(p.orientation);
  const dx = x - p.x0;
  const dy = y - p.y0;
  const xp = dx * c + dy * s;
  const yp = -dx * s + dy * c;
  const sy = p.aspect * p.sigma;
  const env = Math.exp(-(xp * xp) / (2 * p.sigma * p.sigma) - (yp * yp) / (2 * sy * sy));
  return env * Math.cos(2 * Math.PI * p.sf * xp + p.phase);
}

/**
 * The Gabor as a linear filter of pixel contrast, sampled on the image grid and cut to the image.
 *
 * Two corrections make it a clean model neuron rather than a raw formula:
 * - DC removal: a Gabor with few cycles has a non-zero mean and would respond to plain luminance; we
 *   subtract `k * envelope` with k chosen so the filter sums to zero (over its full, uncut support).
 * - Normalization: the filter is scaled so that its optimal grating (same orientation, frequency and phase,
 *   contrast amplitude 1, filling the field) gives exactly 1. Both are computed on the full support around
 *   the centre, before cutting to the image, so a neuron whose field hangs off the edge keeps its gain and
 *   simply sees less of the stimulus, as a real neuron would.
 */
export function gaborKernel(p: GaborParams, height: number, width: number, truncate = DEFAULT_TRUNCATE): BoxKernel {
  validate(p);
  const reach = truncate * p.sigma * Math.max(1, p.aspect);
  // full support on the integer pixel grid, not yet cut to the image
  const r0 = Math.floor(p.y0 - reach);
  const r1 = Math.ceil(p.y0 + reach);
  const c0 = Math.floor(p.x0 - reach);
  const c1 = Math.ceil(p.x0 + reach);
  const fullRows = r1 - r0 + 1;
  const fullCols = c1 - c0 + 1;
  const n = fullRows * fullCols;
  const env = new Float64Array(n);
  const carrier = new Float64Array(n);
  const cosT = Math.cos(p.orientation);
  const sinT = Math.sin(p.orientation);
  const sy = p.aspect * p.sigma;
  const k = 2 * Math.PI * p.sf;
  let sumEnv = 0;
  let sumEnvCarrier = 0;
  for (let i = 0; i < fullRows; i++) {
    const dy = r0 + i - p.y0;
    for (let j = 0; j < fullCols; j++) {
      const dx = c0 + j - p.x0;
      const xp = dx * cosT + dy * sinT;
      const yp = -dx * sinT + dy * cosT;
      const e = Math.exp(-(xp * xp) / (2 * p.sigma * p.sigma) - (yp * yp) / (2 * sy * sy));
      const cv = Math.cos(k * xp + p.phase);
      env[i * fullCols + j] = e;
      carrier[i * fullCols + j] = cv;
      sumEnv += e;
      sumEnvCarrier += e * cv;
    }
  }
  const dc = sumEnvCarrier / sumEnv;
  // response to the optimal grating cos(k x' + phase), which is exactly `carrier` on this grid
  let optimal = 0;
  const full = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    full[t] = env[t] * (carrier[t] - dc);
    optimal += full[t] * carrier[t];
  }
  if (!(optimal > 1e-9)) {
    throw new Error(
      `Gabor has no response to its own grating (sf ${p.sf}, sigma ${p.sigma}): too few cycles or sub-pixel size`,
    );
  }
  // cut to the image
  const row0 = Math.max(0, r0);
  const col0 = Math.max(0, c0);
  const rowEnd = Math.min(height - 1, r1);
  const colEnd = Math.min(width - 1, c1);
  const rows = Math.max(0, rowEnd - row0 + 1);
  const cols = Math.max(0, colEnd - col0 + 1);
  const weights = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      weights[i * cols + j] = full[(row0 + i - r0) * fullCols + (col0 + j - c0)] / optimal;
    }
  }
  return { row0, col0, rows, cols, weights };
}

/** The filter's response to a contrast image (H x W, row-major): sum of weights times contrast over the box. */
export function applyKernel(kernel: BoxKernel, contrast: Float32Array, width: number, offset = 0): number {
  const { row0, col0, rows, cols, weights } = kernel;
  let acc = 0;
  for (let i = 0; i < rows; i++) {
    const base = offset + (row0 + i) * width + col0;
    const wBase = i * cols;
    for (let j = 0; j < cols; j++) acc += weights[wBase + j] * contrast[base + j];
  }
  return acc;
}

/**
 * A normalized 1-D Gaussian window over a pixel axis, cut to ±truncate sd and to the axis: the separable
 * factor of a 2-D isotropic Gaussian pooling field (the surround). Weights over the uncut window sum to 1,
 * so the 2-D product sums to 1 where the window lies fully inside the image.
 */
export interface AxisWindow {
  start: number;
  weights: Float32Array;
}

export function gaussianWindow(center: number, sd: number, length: number, truncate = DEFAULT_TRUNCATE): AxisWindow {
  if (!(sd > 0)) throw new Error(`Gaussian window needs sd > 0, got ${sd}`);
  const lo = Math.floor(center - truncate * sd);
  const hi = Math.ceil(center + truncate * sd);
  let total = 0;
  for (let i = lo; i <= hi; i++) total += Math.exp(-((i - center) ** 2) / (2 * sd * sd));
  const start = Math.max(0, lo);
  const end = Math.min(length - 1, hi);
  const weights = new Float32Array(Math.max(0, end - start + 1));
  for (let i = start; i <= end; i++) weights[i - start] = Math.exp(-((i - center) ** 2) / (2 * sd * sd)) / total;
  return { start, weights };
}

function validate(p: GaborParams): void {
  for (const [name, v] of Object.entries(p)) {
    if (!Number.isFinite(v)) throw new Error(`Gabor parameter ${name} must be finite, got ${v}`);
  }
  if (!(p.sigma > 0)) throw new Error(`Gabor sigma must be > 0, got ${p.sigma}`);
  if (!(p.aspect > 0)) throw new Error(`Gabor aspect must be > 0, got ${p.aspect}`);
  if (!(p.sf > 0 && p.sf < 0.5))
    throw new Error(`Gabor sf must be in (0, 0.5) cycles/pixel (below Nyquist), got ${p.sf}`);
}
