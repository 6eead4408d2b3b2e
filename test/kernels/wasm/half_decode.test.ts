/**
 * The WebAssembly SIMD half -> float32 decoder (src/kernels/wasm/half_decode.ts) against the table decoder for
 * every one of the 65536 half values (bit for bit, NaN as NaN), at lengths that are not multiples of 4 or of its
 * chunk, and through fromFloat16, which the float16 feature cache reads with.
 */
import { describe, expect, it } from 'vitest';
import { decodeHalfSimd } from '../../../src/kernels/wasm/half_decode';
import { fromFloat16, fromFloat16Table } from '../../../src/train/readout/feature_cache';

function sameFloats(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let bad = 0;
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(want[i])) {
      if (!Number.isNaN(got[i])) bad++;
    } else if (a[i] !== b[i]) bad++;
  }
  expect(bad).toBe(0);
}

describe('half -> float32 in WebAssembly SIMD', () => {
  it('decodes all 65536 halves exactly as the table does', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = new Float32Array(65536),
      want = new Float32Array(65536);
    expect(decodeHalfSimd(all, got)).toBe(true);
    fromFloat16Table(all, want);
    sameFloats(got, want);
    // spot values: 1, -2, the smallest subnormal, the largest half, -Inf
    expect([got[0x3c00], got[0xc000], got[0x0001], got[0x7bff], got[0xfc00]]).toEqual([
      1,
      -2,
      2 ** -24,
      65504,
      -Infinity,
    ]);
  });

  it('handles lengths off the 4-value groups and the chunks, leaving the rest of dst alone', () => {
    for (const n of [1, 3, 5, 63, 64, 67, 16383, 16385, 40001]) {
      const src = Uint16Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 16);
      const got = new Float32Array(n + 3).fill(7),
        want = new Float32Array(n);
      fromFloat16(src, got);
      fromFloat16Table(src, want);
      sameFloats(got.subarray(0, n), want);
      expect(Array.from(got.subarray(n))).toEqual([7, 7, 7]);
    }
  });
});
