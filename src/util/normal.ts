/**
 * Fast standard-normal draws for the readout's position noise (B x N x 2 per step: 1M values per batch for
 * 7776 neurons, where Box-Muller's log/sqrt/trig took ~15% of a step). Marsaglia & Tsang's ziggurat (2000)
 * with 128 layers over an inlined xoshiro128** generator, seeded from the project's Rng (rng.ts), so a
 * seed reproduces every draw on every platform (32-bit integer arithmetic and IEEE doubles only).
 * The layer index comes from its own bits (4 indices per 32-bit draw), not from the low bits of the value as in
 * the original ziggurat, whose value/layer correlation fails chi-square tests (Doornik 2005).
 */
import type { Rng } from './rng';

const LAYERS = 128;
const R = 3.442619855899;
const V = 9.91256303526217e-3;
const M1 = 2147483648.0;

const kn = new Uint32Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
(() => {
  let dn = R,
    tn = dn;
  const q = V / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * M1);
  kn[1] = 0;
  wn[0] = q / M1;
  wn[LAYERS - 1] = dn / M1;
  fn[0] = 1.0;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * M1);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / M1;
  }
})();

export class NormalSampler {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private pool = 0;
  private poolLeft = 0;

  constructor(rng: Rng) {
    this.s0 = rng.uint32() | 0;
    this.s1 = rng.uint32() | 0;
    this.s2 = rng.uint32() | 0;
    this.s3 = rng.uint32() | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** xoshiro128** (Blackman & Vigna): a signed 32-bit value. */
  private next32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  private uniformOpen(): number {
    return ((this.next32() >>> 0) + 0.5) / 4294967296;
  }

  /** One N(0, 1) draw. */
  next(): number {
    for (;;) {
      if (this.poolLeft === 0) {
        this.pool = this.next32() >>> 0;
        this.poolLeft = 4;
      }
      const iz = this.pool & (LAYERS - 1);
      this.pool >>>= 8;
      this.poolLeft--;
      const hz = this.next32();
      const ahz = hz < 0 ? -hz : hz;
      if (ahz < kn[iz]) return hz * wn[iz];
      const r = this.slow(hz, iz);
      if (!Number.isNaN(r)) return r; // NaN: rejected, draw again
    }
  }

  /** Tail or wedge of the ziggurat; NaN when rejected. */
  private slow(hz: number, iz: number): number {
    const x = hz * wn[iz];
    if (iz === 0) {
      let xt: number, y: number;
      do {
        xt = -Math.log(this.uniformOpen()) / R;
        y = -Math.log(this.uniformOpen());
      } while (y + y < xt * xt);
      return hz > 0 ? R + xt : -R - xt;
    }
    if (fn[iz] + this.uniformOpen() * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return x;
    return NaN;
  }

  /** Fills `out` with N(0, 1) draws (the generator inlined for speed; same stream as calling next()). */
  fill(out: Float32Array): void {
    let s0 = this.s0,
      s1 = this.s1,
      s2 = this.s2,
      s3 = this.s3;
    let pool = this.pool,
      left = this.poolLeft;
    for (let i = 0; i < out.length; i++) {
      let r = NaN;
      while (Number.isNaN(r)) {
        if (left === 0) {
          pool = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
          const t = s1 << 9;
          s2 ^= s0;
          s3 ^= s1;
          s1 ^= s2;
          s0 ^= s3;
          s2 ^= t;
          s3 = (s3 << 11) | (s3 >>> 21);
          left = 4;
        }
        const iz = pool & (LAYERS - 1);
        pool >>>= 8;
        left--;
        const hz = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const ahz = hz < 0 ? -hz : hz;
        if (ahz < kn[iz]) {
          r = hz * wn[iz];
          break;
        }
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
        r = this.slow(hz, iz);
        s0 = this.s0;
        s1 = this.s1;
        s2 = this.s2;
        s3 = this.s3;
      }
      out[i] = r;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    this.pool = pool;
    this.poolLeft = left;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
