/**
 * The frozen core's 1x1 convolution kernel (src/kernels/wasm/conv.ts) against a plain float64 loop
 * (convReference): row counts that need its one-row tail, 4 / 8 / 64 output channels, with and without bias and
 * ELU, with mul + add and (where this engine has relaxed SIMD) fused multiply-add; and the SIMD ELU against
 * Math.expm1 from -100 to 5. Tolerance: 1e-5 relative to the output's scale (float32 sums of <= 64 terms), the ELU
 * 2e-7 absolute + 1e-6 relative.
 */
import { describe, expect, it } from 'vitest';
// for its side effect: Node 20 gets relaxed SIMD (a V8 flag) as the CLI and the core's workers get it
import '../../../src/backend/node';
import { type ConvEpilogue, conv1x1ModuleBytes, convReference } from '../../../src/kernels/wasm/conv';
import { relaxedSimdAvailable } from '../../../src/kernels/wasm/factorized_kernel';

const variants: ConvEpilogue[] = [
  { bias: false, elu: false, madd: false },
  { bias: true, elu: true, madd: false },
  ...(relaxedSimdAvailable()
    ? [
        { bias: true, elu: true, madd: true },
        { bias: false, elu: true, madd: true },
      ]
    : []),
];

/** A heap with x, w, bias and out laid out one after another; returns float offsets. */
function heapWith(arrays: Float32Array[], outFloats: number) {
  const total = arrays.reduce((a, x) => a + x.length, 0) + outFloats;
  const mem = new WebAssembly.Memory({ initial: Math.ceil((4 * total) / 65536) + 1 });
  const heap = new Float32Array(mem.buffer);
  const offsets: number[] = [];
  let o = 0;
  for (const a of arrays) {
    heap.set(a, o);
    offsets.push(o);
    o += a.length;
  }
  return { mem, heap, offsets, out: o };
}

function expectClose(got: Float32Array, want: Float32Array): void {
  let scale = 0,
    worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  expect(worst).toBeLessThanOrEqual(1e-5 * scale);
}

const data = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));

describe('1x1 convolution kernel (GEMM)', () => {
  for (const [rows, cin, cout] of [
    [4 * 5 + 3, 16, 64],
    [9, 7, 8],
    [6, 64, 4],
  ])
    for (const e of variants)
      it(`${rows} pixels, ${cin} -> ${cout}, ${JSON.stringify(e)}`, async () => {
        const x = data(rows * cin, 4);
        const w = data(cin * cout, 5);
        const bias = data(cout, 6);
        const { mem, heap, offsets, out } = heapWith([x, w, bias], rows * cout);
        const inst = await WebAssembly.instantiate(
          await WebAssembly.compile(conv1x1ModuleBytes(cin, cout, e) as Uint8Array<ArrayBuffer>),
          { env: { memory: mem } },
        );
        const g = inst.exports.g as (...a: number[]) => void;
        const g1 = inst.exports.g1 as (...a: number[]) => void;
        const blocks = Math.floor(rows / 4);
        g(offsets[0] * 4, offsets[1] * 4, out * 4, blocks, offsets[2] * 4);
        g1(
          (offsets[0] + blocks * 4 * cin) * 4,
          offsets[1] * 4,
          (out + blocks * 4 * cout) * 4,
          rows - blocks * 4,
          offsets[2] * 4,
        );
        const shape = { height: 1, width: rows, cin, cout, kh: 1, kw: 1 };
        expectClose(heap.slice(out, out + rows * cout), convReference(x, w, e.bias ? bias : null, e.elu, 1, shape));
      });
});

describe('SIMD ELU', () => {
  it('matches Math.expm1 below 0 and the identity above', async () => {
    const n = 4000;
    const x = Float32Array.from({ length: n }, (_, i) => -100 + (105 * i) / (n - 1));
    x[17] = -1e-7;
    x[18] = 1e-30;
    x[19] = -0.5;
    const eye = new Float32Array(16);
    for (let i = 0; i < 4; i++) eye[i * 5] = 1;
    const { mem, heap, offsets, out } = heapWith([x, eye], n);
    const inst = await WebAssembly.instantiate(
      await WebAssembly.compile(
        conv1x1ModuleBytes(4, 4, { bias: false, elu: true, madd: false }) as Uint8Array<ArrayBuffer>,
      ),
      { env: { memory: mem } },
    );
    (inst.exports.g as (...a: number[]) => void)(offsets[0] * 4, offsets[1] * 4, out * 4, n / 16);
    for (let i = 0; i < n; i++) {
      const want = x[i] > 0 ? x[i] : Math.expm1(x[i]);
      expect(Math.abs(heap[out + i] - want)).toBeLessThanOrEqual(2e-7 + 1e-6 * Math.abs(want));
    }
  });
});
