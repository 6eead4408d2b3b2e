/**
 * Register-blocked single-precision GEMMs as WebAssembly SIMD, generated for fixed shapes, for the factorized
 * readout (../factorized_readout.ts). Every product it needs has the form
 *
 *   Cm[i, j] (+)= sum_k A[i, k] * B[k, j]      A (M, K), B (K, Nc), Cm (M, Nc), all row-major
 *
 * vectorized along j (4 float32 lanes): a micro-kernel keeps an MR x (4 NV) block of Cm in registers, and for each k
 * broadcasts MR values of A (v128.load32_splat) against NV vectors of B. K is unrolled by `unroll` with constant
 * offsets. M must be a multiple of MR and Nc of 4 NV (callers pad with zeros); strides are compile-time constants.
 *
 * With `madd` the multiply-add is f32x4.relaxed_madd (relaxed SIMD: a fused multiply-add where the CPU has one,
 * ~2x the throughput of separate mul + add); engines without relaxed SIMD get mul + add (`relaxedSimdAvailable`).
 * Accumulation is in float32 lanes either way.
 */

import { eluInPlace } from './elu_simd';
import { encodeModule, FunctionBody, I32, uleb, V128 } from './emitter';

export interface GemmSpec {
  /** Shared dimension. */
  K: number;
  /** Columns of B and Cm; a multiple of 4 * nv. */
  Nc: number;
  /** Row strides in floats (lda >= K, ldb >= Nc, ldc >= Nc). */
  lda: number;
  ldb: number;
  ldc: number;
  /** Rows per micro-kernel block. */
  mr: number;
  /** Vectors of 4 columns per micro-kernel block. */
  nv: number;
  /** Cm += A B instead of Cm = A B. */
  accumulate: boolean;
  /** Use f32x4.relaxed_madd. */
  madd: boolean;
  /** K-loop unroll factor (default 4). */
  unroll?: number;
  /** A fifth argument, the byte address of a bias (Nc): Cm = A B + bias (each row); not with `accumulate`. */
  bias?: boolean;
  /** ELU (alpha 1) applied to the result before it is stored (elu_simd.ts); not with `accumulate`. */
  elu?: boolean;
}

// opcodes the shared emitter lacks (SIMD prefix 0xfd, LEB128 sub-opcode)
const V128_LOAD32_SPLAT = [0xfd, 0x09];
const F32X4_RELAXED_MADD = [0xfd, 0x85, 0x02];

function load32Splat(f: FunctionBody, offset: number): void {
  f.code.push(...V128_LOAD32_SPLAT, 2);
  uleb(offset, f.code);
}

/**
 * `gemm(A, B, Cm, blocks)`: rows [0, blocks * mr) of Cm (byte addresses A, B, Cm). Loops: row blocks (A's rows
 * stay in L1 while B is swept), column blocks, then k.
 */
export function emitGemm(s: GemmSpec): FunctionBody {
  const { K, Nc, lda, ldb, ldc, mr: MR, nv: NV, accumulate, madd } = s;
  const U = Math.max(1, Math.min(s.unroll ?? 4, K));
  const NR = 4 * NV;
  if (Nc % NR !== 0) throw new Error(`gemm: Nc ${Nc} is not a multiple of ${NR}`);
  if (lda < K || ldb < Nc || ldc < Nc) throw new Error('gemm: a stride is smaller than its row');
  if (accumulate && (s.bias || s.elu)) throw new Error('gemm: bias and elu are for a fresh Cm, not with accumulate');
  const f = new FunctionBody(s.bias ? [I32, I32, I32, I32, I32] : [I32, I32, I32, I32]);
  const [A, B, CM, BLOCKS, BIAS] = [0, 1, 2, 3, 4];
  const blk = f.local(I32),
    j = f.local(I32),
    kk = f.local(I32);
  const aRow = f.local(I32),
    cRow = f.local(I32),
    ap = f.local(I32),
    bp = f.local(I32),
    cp = f.local(I32);
  const acc: number[][] = [];
  for (let r = 0; r < MR; r++) {
    acc.push([]);
    for (let v = 0; v < NV; v++) acc[r].push(f.local(V128));
  }
  const bv: number[] = [];
  for (let v = 0; v < NV; v++) bv.push(f.local(V128));
  const av = f.local(V128);
  const elu = s.elu
    ? { v: f.local(V128), x: f.local(V128), n: f.local(V128), r: f.local(V128), q: f.local(V128) }
    : null;

  /** One k step at constant offsets from ap / bp. */
  const step = (u: number): void => {
    for (let v = 0; v < NV; v++)
      f.get(bp)
        .v128Load(u * ldb * 4 + v * 16)
        .set(bv[v]);
    for (let r = 0; r < MR; r++) {
      f.get(ap);
      load32Splat(f, r * lda * 4 + u * 4);
      f.set(av);
      for (let v = 0; v < NV; v++) {
        if (madd) {
          f.get(av).get(bv[v]).get(acc[r][v]);
          f.code.push(...F32X4_RELAXED_MADD);
        } else {
          f.get(acc[r][v]).get(av).get(bv[v]).f32x4Mul().f32x4Add();
        }
        f.set(acc[r][v]);
      }
    }
  };

  f.get(A).set(aRow);
  f.get(CM).set(cRow);
  f.forLoop(
    blk,
    () => f.get(BLOCKS),
    1,
    () => {
      // j: byte offset of the column block
      f.forLoop(
        j,
        () => f.i32(Nc * 4),
        NR * 4,
        () => {
          f.get(cRow).get(j).add().set(cp);
          for (let r = 0; r < MR; r++)
            for (let v = 0; v < NV; v++) {
              if (accumulate) f.get(cp).v128Load(r * ldc * 4 + v * 16);
              else if (s.bias)
                f.get(BIAS)
                  .get(j)
                  .add()
                  .v128Load(v * 16);
              else f.v128Zero();
              f.set(acc[r][v]);
            }
          f.get(aRow).set(ap);
          f.get(B).get(j).add().set(bp);
          const full = Math.floor(K / U);
          if (full > 0) {
            f.forLoop(
              kk,
              () => f.i32(full),
              1,
              () => {
                for (let u = 0; u < U; u++) step(u);
                f.get(ap)
                  .i32(U * 4)
                  .add()
                  .set(ap);
                f.get(bp)
                  .i32(U * ldb * 4)
                  .add()
                  .set(bp);
              },
            );
          }
          for (let u = 0; u < K % U; u++) step(u);
          for (let r = 0; r < MR; r++)
            for (let v = 0; v < NV; v++)
              f.get(cp)
                .get(acc[r][v])
                .v128Store(r * ldc * 4 + v * 16);
          // the ELU on the stored block (in L1), so that its temporaries do not compete with the accumulators
          if (elu)
            for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) eluInPlace(f, cp, r * ldc * 4 + v * 16, elu);
        },
      );
      f.get(aRow)
        .i32(MR * lda * 4)
        .add()
        .set(aRow);
      f.get(cRow)
        .i32(MR * ldc * 4)
        .add()
        .set(cRow);
    },
  );
  return f;
}

/** A module exporting the given GEMMs by name, on an imported memory. */
export function gemmModuleBytes(gemms: Array<{ name: string; spec: GemmSpec }>, minPages = 1): Uint8Array {
  return encodeModule({
    importMemory: true,
    minPages,
    functions: gemms.map((g) => ({ name: g.name, body: emitGemm(g.spec) })),
  });
}

let relaxed: boolean | null = null;

/** True when this engine validates f32x4.relaxed_madd (Chrome/Edge >= 114, Firefox >= 120; Node >= 22, or 20 with --experimental-wasm-relaxed-simd). */
export function relaxedSimdAvailable(): boolean {
  if (relaxed === null) {
    try {
      const spec: GemmSpec = { K: 1, Nc: 4, lda: 1, ldb: 4, ldc: 4, mr: 1, nv: 1, accumulate: true, madd: true };
      relaxed =
        typeof WebAssembly === 'object' &&
        WebAssembly.validate(gemmModuleBytes([{ name: 'g', spec }]) as Uint8Array<ArrayBuffer>);
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}

let simd: boolean | null = null;

/** True when this engine runs WebAssembly SIMD (every current browser and Node >= 16). */
export function gemmSimdAvailable(): boolean {
  if (simd === null) {
    try {
      const spec: GemmSpec = { K: 1, Nc: 4, lda: 1, ldb: 4, ldc: 4, mr: 1, nv: 1, accumulate: true, madd: false };
      simd =
        typeof WebAssembly === 'object' &&
        WebAssembly.validate(gemmModuleBytes([{ name: 'g', spec }]) as Uint8Array<ArrayBuffer>);
    } catch {
      simd = false;
    }
  }
  return simd;
}
