/**
 * Zero padding on the tfjs-wasm heap for our WebAssembly depthwise kernels (the frozen core's forward in
 * src/train/fast_core.ts and the conv gradients in wasm_depthwise_grad.ts): the kernels read a padded copy so
 * their inner loops have no bounds checks.
 */

/** Copies x (B, H, W, C) at `xOff` (floats) into a zero-padded (B, H + 2P, W + 2P, C) buffer at `padOff`. */
export function padInto(heap: Float32Array, xOff: number, padOff: number, B: number, H: number, W: number, C: number, P: number): void {
  const Hp = H + 2 * P, Wp = W + 2 * P, row = Wp * C;
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
