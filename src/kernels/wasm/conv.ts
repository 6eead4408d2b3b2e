/**
 * The frozen core's 1x1 convolutions (the two pointwise convs of a depth-separable layer) as a WebAssembly SIMD
 * GEMM (B H W, Cin) x (Cin, Cout) with factorized_kernel.ts's register-blocked micro-kernel, run on
 * tfjs-backend-wasm's heap (fast_core.ts), the bias as the accumulators' start and the ELU applied to each block
 * while it is in L1 (elu_simd.ts).
 * Measured on the fixture core (batch 8, one thread, least of 60 calls; bench/core_speed.ts --profile):
 * 3.0-3.1 ms per 1x1 conv without ELU against XNNPACK's 3.4, 4.2-4.3 with bias and ELU against XNNPACK's fused
 * 4.0-4.2: on par, not faster. A direct k x k kernel for the first layer (reading the patches in place, an
 * implicit im2col) was tried and ran 10.1-10.4 ms against XNNPACK's 8.7, so the first layer stays on tfjs.
 * Results differ from tfjs' in float32 rounding only (summation order, fused multiply-add with relaxed SIMD).
 *
 * Layouts: x (B, H, W, Cin) NHWC; filter (1, 1, Cin, Cout) as tfjs stores it; out (B, H, W, Cout).
 */
import { encodeModule } from './emitter';
import { emitGemm } from './factorized_kernel';

export interface ConvEpilogue {
  /** A bias (Cout) is added (the kernel takes its byte address as its last argument). */
  bias: boolean;
  elu: boolean;
  /** f32x4.relaxed_madd instead of mul + add. */
  madd: boolean;
}

/** Vectors of 4 output channels per micro-kernel block: 4, 2 or 1, the largest that divides Cout / 4. */
function vectorsFor(cout: number, most: number): number {
  for (const nv of [4, 2, 1]) if (nv <= most && cout % (4 * nv) === 0) return nv;
  throw new Error(`conv kernel needs output channels divisible by 4, got ${cout}`);
}

/** Rows of A per micro-kernel block of the 1x1 GEMM (`g`); `g1` does one row (the rest of B H W). */
export const CONV1X1_ROWS = 4;

/**
 * 1x1 convolution: exports `g(x, w, out, blocks[, bias])` for rows [0, 4 blocks) and `g1(...)` (the same, one row
 * per block) for the remaining rows; x, out and the bias are byte addresses.
 */
export function conv1x1ModuleBytes(cin: number, cout: number, e: ConvEpilogue): Uint8Array {
  const nv = vectorsFor(cout, 4);
  const spec = {
    K: cin,
    Nc: cout,
    lda: cin,
    ldb: cout,
    ldc: cout,
    nv,
    accumulate: false,
    madd: e.madd,
    bias: e.bias,
    elu: e.elu,
  };
  return encodeModule({
    importMemory: true,
    minPages: 1,
    functions: [
      { name: 'g', body: emitGemm({ ...spec, mr: CONV1X1_ROWS }) },
      { name: 'g1', body: emitGemm({ ...spec, mr: 1 }) },
    ],
  });
}

/** A 'valid' convolution's shape, for the reference. */
export interface ConvShape {
  /** Input height and width. */
  height: number;
  width: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
}

/** Plain JS reference (tests): 'valid' k x k convolution, NHWC, float64 accumulation, optional bias and ELU. */
export function convReference(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  elu: boolean,
  B: number,
  s: ConvShape,
): Float32Array {
  const { height: H, width: W, cin: C, cout: CO, kh: KH, kw: KW } = s;
  const Ho = H - KH + 1,
    Wo = W - KW + 1;
  const out = new Float32Array(B * Ho * Wo * CO);
  for (let b = 0; b < B; b++)
    for (let yy = 0; yy < Ho; yy++)
      for (let xx = 0; xx < Wo; xx++)
        for (let o = 0; o < CO; o++) {
          let acc = bias ? bias[o] : 0;
          for (let ky = 0; ky < KH; ky++)
            for (let kx = 0; kx < KW; kx++)
              for (let c = 0; c < C; c++)
                acc += x[((b * H + yy + ky) * W + xx + kx) * C + c] * w[((ky * KW + kx) * C + c) * CO + o];
          out[((b * Ho + yy) * Wo + xx) * CO + o] = elu && acc <= 0 ? Math.expm1(acc) : acc;
        }
  return out;
}
