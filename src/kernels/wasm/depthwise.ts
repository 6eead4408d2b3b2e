/**
 * A depthwise k x k convolution ("same" zero padding, stride 1, NHWC, channels a multiple of 4) as a WebAssembly
 * SIMD kernel generated for the exact shape, run on tfjs-backend-wasm's own heap (no copies in or out).
 *
 * Why: tfjs-backend-wasm 4.22 runs the Sensorium core's 7x7 depthwise convolutions at ~1.3 G multiply-adds/s,
 * ~70% of the core's time (MEASURED: core forward ~40-70 images/s against PyTorch's ~250). This kernel keeps
 * n output pixels x 4 channels in registers with the k weight vectors of a kernel row, loads each input vector
 * once per kernel row, and unrolls the k x k window with constant offsets. With relaxed SIMD (madd) the
 * multiply-add is one fused instruction: on the fixture's 28x56x64 7x7 layer (batch 8, one thread) 11 GFLOP/s
 * before this layout, 17.5 with it (mul + add, n = 4), 24.8 with madd and n = 8.
 *
 * Layout: x (B, H, W, C), filter (k, k, C, 1) as tfjs stores depthwise filters; out (B, H, W, C).
 */
import { encodeModule, F32, FunctionBody, I32, V128 } from './emitter';

export interface DepthwiseShape {
  height: number;
  width: number;
  channels: number;
  kernel: number;
}

/** Code generation choices (results differ only in float32 rounding between them). */
export interface DepthwiseOptions {
  /** f32x4.relaxed_madd (a fused multiply-add where the CPU has one) instead of mul + add. */
  madd?: boolean;
  /** Output pixels per register block (default 4: n accumulators + k weights + 1 input vector in registers). */
  pixels?: number;
}

const F32X4_RELAXED_MADD = [0xfd, 0x85, 0x02];

/** Emits `dw(pad, w, out, batch)`: pad points to the zero-padded input (B, H + k - 1, W + k - 1, C). */
export function depthwiseModuleBytes(s: DepthwiseShape, o: DepthwiseOptions = {}): Uint8Array {
  const { height: H, width: W, channels: C, kernel: K } = s;
  const madd = o.madd ?? false;
  const N = Math.max(1, Math.floor(o.pixels ?? 4));
  if (C % 4 !== 0) throw new Error(`depthwise SIMD kernel needs channels divisible by 4, got ${C}`);
  if (K % 2 !== 1) throw new Error(`depthwise SIMD kernel needs an odd kernel size, got ${K}`);
  const Wp = W + K - 1,
    Hp = H + K - 1;
  const px = C * 4; // bytes per pixel
  const f = new FunctionBody([I32, I32, I32, I32]);
  const [PAD, WT, OUT, BATCH] = [0, 1, 2, 3];
  const b = f.local(I32),
    y = f.local(I32),
    x = f.local(I32),
    cv = f.local(I32);
  const prow = f.local(I32),
    orow = f.local(I32),
    p = f.local(I32),
    wp = f.local(I32),
    po = f.local(I32);
  const acc = Array.from({ length: N }, () => f.local(V128));
  const wv = Array.from({ length: K }, () => f.local(V128));
  const iv = f.local(V128);

  /**
   * Output pixels [x, x + n) of the current row, every channel vector. Per kernel row: its k weight vectors are
   * loaded once, then each of the n + k - 1 input vectors once and multiplied into every accumulator it touches
   * (n + 2k - 1 loads for n k multiply-adds instead of n k + k). Each accumulator still sums its terms in
   * (ky, kx) order.
   */
  const block = (n: number): void => {
    // p = prow + x * px; po = orow + x * px; wp = w
    f.forLoop(
      cv,
      () => f.i32(C / 4),
      1,
      () => {
        f.get(prow).get(x).i32(px).mul().add().get(cv).i32(16).mul().add().set(p);
        f.get(orow).get(x).i32(px).mul().add().get(cv).i32(16).mul().add().set(po);
        f.get(WT).get(cv).i32(16).mul().add().set(wp);
        for (let i = 0; i < n; i++) f.v128Zero().set(acc[i]);
        for (let ky = 0; ky < K; ky++) {
          for (let kx = 0; kx < K; kx++)
            f.get(wp)
              .v128Load((ky * K + kx) * px)
              .set(wv[kx]);
          for (let j = 0; j < n + K - 1; j++) {
            f.get(p)
              .v128Load((ky * Wp + j) * px)
              .set(iv);
            for (let kx = Math.max(0, j - n + 1); kx <= Math.min(K - 1, j); kx++) {
              const i = j - kx;
              if (madd) {
                f.get(iv).get(wv[kx]).get(acc[i]);
                f.code.push(...F32X4_RELAXED_MADD);
              } else f.get(acc[i]).get(iv).get(wv[kx]).f32x4Mul().f32x4Add();
              f.set(acc[i]);
            }
          }
        }
        for (let i = 0; i < n; i++)
          f.get(po)
            .get(acc[i])
            .v128Store(i * px);
      },
    );
  };

  f.get(PAD).set(prow);
  f.get(OUT).set(orow);
  f.forLoop(
    b,
    () => f.get(BATCH),
    1,
    () => {
      f.forLoop(
        y,
        () => f.i32(H),
        1,
        () => {
          const W4 = W - (W % N);
          f.forLoop(
            x,
            () => f.i32(W4),
            N,
            () => block(N),
          );
          if (W4 < W) {
            // the last W % n pixels one at a time: x runs from W4 to W
            f.i32(W4).set(x);
            f.block().loop();
            f.get(x).i32(W).geS().brIf(1);
            block(1);
            f.get(x).i32(1).add().set(x);
            f.br(0).end().end();
          }
          f.get(prow)
            .i32(Wp * px)
            .add()
            .set(prow);
          f.get(orow)
            .i32(W * px)
            .add()
            .set(orow);
        },
      );
      // skip the padding rows below this image
      f.get(prow)
        .i32((Hp - H) * Wp * px)
        .add()
        .set(prow);
    },
  );
  void F32;
  return encodeModule({ importMemory: true, minPages: 1, functions: [{ name: 'dw', body: f }] });
}

/** Plain JS reference (tests): same semantics, float64 accumulation. */
export function depthwiseReference(x: Float32Array, w: Float32Array, B: number, s: DepthwiseShape): Float32Array {
  const { height: H, width: W, channels: C, kernel: K } = s;
  const P = (K - 1) / 2;
  const out = new Float32Array(B * H * W * C);
  for (let b = 0; b < B; b++)
    for (let yy = 0; yy < H; yy++)
      for (let xx = 0; xx < W; xx++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let ky = 0; ky < K; ky++)
            for (let kx = 0; kx < K; kx++) {
              const iy = yy + ky - P,
                ix = xx + kx - P;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              acc += x[((b * H + iy) * W + ix) * C + c] * w[(ky * K + kx) * C + c];
            }
          out[((b * H + yy) * W + xx) * C + c] = acc;
        }
  return out;
}
