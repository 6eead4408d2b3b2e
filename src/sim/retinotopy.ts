/**
 * An animal's retinotopic map: where on the screen a point of its visual cortex looks.
 *
 * Mouse V1 maps the visual field smoothly and (nearly) one-to-one onto the cortex; between animals the
 * map differs in where the imaging window sits, how it is rotated relative to the microscope's axes, its
 * magnification and its small irregularities. We model it as
 *
 *   v(u) = visualCenterDeg + L (u - corticalCenterUm) + w(u - corticalCenterUm)
 *
 * with u = cortical (x, y) in micrometres, v = (azimuth, elevation) in degrees relative to the image
 * centre (azimuth grows rightwards, elevation upwards), L = a per-animal linear map (magnification,
 * anisotropy, rotation, optional mirror flip) and w = a smooth warp, a sum of a few long-wavelength plane
 * waves. The warp's Jacobian norm is kept below half the smallest singular value of L, so L + Jw is never
 * singular: the map is a diffeomorphism whose Jacobian determinant has one sign everywhere (negative for a
 * flipped map), and it can be inverted by a contracting fixed-point iteration (toCortex).
 */
import type { Rng } from '../util/rng';

export interface RetinotopyParams {
  /** Cortical point (µm) that the linear part maps to `visualCenterDeg`. */
  corticalCenterUm: [number, number];
  /** (azimuth, elevation) in degrees relative to the image centre. */
  visualCenterDeg: [number, number];
  /** 2x2 linear part, row-major, degrees per micrometre: [az, el] = L [dx, dy]. */
  linear: [number, number, number, number];
  /** Warp components: displacement (deg) a_k * sin(omega_k . (u - centre) + phase_k). */
  warp: { amplitudeDeg: [number, number]; omegaPerUm: [number, number]; phase: number }[];
}

export interface RetinotopyOptions {
  /** Cortical point (µm) at the middle of the imaged field. */
  corticalCenterUm: [number, number];
  /** Median cortical magnification, µm of cortex per degree of visual field (order of magnitude for mouse V1). Default 20. */
  magnificationUmPerDeg?: number;
  /** Spread of the magnification between animals, sd of its natural log. Default 0.15. */
  magnificationLogSd?: number;
  /** Where the field's centre looks, drawn uniformly in ±this (azimuth, elevation) degrees. Default [12, 5]. */
  visualCenterJitterDeg?: [number, number];
  /** Probability that the map is mirror-flipped relative to the microscope's axes. Default 0.5. */
  flipProbability?: number;
  /** Warp Jacobian norm bound as a fraction of the linear part's smallest singular value (< 1). Default 0.5. */
  warpStrength?: number;
  /** Number of plane-wave warp components. Default 3. */
  warpComponents?: number;
  /** Warp wavelengths drawn uniformly in this range, µm. Default [1500, 4000]. */
  warpWavelengthUm?: [number, number];
}

export class RetinotopicMap {
  readonly params: RetinotopyParams;
  private readonly inverseLinear: [number, number, number, number];

  constructor(params: RetinotopyParams) {
    this.params = params;
    const [a, b, c, d] = params.linear;
    const det = a * d - b * c;
    if (!(Math.abs(det) > 0) || !Number.isFinite(det)) throw new Error('retinotopic map: linear part is singular');
    this.inverseLinear = [d / det, -b / det, -c / det, a / det];
  }

  /** (azimuth, elevation) in degrees relative to the image centre for a cortical point (µm). */
  toVisual(xUm: number, yUm: number): [number, number] {
    const p = this.params;
    const dx = xUm - p.corticalCenterUm[0];
    const dy = yUm - p.corticalCenterUm[1];
    const [a, b, c, d] = p.linear;
    let az = p.visualCenterDeg[0] + a * dx + b * dy;
    let el = p.visualCenterDeg[1] + c * dx + d * dy;
    for (const w of p.warp) {
      const s = Math.sin(w.omegaPerUm[0] * dx + w.omegaPerUm[1] * dy + w.phase);
      az += w.amplitudeDeg[0] * s;
      el += w.amplitudeDeg[1] * s;
    }
    return [az, el];
  }

  /** Jacobian d(az, el)/d(x, y), row-major, degrees per µm. */
  jacobian(xUm: number, yUm: number): [number, number, number, number] {
    const p = this.params;
    const dx = xUm - p.corticalCenterUm[0];
    const dy = yUm - p.corticalCenterUm[1];
    let [a, b, c, d] = p.linear;
    for (const w of p.warp) {
      const cs = Math.cos(w.omegaPerUm[0] * dx + w.omegaPerUm[1] * dy + w.phase);
      a += w.amplitudeDeg[0] * w.omegaPerUm[0] * cs;
      b += w.amplitudeDeg[0] * w.omegaPerUm[1] * cs;
      c += w.amplitudeDeg[1] * w.omegaPerUm[0] * cs;
      d += w.amplitudeDeg[1] * w.omegaPerUm[1] * cs;
    }
    return [a, b, c, d];
  }

  /**
   * The cortical point (µm) that looks at (azimuth, elevation). Fixed-point iteration
   * u <- centre + L^-1 (v - visualCentre - w(u)), a contraction because the warp's Lipschitz constant is
   * below L's smallest singular value; stops at 1e-9 µm or after `maxIterations`.
   */
  toCortex(azDeg: number, elDeg: number, maxIterations = 200): [number, number] {
    const p = this.params;
    const [ia, ib, ic, id] = this.inverseLinear;
    let dx = 0;
    let dy = 0;
    for (let it = 0; it < maxIterations; it++) {
      let rAz = azDeg - p.visualCenterDeg[0];
      let rEl = elDeg - p.visualCenterDeg[1];
      for (const w of p.warp) {
        const s = Math.sin(w.omegaPerUm[0] * dx + w.omegaPerUm[1] * dy + w.phase);
        rAz -= w.amplitudeDeg[0] * s;
        rEl -= w.amplitudeDeg[1] * s;
      }
      const nx = ia * rAz + ib * rEl;
      const ny = ic * rAz + id * rEl;
      const step = Math.hypot(nx - dx, ny - dy);
      dx = nx;
      dy = ny;
      if (step < 1e-9) break;
    }
    return [p.corticalCenterUm[0] + dx, p.corticalCenterUm[1] + dy];
  }

  /** Sign of the Jacobian determinant everywhere: -1 for a mirror-flipped map. */
  get orientationSign(): 1 | -1 {
    const [a, b, c, d] = this.params.linear;
    return a * d - b * c > 0 ? 1 : -1;
  }
}

/** Draws an animal's map. Everything random comes from `rng`. */
export function makeRetinotopy(rng: Rng, options: RetinotopyOptions): RetinotopicMap {
  const mag = (options.magnificationUmPerDeg ?? 20) * Math.exp((options.magnificationLogSd ?? 0.15) * rng.normal());
  // slight anisotropy: the two cortical axes magnify differently by ~10 %
  const aniso = Math.exp(0.1 * rng.normal());
  const sx = 1 / (mag * aniso);
  const sy = aniso / mag;
  const flip = rng.uniform() < (options.flipProbability ?? 0.5) ? -1 : 1;
  const rot = rng.range(0, 2 * Math.PI);
  const cr = Math.cos(rot);
  const sr = Math.sin(rot);
  // L = R(rot) * diag(sx, flip * sy); elevation is "up", cortical y is whatever the microscope calls y
  const linear: [number, number, number, number] = [cr * sx, -sr * sy * flip, sr * sx, cr * sy * flip];
  const [jAz, jEl] = options.visualCenterJitterDeg ?? [12, 5];
  const visualCenterDeg: [number, number] = [rng.range(-jAz, jAz), rng.range(-jEl, jEl)];

  const nWarp = options.warpComponents ?? 3;
  const [wl0, wl1] = options.warpWavelengthUm ?? [1500, 4000];
  const strength = options.warpStrength ?? 0.5;
  if (!(strength >= 0 && strength < 1)) throw new Error(`warpStrength must be in [0, 1), got ${strength}`);
  const raw: RetinotopyParams['warp'] = [];
  let lipschitz = 0;
  for (let k = 0; k < nWarp; k++) {
    const wavelength = rng.range(wl0, wl1);
    const dir = rng.range(0, 2 * Math.PI);
    const omegaNorm = (2 * Math.PI) / wavelength;
    const ampDir = rng.range(0, 2 * Math.PI);
    const ampNorm = rng.range(0.5, 1);
    raw.push({
      amplitudeDeg: [ampNorm * Math.cos(ampDir), ampNorm * Math.sin(ampDir)],
      omegaPerUm: [omegaNorm * Math.cos(dir), omegaNorm * Math.sin(dir)],
      phase: rng.range(0, 2 * Math.PI),
    });
    lipschitz += ampNorm * omegaNorm;
  }
  // scale amplitudes so that sum_k |a_k| |omega_k| (a bound on the warp Jacobian's norm) = strength * sigma_min(L)
  const scale = lipschitz > 0 ? (strength * smallestSingularValue(linear)) / lipschitz : 0;
  const warp = raw.map((w) => ({
    ...w,
    amplitudeDeg: [w.amplitudeDeg[0] * scale, w.amplitudeDeg[1] * scale] as [number, number],
  }));
  return new RetinotopicMap({ corticalCenterUm: [...options.corticalCenterUm], visualCenterDeg, linear, warp });
}

/** Smallest singular value of a 2x2 matrix (row-major). */
export function smallestSingularValue([a, b, c, d]: [number, number, number, number]): number {
  const s1 = Math.hypot(a + d, c - b);
  const s2 = Math.hypot(a - d, c + b);
  return Math.abs(s1 - s2) / 2;
}

/** Converts (azimuth, elevation) degrees relative to the image centre to pixel (x = column, y = row). */
export function degreesToPixel(
  azDeg: number,
  elDeg: number,
  height: number,
  width: number,
  degPerPixel: number,
): [number, number] {
  return [(width - 1) / 2 + azDeg / degPerPixel, (height - 1) / 2 - elDeg / degPerPixel];
}

/** Inverse of degreesToPixel. */
export function pixelToDegrees(
  x: number,
  y: number,
  height: number,
  width: number,
  degPerPixel: number,
): [number, number] {
  return [(x - (width - 1) / 2) * degPerPixel, ((height - 1) / 2 - y) * degPerPixel];
}
