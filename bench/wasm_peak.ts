/**
 * The ceiling of WebAssembly SIMD arithmetic on this CPU, one thread: a tight loop of independent f32x4
 * multiply-adds on values in registers (no memory traffic), as mul + add (plain SIMD) and as f32x4.relaxed_madd
 * (relaxed SIMD: one fused multiply-add where the engine maps it to FMA). GFLOP/s counts 2 flops per lane per
 * multiply-add, 4 lanes per vector. This is the bound a WebAssembly kernel cannot pass; the core's GFLOP/s
 * (bench/core_speed.ts) is compared with it in the README.
 * Usage: node --experimental-wasm-relaxed-simd --import tsx bench/wasm_peak.ts   (Node 20 needs the flag for relaxed)
 */
import { encodeModule, FunctionBody, I32, V128 } from '../src/kernels/wasm/emitter';
import { emitGemm, relaxedSimdAvailable } from '../src/kernels/wasm/factorized_kernel';

const F32X4_RELAXED_MADD = [0xfd, 0x85, 0x02];
// independent chains: enough to cover the latency x ports, few enough to stay in V8's 15 usable xmm registers
const ACCUMULATORS = Number(process.env.PEAK_CHAINS ?? 10);
const INNER = 64;

/** `peak(iterations)`: iterations x INNER x ACCUMULATORS multiply-adds on vectors. */
function peakModule(madd: boolean): Uint8Array {
  const f = new FunctionBody([I32], [I32]);
  const i = f.local(I32);
  const acc = Array.from({ length: ACCUMULATORS }, () => f.local(V128));
  const a = f.local(V128),
    b = f.local(V128);
  f.f32(1.0000001).f32x4Splat().set(a);
  f.f32(0.9999999).f32x4Splat().set(b);
  for (const v of acc) f.v128Zero().set(v);
  f.forLoop(
    i,
    () => f.get(0),
    1,
    () => {
      for (let k = 0; k < INNER; k++)
        for (const v of acc) {
          // acc = acc * a + b: the product depends on the chain, so no engine can hoist it out of the loop
          if (madd) {
            f.get(v).get(a).get(b);
            f.code.push(...F32X4_RELAXED_MADD);
          } else f.get(v).get(a).f32x4Mul().get(b).f32x4Add();
          f.set(v);
        }
    },
  );
  // a result that depends on every accumulator, so nothing is dead code
  f.v128Zero();
  for (const v of acc) f.get(v).f32x4Add();
  f.code.push(0xfd, 0x1f, 0); // f32x4.extract_lane 0
  f.code.push(0xa8); // i32.trunc_f32_s
  return encodeModule({ importMemory: false, minPages: 1, functions: [{ name: 'peak', body: f }] });
}

async function gflops(madd: boolean): Promise<number> {
  const inst = await WebAssembly.instantiate(await WebAssembly.compile(peakModule(madd) as Uint8Array<ArrayBuffer>));
  const peak = inst.exports.peak as (n: number) => number;
  peak(1000);
  let best = 0;
  // many short bursts, the best one: on a shared machine some burst gets a whole core
  for (let r = 0; r < 300; r++) {
    const n = 2_000;
    const t0 = performance.now();
    peak(n);
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, (n * INNER * ACCUMULATORS * 8) / s / 1e9);
  }
  return Math.round(best * 10) / 10;
}

/**
 * The register-blocked GEMM micro-kernel of our convolutions (4 rows x 16 columns of C in registers) on a
 * 64 x 64 x 64 product whose operands stay in L1: the best a real kernel reaches, loads included.
 */
async function gemmL1(madd: boolean): Promise<number> {
  const n = 64;
  const body = emitGemm({ K: n, Nc: n, lda: n, ldb: n, ldc: n, mr: 4, nv: 4, accumulate: true, madd });
  const mem = new WebAssembly.Memory({ initial: 1 });
  new Float32Array(mem.buffer, 0, 3 * n * n).fill(0.5);
  const inst = await WebAssembly.instantiate(
    await WebAssembly.compile(
      encodeModule({ importMemory: true, minPages: 1, functions: [{ name: 'g', body }] }) as Uint8Array<ArrayBuffer>,
    ),
    { env: { memory: mem } },
  );
  const g = inst.exports.g as (a: number, b: number, c: number, blocks: number) => void;
  let best = 0;
  for (let r = 0; r < 300; r++) {
    const reps = 50;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) g(0, n * n * 4, 2 * n * n * 4, n / 4);
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, (reps * 2 * n * n * n) / s / 1e9);
  }
  return Math.round(best * 10) / 10;
}

async function main(): Promise<void> {
  const out: Record<string, number | string | null> = { mul_add_gflop_per_s: await gflops(false) };
  out.relaxed_madd_gflop_per_s = relaxedSimdAvailable() ? await gflops(true) : null;
  out.gemm_l1_mul_add_gflop_per_s = await gemmL1(false);
  out.gemm_l1_relaxed_madd_gflop_per_s = relaxedSimdAvailable() ? await gemmL1(true) : null;
  out.note =
    'one thread, best of 300 bursts of ~2 ms; the first two: dependent chains of multiply-adds on registers (acc = acc a + b), the gemm_l1 ones: our GEMM micro-kernel on operands in L1';
  console.log(JSON.stringify(out));
}

void main();
