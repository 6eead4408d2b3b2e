/**
 * Image rescaling exactly as neuralpredictors' ScaleInputs, which calls
 * skimage.transform.rescale(img, scale, mode='reflect', anti_aliasing=False, preserve_range=True, clip=True,
 * channel_axis=0) with the default order 1. skimage turns that into
 * scipy.ndimage.zoom(img.astype(float64), out/in, order=1, mode='mirror', grid_mode=True) followed by a clip
 * to the input's range:
 *   - output size per spatial axis: max(1, round_half_even(scale * size));
 *   - output pixel o samples input coordinate (o + 0.5) * in / out - 0.5 (pixel centres aligned, like
 *     PyTorch's align_corners=False);
 *   - linear interpolation between the two nearest pixels, coordinates outside [0, in - 1] mirrored about
 *     the edge pixel centres (scipy 'mirror' = skimage 'reflect': ... c b | a b c ... );
 *   - no anti-aliasing blur, so 0.25 averages the 2x2 pixels at the centre of each 4x4 block.
 * The Sensorium loader normalizes before rescaling; both steps are affine per pixel, so rescaling the raw
 * values first gives the same numbers (to float32 rounding).
 */

/** NumPy's round (half to even). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Output size of one spatial axis, as skimage.transform.rescale computes it. */
export function rescaledSize(size: number, scale: number): number {
  return Math.max(1, roundHalfEven(scale * size));
}

/** scipy 'mirror' boundary: reflect about the first and last sample. */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

/** For each output index: the two input indices and the weight of the second. */
interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float64Array;
}

function axisTaps(nIn: number, nOut: number): AxisTaps {
  const i0 = new Int32Array(nOut),
    i1 = new Int32Array(nOut),
    w1 = new Float64Array(nOut);
  const zoom = nIn / nOut;
  for (let o = 0; o < nOut; o++) {
    const x = (o + 0.5) * zoom - 0.5;
    const f = Math.floor(x);
    i0[o] = mirror(f, nIn);
    i1[o] = mirror(f + 1, nIn);
    w1[o] = x - f;
  }
  return { i0, i1, w1 };
}

/** Rescales CHW images; the taps are computed once and reused for every image of a scan. */
export class Rescaler {
  readonly outH: number;
  readonly outW: number;
  private readonly rows: AxisTaps;
  private readonly cols: AxisTaps;
  private readonly tmp: Float64Array;
  /** Input rows the height pass reads (downscaling skips the others). */
  private readonly usedRows: Int32Array;

  constructor(
    readonly channels: number,
    readonly inH: number,
    readonly inW: number,
    readonly scale: number,
  ) {
    if (!(scale > 0) || !Number.isFinite(scale))
      throw new RangeError(`rescale factor must be a positive number, got ${scale}`);
    this.outH = rescaledSize(inH, scale);
    this.outW = rescaledSize(inW, scale);
    this.rows = axisTaps(inH, this.outH);
    this.cols = axisTaps(inW, this.outW);
    this.tmp = new Float64Array(inH * this.outW);
    const used = new Set<number>([...this.rows.i0, ...this.rows.i1]);
    this.usedRows = Int32Array.from([...used].sort((a, b) => a - b));
  }

  /** Rescales one image (C x inH x inW at `src[srcOffset..]`) into `out[outOffset..]` (C x outH x outW). */
  apply(src: ArrayLike<number>, srcOffset: number, out: Float32Array, outOffset: number): void {
    const { channels: C, inH, inW, outH, outW, rows, cols, tmp, usedRows } = this;
    // clip=True clips to the whole input array's range; linear interpolation stays inside it up to rounding.
    let lo = Infinity,
      hi = -Infinity;
    const n = C * inH * inW;
    for (let k = 0; k < n; k++) {
      const v = src[srcOffset + k];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    for (let c = 0; c < C; c++) {
      const inBase = srcOffset + c * inH * inW;
      // Separable: along the width first (into tmp, float64), then along the height.
      for (const y of usedRows) {
        const r = inBase + y * inW;
        for (let x = 0; x < outW; x++) {
          const w = cols.w1[x];
          tmp[y * outW + x] = src[r + cols.i0[x]] * (1 - w) + src[r + cols.i1[x]] * w;
        }
      }
      const outBase = outOffset + c * outH * outW;
      for (let y = 0; y < outH; y++) {
        const w = rows.w1[y],
          a = rows.i0[y] * outW,
          b = rows.i1[y] * outW;
        for (let x = 0; x < outW; x++) {
          let v = tmp[a + x] * (1 - w) + tmp[b + x] * w;
          if (v < lo) v = lo;
          else if (v > hi) v = hi;
          out[outBase + y * outW + x] = v;
        }
      }
    }
  }
}
