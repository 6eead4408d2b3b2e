/**
 * Our WebAssembly depthwise kernels on tfjs-backend-wasm's own heap (the frozen core's forward in
 * kernels/fast_core.ts and the conv gradients in depthwise_grad.ts): the backend's view they use, its memory, and
 * the zero-padded copy of the input the kernels read so that their inner loops have no bounds checks.
 */
import type * as tf from '@tensorflow/tfjs';

/** What the kernels use of tfjs-backend-wasm's backend object. */
export type WasmHeapBackend = {
  wasm: {
    HEAPU8: Uint8Array;
    _malloc(n: number): number;
    _free(p: number): void;
    wasmMemory?: WebAssembly.Memory;
    asm?: Record<string, unknown>;
  };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
};

/** The backend's WebAssembly memory (where its exports keep it), or null when it cannot be found. */
export function backendMemory(b: WasmHeapBackend): WebAssembly.Memory | null {
  const m = b.wasm.wasmMemory ?? (b.wasm.asm?.memory as WebAssembly.Memory | undefined);
  if (m instanceof WebAssembly.Memory) return m;
  for (const v of Object.values(b.wasm.asm ?? {})) if (v instanceof WebAssembly.Memory) return v;
  return null;
}

/** Copies x (B, H, W, C) at `xOff` (floats) into a zero-padded (B, H + 2P, W + 2P, C) buffer at `padOff`. */
export function padInto(
  heap: Float32Array,
  xOff: number,
  padOff: number,
  B: number,
  H: number,
  W: number,
  C: number,
  P: number,
): void {
  const Hp = H + 2 * P,
    Wp = W + 2 * P,
    row = Wp * C;
  for (let i = 0; i < B; i++) {
    const img = padOff + i * Hp * row;
    heap.fill(0, img, img + P * row);
    heap.fill(0, img + (P + H) * row, img + Hp * row);
    for (let yy = 0; yy < H; yy++) {
      const r = img + (yy + P) * row;
      heap.fill(0, r, r + P * C);
      heap.copyWithin(r + P * C, xOff + (i * H + yy) * W * C, xOff + (i * H + yy + 1) * W * C);
      heap.fill(0, r + (P + W) * C, r + row);
    }
  }
}

/**
 * Runs `use(pad, heap)` with x (B, H, W, C) copied zero-padded by P on every side to a temporary buffer on the
 * heap at byte offset `pad` (freed afterwards); `heap` is a view of the heap taken after the allocation (which
 * may grow it).
 */
export function withPaddedCopy(
  b: WasmHeapBackend,
  x: tf.TensorInfo,
  P: number,
  use: (pad: number, heap: Float32Array) => void,
): void {
  const [B, H, W, C] = x.shape;
  const pad = b.wasm._malloc(B * (H + 2 * P) * (W + 2 * P) * C * 4);
  try {
    const heap = new Float32Array(b.wasm.HEAPU8.buffer);
    padInto(heap, b.dataIdMap.get(x.dataId).memoryOffset / 4, pad / 4, B, H, W, C, P);
    use(pad, heap);
  } finally {
    b.wasm._free(pad);
  }
}
