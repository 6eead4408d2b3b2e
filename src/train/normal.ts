/**
 * Fast standard-normal draws for the readout's position noise (B x N x 2 per step: 1M values per batch for
 * 7776 neurons, where Box-Muller's log/sqrt/trig took ~15% of a step). Marsaglia & Tsang's ziggurat (2000)
 * with 128 layers, fed by the project's seeded Rng (src/sim/rng.ts), so a seed reproduces every draw.
 */
import type { Rng } from '../sim/rng';

const LAYERS = 128;
const R = 3.442619855899;
const V = 9.91256303526217e-3;
const M1 = 2147483648.0;

const kn = new Uint32Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
(() => {
  let dn = R, tn = dn;
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

/**
 * N(0, 1) draws. The layer index comes from its own bits (4 indices per 32-bit draw), not from the low bits of
 * the value as in the original ziggurat, whose value/layer correlation fails chi-square tests (Doornik 2005).
 */
export class NormalSampler {
  private pool = 0;
  private poolLeft = 0;
  constructor(readonly rng: Rng) {}

  next(): number {
    const rng = this.rng;
    for (;;) {
      if (this.poolLeft === 0) { this.pool = rng.uint32(); this.poolLeft = 4; }
      const iz = this.pool & (LAYERS - 1);
      this.pool >>>= 8;
      this.poolLeft--;
      const hz = rng.uint32() | 0; // signed 32-bit
      const r = zigguratStep(rng, hz, iz);
      if (r === r) return r; // NaN: rejected, draw again
    }
  }

  fill(out: Float32Array): void {
    const rng = this.rng;
    let pool = this.pool, left = this.poolLeft;
    for (let i = 0; i < out.length; i++) {
      if (left === 0) { pool = rng.uint32(); left = 4; }
      const iz = pool & (LAYERS - 1);
      pool >>>= 8;
      left--;
      const hz = rng.uint32() | 0;
      const ahz = hz < 0 ? -hz : hz;
      if (ahz < kn[iz]) { out[i] = hz * wn[iz]; continue; }
      const r = zigguratStep(rng, hz, iz);
      if (r === r) { out[i] = r; continue; }
      this.pool = pool; this.poolLeft = left;
      out[i] = this.next();
      pool = this.pool; left = this.poolLeft;
    }
    this.pool = pool; this.poolLeft = left;
  }
}

/** One ziggurat attempt with value bits hz and layer iz; NaN when rejected. */
function zigguratStep(rng: Rng, hz: number, iz: number): number {
  {
    const ahz = hz < 0 ? -hz : hz;
    if (ahz < kn[iz]) return hz * wn[iz];
    // slow path: tail or wedge
    const x = hz * wn[iz];
    if (iz === 0) {
      // tail beyond R
      let xt: number, y: number;
      do {
        xt = -Math.log(uniformOpen(rng)) / R;
        y = -Math.log(uniformOpen(rng));
      } while (y + y < xt * xt);
      return hz > 0 ? R + xt : -R - xt;
    }
    if (fn[iz] + uniformOpen(rng) * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return x;
    return NaN;
  }
}

function uniformOpen(rng: Rng): number {
  return (rng.uint32() + 0.5) / 4294967296;
}

