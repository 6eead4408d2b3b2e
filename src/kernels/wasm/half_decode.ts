/**
 * IEEE half -> float32 in WebAssembly SIMD, for the float16 feature cache (train/readout/feature_cache.ts), whose
 * decoding was most of a readout step for a thousand neurons (a 28x56x64 map: 0.28 ms through the JS table
 * against ~0.35 ms for the whole step). Four values a v128, exact for every half (all 65536 are checked against
 * the table in test/kernels/wasm/half_decode.test.ts):
 *   em = (h & 0x7fff) << 13   the exponent and mantissa in float32's places, exponent still biased by 15
 *   f  = as_f32(em) * 2^112   rebiases 15 -> 127; a subnormal half is a float32 denormal here and comes out exact
 *   em >= 0x7c00 << 13 (Inf, NaN): em | 0x7f800000 instead (the mantissa kept: NaN stays NaN)
 *   result = f | (h & 0x8000) << 16
 * The module owns a small memory: halves are copied in and floats out in chunks (two memcpys, cheap beside the
 * per-value work they replace).
 */
import { encodeModule, FunctionBody, I32, SIMD, V128 } from './emitter';

const CHUNK = 16384; // values per call: 32 KiB in, 64 KiB out
const SRC = 0,
  DST = CHUNK * 2;

const op = (f: FunctionBody, code: number): void => {
  f.simd(code);
};
/** v128.load16x4_u takes a memory immediate: emitted by hand below. */
const V128_LOAD16X4_U = 0x04;
const { I32X4_SPLAT, I32X4_GT_S, V128_AND, V128_OR, V128_BITSELECT, I32X4_SHL, F32X4_MUL } = SIMD;

/** decode(count): halves at SRC -> floats at DST, `count` a multiple of 4. */
function emitDecode(): FunctionBody {
  const f = new FunctionBody([I32]);
  const i = f.local(I32),
    h = f.local(V128),
    em = f.local(V128);
  const splat = (v: number): void => {
    f.i32(v);
    op(f, I32X4_SPLAT);
  };
  f.forLoop(
    i,
    () => f.get(0),
    4,
    () => {
      // h = 4 halves zero-extended to i32
      f.get(i).i32(2).mul();
      op(f, V128_LOAD16X4_U);
      f.code.push(1, SRC); // align 2, offset SRC
      f.set(h);
      // em = (h & 0x7fff) << 13
      f.get(h);
      splat(0x7fff);
      op(f, V128_AND);
      f.i32(13);
      op(f, I32X4_SHL);
      f.set(em);
      // address of dst[i], then bitselect(em | 0x7f800000, em * 2^112, em > 0x0f7fffff) | sign
      f.get(i).i32(4).mul();
      f.get(em);
      splat(0x7f800000);
      op(f, V128_OR);
      f.get(em);
      f.f32(2 ** 112).f32x4Splat();
      op(f, F32X4_MUL);
      f.get(em);
      splat(0x0f7fffff);
      op(f, I32X4_GT_S);
      op(f, V128_BITSELECT);
      f.get(h);
      splat(0x8000);
      op(f, V128_AND);
      f.i32(16);
      op(f, I32X4_SHL);
      op(f, V128_OR);
      f.v128Store(DST);
    },
  );
  return f;
}

interface Decoder {
  run(count: number): void;
  src: Uint16Array;
  dst: Float32Array;
}

let decoder: Decoder | null | undefined;

/** The SIMD decoder, or null where WebAssembly SIMD is missing (the caller keeps its table). */
function getDecoder(): Decoder | null {
  if (decoder !== undefined) return decoder;
  try {
    const bytes = encodeModule({
      importMemory: false,
      minPages: Math.ceil((DST + CHUNK * 4) / 65536),
      functions: [{ name: 'decode', body: emitDecode() }],
    });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {});
    const memory = inst.exports.memory as WebAssembly.Memory;
    decoder = {
      run: inst.exports.decode as (count: number) => void,
      src: new Uint16Array(memory.buffer, SRC, CHUNK),
      dst: new Float32Array(memory.buffer, DST, CHUNK),
    };
  } catch {
    decoder = null;
  }
  return decoder;
}

/**
 * Decodes `src` (IEEE half bits) into `dst` (at least as long) with WebAssembly SIMD; returns false, touching
 * nothing, where that is not available.
 */
export function decodeHalfSimd(src: Uint16Array, dst: Float32Array): boolean {
  const d = getDecoder();
  if (!d) return false;
  const n = src.length;
  for (let s = 0; s < n; s += CHUNK) {
    const m = Math.min(CHUNK, n - s);
    const m4 = (m + 3) & ~3; // the last group may read past the chunk's end into stale values, never written out
    d.src.set(src.subarray(s, s + m));
    d.run(m4);
    dst.set(d.dst.subarray(0, m), s);
  }
  return true;
}
