/**
 * The frozen core's ordinary convolutions as WebAssembly SIMD kernels generated for their shapes, run on
 * tfjs-backend-wasm's heap (fast_core.ts), each with its bias and ELU fused into the store:
 * - 1x1 convolutions (the two pointwise convs of a depth-separable layer): a GEMM (B H W, Cin) x (Cin, Cout)
 *   with factorized_kernel.ts's register-blocked micro-kernel;
 * - the first layer's k x k convolution (stride 1, no padding: the caller pads): the same micro-kernel with the
 *   image patch as A's rows read in place (an implicit im2col: MR adjacent output pixels x 4 NV output channels in
 *   registers, the kh kw Cin products unrolled with constant offsets), so no (B H W, kh kw Cin) copy is made.
 * Why: tfjs-backend-wasm 4.22 (XNNPACK) ran the fixture core's 1x1 convs at ~14 GFLOP/s and ~8 with the ELU
 * applied after, its 9x9 first layer at ~3; these run at ~30 (bench/core_speed.ts --profile for the core).
 * Results differ from tfjs' in float32 rounding only (summation order, fused multiply-add with relaxed SIMD).
 *
 * Layouts: x (B, H, W, Cin) NHWC; filter (kh, kw, Cin, Cout) as tfjs stores it; out (B, H', W', Cout).
 */

import { eluInPlace } from './elu_simd';
import { encodeModule, FunctionBody, I32, uleb, V128 } from './emitter';
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

export interface ConvShape {
  /** Input height and width (already padded: the convolution is 'valid'). */
  height: number;
  width: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
}

/** Unrolled products per output block beyond which the direct kernel is not generated (code size). */
export const MAX_DIRECT_TERMS = 1024;

/** Output pixels per micro-kernel block of the direct convolution. */
const DIRECT_PIXELS = 4;

/**
 * A k x k convolution, stride 1, 'valid' on an already padded input: exports `conv(x, w, out, batch[, bias])`.
 * Throws when kh kw Cin > MAX_DIRECT_TERMS (use tfjs' conv then).
 */
export function convModuleBytes(s: ConvShape, e: ConvEpilogue): Uint8Array {
  const { height: H, width: W, cin: C, cout: CO, kh: KH, kw: KW } = s;
  const K = KH * KW * C;
  if (K > MAX_DIRECT_TERMS)
    throw new Error(`conv kernel: ${KH}x${KW}x${C} = ${K} products per output, over ${MAX_DIRECT_TERMS}`);
  const Ho = H - KH + 1,
    Wo = W - KW + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`conv kernel: ${KH}x${KW} does not fit a ${H}x${W} input`);
  const NV = vectorsFor(CO, 2);
  const f = new FunctionBody(e.bias ? [I32, I32, I32, I32, I32] : [I32, I32, I32, I32]);
  const [X, WT, OUT, BATCH, BIAS] = [0, 1, 2, 3, 4];
  const b = f.local(I32),
    y = f.local(I32),
    x = f.local(I32),
    j = f.local(I32);
  const xrow = f.local(I32),
    orow = f.local(I32),
    xp = f.local(I32),
    op = f.local(I32),
    wp = f.local(I32);
  const acc: number[][] = Array.from({ length: DIRECT_PIXELS }, () => Array.from({ length: NV }, () => f.local(V128)));
  const bv = Array.from({ length: NV }, () => f.local(V128));
  const av = f.local(V128);
  const elu = e.elu
    ? { v: f.local(V128), x: f.local(V128), n: f.local(V128), r: f.local(V128), q: f.local(V128) }
    : null;
  const px = C * 4,
    opx = CO * 4;

  /** Output pixels [x, x + mr) of row y, all output channels (j: byte offset of the channel block). */
  const block = (mr: number): void => {
    f.forLoop(
      j,
      () => f.i32(CO * 4),
      NV * 16,
      () => {
        f.get(xrow).get(x).i32(px).mul().add().set(xp);
        f.get(orow).get(x).i32(opx).mul().add().get(j).add().set(op);
        f.get(WT).get(j).add().set(wp);
        for (let r = 0; r < mr; r++)
          for (let v = 0; v < NV; v++) {
            if (e.bias)
              f.get(BIAS)
                .get(j)
                .add()
                .v128Load(v * 16);
            else f.v128Zero();
            f.set(acc[r][v]);
          }
        for (let ky = 0; ky < KH; ky++)
          for (let kx = 0; kx < KW; kx++)
            for (let c = 0; c < C; c++) {
              const k = (ky * KW + kx) * C + c;
              for (let v = 0; v < NV; v++)
                f.get(wp)
                  .v128Load(k * CO * 4 + v * 16)
                  .set(bv[v]);
              for (let r = 0; r < mr; r++) {
                f.get(xp);
                f.code.push(0xfd, 0x09, 2); // v128.load32_splat, align 4
                uleb(((ky * W + kx + r) * C + c) * 4, f.code);
                f.set(av);
                for (let v = 0; v < NV; v++) {
                  if (e.madd) {
                    f.get(av).get(bv[v]).get(acc[r][v]);
                    f.code.push(0xfd, 0x85, 0x02); // f32x4.relaxed_madd
                  } else f.get(acc[r][v]).get(av).get(bv[v]).f32x4Mul().f32x4Add();
                  f.set(acc[r][v]);
                }
              }
            }
        for (let r = 0; r < mr; r++)
          for (let v = 0; v < NV; v++)
            f.get(op)
              .get(acc[r][v])
              .v128Store(r * opx + v * 16);
        if (elu) for (let r = 0; r < mr; r++) for (let v = 0; v < NV; v++) eluInPlace(f, op, r * opx + v * 16, elu);
      },
    );
  };

  f.get(X).set(xrow);
  f.get(OUT).set(orow);
  f.forLoop(
    b,
    () => f.get(BATCH),
    1,
    () => {
      f.forLoop(
        y,
        () => f.i32(Ho),
        1,
        () => {
          const full = Wo - (Wo % DIRECT_PIXELS);
          f.forLoop(
            x,
            () => f.i32(full),
            DIRECT_PIXELS,
            () => block(DIRECT_PIXELS),
          );
          if (full < Wo) {
            f.i32(full).set(x);
            f.block().loop();
            f.get(x).i32(Wo).geS().brIf(1);
            block(1);
            f.get(x).i32(1).add().set(x);
            f.br(0).end().end();
          }
          f.get(xrow)
            .i32(W * px)
            .add()
            .set(xrow);
          f.get(orow)
            .i32(Wo * opx)
            .add()
            .set(orow);
        },
      );
      // the input rows below the last output row's window
      f.get(xrow)
        .i32((KH - 1) * W * px)
        .add()
        .set(xrow);
    },
  );
  return encodeModule({ importMemory: true, minPages: 1, functions: [{ name: 'conv', body: f }] });
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
