/**
 * Procedurally generated natural-like grayscale images, reproducible by seed, of any size; no image files.
 *
 * What makes a photograph "natural" to V1 models, and how each property is produced here:
 * - a ~1/f amplitude spectrum (scale invariance): a Gaussian random field synthesized in the Fourier domain
 *   with amplitude f^-alpha, alpha drawn per image around 1, with a mild horizontal/vertical anisotropy;
 * - sharp, occluding edges and flat-ish surfaces: a "dead leaves" stack of ellipses, rotated rectangles and
 *   half-planes (horizons), each with its own luminance, gradient and faint texture, anti-aliased from their
 *   signed distance, some of them defocused;
 * - a skewed luminance histogram that uses the full 8-bit range: the pixel ranks are mapped through the
 *   quantile function of a Kumaraswamy distribution drawn per image (histogram specification).
 *
 * Image `i` of seed `s` depends only on (s, i, height, width), so any subset can be regenerated on its own.
 */

import { Rng } from '../util/rng';
import { fft2d, nextPow2 } from './fft';

export interface ImageOptions {
  /** Range of the amplitude-spectrum exponent (natural images: about 0.8 - 1.5). */
  alpha?: [number, number];
  /** Range of the number of occluding shapes. */
  shapes?: [number, number];
}

const DEFAULTS: Required<ImageOptions> = { alpha: [0.8, 1.2], shapes: [4, 24] };

/** Seed of image `index` in the image set of `seed` (a hash, so that nearby indices give unrelated streams). */
export function imageSeed(seed: number, index: number): number {
  let h = Math.imul((seed | 0) ^ 0x5bd1e995, 0x27d4eb2d) ^ Math.imul(index + 1, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `count` images of (height, width) as one uint8 array (count, height, width): image i = generateImage(seed, first + i). */
export function generateImages(
  count: number,
  height: number,
  width: number,
  seed: number,
  first = 0,
  opts: ImageOptions = {},
): Uint8Array {
  const out = new Uint8Array(count * height * width);
  for (let i = 0; i < count; i++) out.set(generateImage(seed, first + i, height, width, opts), i * height * width);
  return out;
}

/** One natural-like image, uint8, row-major (height, width). */
export function generateImage(
  seed: number,
  index: number,
  height: number,
  width: number,
  opts: ImageOptions = {},
): Uint8Array {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new Error(`image size must be positive integers, got ${height} x ${width}`);
  }
  const o = { ...DEFAULTS, ...opts };
  const rng = new Rng(imageSeed(seed, index));
  const n = height * width;

  const torus = pinkTorus(rng, height, width, rng.range(o.alpha[0], o.alpha[1]));
  const img = readTorus(torus, height, width, rng.int(torus.H), rng.int(torus.W));
  standardize(img);

  const shapes = o.shapes[0] + rng.int(o.shapes[1] - o.shapes[0] + 1);
  const scale = Math.max(height, width);
  for (let s = 0; s < shapes; s++) drawShape(rng, img, torus, height, width, scale);

  blur(img, height, width, rng.uniform() < 0.4 ? rng.range(0.3, 1.2) : 0);
  for (let i = 0; i < n; i++) img[i] += 0.02 * rng.normal(); // sensor noise; also breaks exact ties
  return histogramSpecify(img, rng.range(1.4, 3.0), rng.range(2.0, 5.0));
}

/** Largest side of the Fourier synthesis; bigger images read a smaller field with interpolation. */
const MAX_SYNTH = 128;

/**
 * A zero-mean, unit-variance Gaussian field with amplitude spectrum f^-alpha on a periodic power-of-two torus
 * about 1.5 times the image (in synthesis pixels), read through `sample` with bilinear interpolation and
 * wrap-around, so any window of it is seamless. Above MAX_SYNTH pixels a side the image reads the field at
 * 1/down resolution: with alpha >= 1 little power is lost, and sharp detail comes from the shapes, which are
 * drawn at full resolution.
 */
interface Torus {
  data: Float64Array;
  H: number;
  W: number;
  down: number;
}

function pinkTorus(rng: Rng, height: number, width: number, alpha: number): Torus {
  const down = Math.max(1, Math.max(height, width) / MAX_SYNTH);
  const H = nextPow2(Math.max(Math.ceil((1.5 * height) / down), 16));
  const W = nextPow2(Math.max(Math.ceil((1.5 * width) / down), 16));
  const re = new Float64Array(H * W);
  const im = new Float64Array(H * W);
  const aniso = rng.range(0, 0.35);
  const theta0 = rng.uniform() < 0.7 ? 0 : rng.range(0, Math.PI); // cardinal orientations dominate in nature
  const fmin = 1 / Math.max(H, W);
  for (let ky = 0; ky < H; ky++) {
    const fy = (ky <= H / 2 ? ky : ky - H) / H;
    for (let kx = 0; kx < W; kx++) {
      const fx = (kx <= W / 2 ? kx : kx - W) / W;
      const i = ky * W + kx;
      if (kx === 0 && ky === 0) continue; // no DC: the field is standardized below
      const f = Math.max(Math.hypot(fx, fy), fmin);
      const orient = 1 + aniso * Math.cos(4 * (Math.atan2(fy, fx) - theta0)); // peaks at theta0 and theta0 + 90°
      const amp = orient * Math.pow(f, -alpha);
      re[i] = amp * rng.normal();
      im[i] = amp * rng.normal();
    }
  }
  fft2d(re, im, H, W, true);
  standardize(re);
  return { data: re, H, W, down };
}

/** The torus read over an image-sized window whose corner is at (oy, ox) in torus pixels. */
function readTorus(t: Torus, height: number, width: number, oy: number, ox: number): Float64Array {
  const out = new Float64Array(height * width);
  const { data, H, W, down } = t;
  for (let y = 0; y < height; y++) {
    const sy = oy + (y + 0.5) / down;
    const yf = Math.floor(sy),
      wy = sy - yf;
    const r0 = (yf % H) * W,
      r1 = ((yf + 1) % H) * W;
    for (let x = 0; x < width; x++) {
      const sx = ox + (x + 0.5) / down;
      const xf = Math.floor(sx),
        wx = sx - xf;
      const c0 = xf % W,
        c1 = (xf + 1) % W;
      out[y * width + x] =
        (1 - wy) * ((1 - wx) * data[r0 + c0] + wx * data[r0 + c1]) +
        wy * ((1 - wx) * data[r1 + c0] + wx * data[r1 + c1]);
    }
  }
  return out;
}

function standardize(x: Float64Array): void {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - m) ** 2;
  const sd = Math.sqrt(v / x.length) || 1;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - m) / sd;
}

/**
 * One occluding surface, drawn over what is there: coverage from the shape's signed distance (pixels; negative
 * inside) with an anti-aliasing / defocus ramp, value = luminance + gradient + faint texture.
 */
function drawShape(rng: Rng, img: Float64Array, texture: Torus, height: number, width: number, scale: number): void {
  const kind = rng.uniform();
  const cx = rng.range(-0.1, 1.1) * width;
  const cy = rng.range(-0.1, 1.1) * height;
  // dead-leaves size law: many small, few large (radius density ~ r^-2 between 2 px and the image size)
  const rMin = Math.max(1, scale / 30),
    rMax = scale * 0.8;
  const r = 1 / (1 / rMin - rng.uniform() * (1 / rMin - 1 / rMax));
  const angle = rng.range(0, Math.PI);
  const ca = Math.cos(angle),
    sa = Math.sin(angle);
  const aspect = rng.logUniform(0.3, 1);
  const soft = rng.uniform() < 0.25 ? rng.range(1, 3) : 0.5; // some surfaces out of focus
  const level = 1.2 * rng.normal();
  const gx = (rng.normal() * 0.6) / scale,
    gy = (rng.normal() * 0.6) / scale;
  const tex = rng.range(0.05, 0.3);
  // each surface's faint texture: the background's field read at a place of its own (seamless: it is periodic)
  const ty = rng.int(texture.H),
    tx = rng.int(texture.W);

  let sdf: (x: number, y: number) => number;
  // pixels the shape can touch: a box around it for ellipses and rectangles, everything for half-planes
  let x0 = 0,
    x1 = width,
    y0 = 0,
    y1 = height;
  if (kind < 0.85) {
    const reach = r * Math.SQRT2 + soft + 1;
    x0 = Math.max(0, Math.floor(cx - reach));
    x1 = Math.min(width, Math.ceil(cx + reach));
    y0 = Math.max(0, Math.floor(cy - reach));
    y1 = Math.min(height, Math.ceil(cy + reach));
  }
  if (kind < 0.45) {
    // ellipse, approximate signed distance (exact for circles)
    const a = r,
      b = r * aspect;
    sdf = (x, y) => {
      const u = (x - cx) * ca + (y - cy) * sa,
        v = -(x - cx) * sa + (y - cy) * ca;
      const k = Math.hypot(u / a, v / b);
      return (k - 1) * Math.min(a, b);
    };
  } else if (kind < 0.85) {
    // rotated rectangle, exact signed distance
    const a = r,
      b = r * aspect;
    sdf = (x, y) => {
      const u = Math.abs((x - cx) * ca + (y - cy) * sa) - a;
      const v = Math.abs(-(x - cx) * sa + (y - cy) * ca) - b;
      return Math.hypot(Math.max(u, 0), Math.max(v, 0)) + Math.min(Math.max(u, v), 0);
    };
  } else {
    // half-plane through (cx, cy): a horizon or the edge of a large object
    sdf = (x, y) => (x - cx) * sa - (y - cy) * ca;
  }
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const d = sdf(x + 0.5, y + 0.5);
      if (d > soft) continue;
      const cov = d <= -soft ? 1 : 0.5 - d / (2 * soft);
      const i = y * width + x;
      const t =
        texture.data[
          (Math.floor(ty + y / texture.down) % texture.H) * texture.W + (Math.floor(tx + x / texture.down) % texture.W)
        ];
      const value = level + gx * (x - cx) + gy * (y - cy) + tex * t;
      img[i] = img[i] * (1 - cov) + value * cov;
    }
  }
}

/** Separable Gaussian blur with standard deviation `sigma` pixels (edges clamped); no-op for sigma 0. */
function blur(img: Float64Array, height: number, width: number, sigma: number): void {
  if (sigma <= 0) return;
  const radius = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * radius + 1);
  let s = 0;
  for (let i = -radius; i <= radius; i++) s += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  const tmp = new Float64Array(img.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (let j = -radius; j <= radius; j++)
        v += k[j + radius] * img[y * width + Math.min(width - 1, Math.max(0, x + j))];
      tmp[y * width + x] = v;
    }
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (let j = -radius; j <= radius; j++)
        v += k[j + radius] * tmp[Math.min(height - 1, Math.max(0, y + j)) * width + x];
      img[y * width + x] = v;
    }
}

/**
 * Histogram specification: each pixel's rank u in (0, 1) through the Kumaraswamy(a, b) quantile function
 * x = (1 - (1 - u)^(1/b))^(1/a), scaled to 0..255 and rounded. Ranks come from a fine histogram of the values
 * (65536 bins; pixels in one bin share its mid rank), which is O(pixels) and exact to far below one grey level.
 */
function histogramSpecify(img: Float64Array, a: number, b: number): Uint8Array {
  const n = img.length;
  const BINS = 65536;
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (img[i] < lo) lo = img[i];
    if (img[i] > hi) hi = img[i];
  }
  const out = new Uint8Array(n);
  if (!(hi > lo)) return out.fill(128);
  const binOf = (v: number) => Math.min(BINS - 1, Math.floor(((v - lo) / (hi - lo)) * BINS));
  const counts = new Uint32Array(BINS);
  for (let i = 0; i < n; i++) counts[binOf(img[i])]++;
  const level = new Uint8Array(BINS);
  let below = 0;
  for (let k = 0; k < BINS; k++) {
    if (counts[k] === 0) continue;
    const u = (below + counts[k] / 2) / n;
    level[k] = Math.round(255 * Math.pow(1 - Math.pow(1 - u, 1 / b), 1 / a));
    below += counts[k];
  }
  for (let i = 0; i < n; i++) out[i] = level[binOf(img[i])];
  return out;
}
