/**
 * ELU (alpha 1) on a v128 of 4 float32 in WebAssembly SIMD, for kernels that end in it (conv.ts): x where x > 0,
 * else exp(x) - 1, with exp(x) - 1 = 2^n (q + 1) - 1 = 2^n q + (2^n - 1), x = n ln2 + r, |r| <= ln2 / 2,
 * q = exp(r) - 1 as a degree-6 Taylor polynomial (truncation error < 1.2e-7, float32's own); n = 0 near 0, so small
 * inputs keep their relative precision. Inputs below -87 are clamped (exp underflows: the result is -1 anyway).
 * Measured against Math.expm1 in test/kernels/wasm/conv.test.ts.
 */
import { type FunctionBody, SIMD } from './emitter';

const simd = (f: FunctionBody, op: number): void => {
  f.simd(op);
};
const {
  F32X4_GT,
  V128_BITSELECT,
  F32X4_NEAREST,
  I32X4_SHL,
  I32X4_ADD,
  I32X4_SPLAT,
  F32X4_SPLAT,
  F32X4_ADD,
  F32X4_SUB,
  F32X4_MUL,
  F32X4_MAX,
  I32X4_TRUNC_SAT_F32X4_S,
} = SIMD;

const LN2_HI = 0.693145751953125; // few mantissa bits: n * LN2_HI is exact for |n| < 128
const LN2_LO = 1.428606765330187e-6;

/** Locals the ELU needs (V128): pass fresh ones. */
export interface EluScratch {
  /** The value (eluInPlace only). */
  v: number;
  x: number;
  n: number;
  r: number;
  q: number;
}

/** Replaces local `v` (V128) by elu(v). */
export function emitElu(f: FunctionBody, v: number, s: EluScratch): void {
  const splat = (c: number): void => {
    f.f32(c);
    simd(f, F32X4_SPLAT);
  };
  // x = max(v, -87)
  f.get(v);
  splat(-87);
  simd(f, F32X4_MAX);
  f.set(s.x);
  // n = nearest(x * log2 e)
  f.get(s.x);
  splat(Math.LOG2E);
  simd(f, F32X4_MUL);
  simd(f, F32X4_NEAREST);
  f.set(s.n);
  // r = x - n LN2_HI - n LN2_LO
  f.get(s.x).get(s.n);
  splat(LN2_HI);
  simd(f, F32X4_MUL);
  simd(f, F32X4_SUB);
  f.get(s.n);
  splat(LN2_LO);
  simd(f, F32X4_MUL);
  simd(f, F32X4_SUB);
  f.set(s.r);
  // q = r (1 + r (1/2 + r (1/6 + r (1/24 + r (1/120 + r / 720))))) by Horner
  const coeffs = [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1];
  splat(coeffs[0]);
  for (let i = 1; i < coeffs.length; i++) {
    f.get(s.r);
    simd(f, F32X4_MUL);
    splat(coeffs[i]);
    simd(f, F32X4_ADD);
  }
  f.get(s.r);
  simd(f, F32X4_MUL);
  f.set(s.q);
  // s.x = 2^n as float: (int(n) + 127) << 23
  f.get(s.n);
  simd(f, I32X4_TRUNC_SAT_F32X4_S);
  f.i32(127);
  simd(f, I32X4_SPLAT);
  simd(f, I32X4_ADD);
  f.i32(23);
  simd(f, I32X4_SHL);
  f.set(s.x);
  // expm1 = 2^n q + (2^n - 1)
  f.get(s.x).get(s.q);
  simd(f, F32X4_MUL);
  f.get(s.x);
  splat(1);
  simd(f, F32X4_SUB);
  simd(f, F32X4_ADD);
  f.set(s.q);
  // v = v > 0 ? v : expm1
  f.get(v).get(s.q).get(v).v128Zero();
  simd(f, F32X4_GT);
  simd(f, V128_BITSELECT);
  f.set(v);
}

/** The v128 at byte address `ptr` (an I32 local) + `offset` replaced by its ELU. */
export function eluInPlace(f: FunctionBody, ptr: number, offset: number, s: EluScratch): void {
  f.get(ptr).v128Load(offset).set(s.v);
  emitElu(f, s.v, s);
  f.get(ptr).get(s.v).v128Store(offset);
}
