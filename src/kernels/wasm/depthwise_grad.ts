/**
 * The two gradients of a stride-1 "same" depthwise convolution as WebAssembly SIMD kernels on tfjs-backend-wasm's
 * own heap (the shape the Stacked2dCore's depth-separable layers use), generated for the exact shape with the
 * project's module writer (emitter.ts):
 *
 * - filter gradient dW[i, j, c] = sum over b, y, x of xPad[b, y + i, x + j, c] * dy[b, y, x, c]: per image, per
 *   4-channel vector and per filter row, K accumulators slide over the image; each image's sums are added to the
 *   output (float32 partial sums of one image, then one add per image);
 * - input gradient: a "same" depthwise convolution of dy with the filter rotated by 180 degrees, which is the
 *   frozen-core forward kernel (depthwise.ts) applied to other arguments.
 *
 * wasm's generic path for these (a depthwise conv with an H x W "filter", see grad_kernels.ts) was the
 * largest cost of a training step. Modules are compiled synchronously (allowed in Node and in Web Workers; a
 * browser's main thread refuses modules over 4 KB, and then the caller's op-based path is used).
 */
import type * as tf from '@tensorflow/tfjs';
import { depthwiseModuleBytes } from './depthwise';
import { encodeModule, FunctionBody, I32, V128 } from './emitter';
import { backendMemory, type WasmHeapBackend, withPaddedCopy } from './heap';

export interface DepthwiseGradShape {
  height: number;
  width: number;
  channels: number;
  kernel: number;
}

/** Emits `bpf(pad, dy, out, batch)`: out (K, K, C) += the filter gradient of `batch` images. */
export function depthwiseFilterGradModuleBytes(s: DepthwiseGradShape): Uint8Array {
  const { height: H, width: W, channels: C, kernel: K } = s;
  if (C % 4 !== 0) throw new Error(`depthwise gradient SIMD kernel needs channels divisible by 4, got ${C}`);
  if (K % 2 !== 1) throw new Error(`depthwise gradient SIMD kernel needs an odd kernel size, got ${K}`);
  const Wp = W + K - 1,
    Hp = H + K - 1;
  const px = C * 4; // bytes per pixel
  const f = new FunctionBody([I32, I32, I32, I32]);
  const [PAD, DY, OUT, BATCH] = [0, 1, 2, 3];
  const b = f.local(I32),
    cv = f.local(I32),
    ky = f.local(I32),
    y = f.local(I32),
    x = f.local(I32);
  const prow = f.local(I32),
    drow = f.local(I32),
    o = f.local(I32);
  const acc = Array.from({ length: K }, () => f.local(V128));
  const d = f.local(V128);

  f.forLoop(
    b,
    () => f.get(BATCH),
    1,
    () => {
      f.forLoop(
        cv,
        () => f.i32(C / 4),
        1,
        () => {
          f.forLoop(
            ky,
            () => f.i32(K),
            1,
            () => {
              for (let k = 0; k < K; k++) f.v128Zero().set(acc[k]);
              f.forLoop(
                y,
                () => f.i32(H),
                1,
                () => {
                  // prow = PAD + ((b * Hp + y + ky) * Wp) * px + cv * 16; drow = DY + ((b * H + y) * W) * px + cv * 16
                  f.get(PAD)
                    .get(b)
                    .i32(Hp)
                    .mul()
                    .get(y)
                    .add()
                    .get(ky)
                    .add()
                    .i32(Wp * px)
                    .mul()
                    .add()
                    .get(cv)
                    .i32(16)
                    .mul()
                    .add()
                    .set(prow);
                  f.get(DY)
                    .get(b)
                    .i32(H)
                    .mul()
                    .get(y)
                    .add()
                    .i32(W * px)
                    .mul()
                    .add()
                    .get(cv)
                    .i32(16)
                    .mul()
                    .add()
                    .set(drow);
                  f.forLoop(
                    x,
                    () => f.i32(W),
                    1,
                    () => {
                      f.get(drow).v128Load(0).set(d);
                      for (let k = 0; k < K; k++)
                        f.get(acc[k])
                          .get(prow)
                          .v128Load(k * px)
                          .get(d)
                          .f32x4Mul()
                          .f32x4Add()
                          .set(acc[k]);
                      f.get(prow).i32(px).add().set(prow);
                      f.get(drow).i32(px).add().set(drow);
                    },
                  );
                },
              );
              // out[(ky * K + k) * C + cv * 4 ...] += acc[k]
              f.get(OUT)
                .get(ky)
                .i32(K * px)
                .mul()
                .add()
                .get(cv)
                .i32(16)
                .mul()
                .add()
                .set(o);
              for (let k = 0; k < K; k++)
                f.get(o)
                  .get(o)
                  .v128Load(k * px)
                  .get(acc[k])
                  .f32x4Add()
                  .v128Store(k * px);
            },
          );
        },
      );
    },
  );
  return encodeModule({ importMemory: true, minPages: 1, functions: [{ name: 'bpf', body: f }] });
}

type Kernel = (pad: number, a: number, out: number, batch: number) => void;

const modules = new Map<string, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, Map<string, Kernel>>();

/** The kernel for a shape on this backend's heap, or null when it cannot be made here (sync compile refused). */
function kernel(b: WasmHeapBackend, kind: 'bpf' | 'dw', s: DepthwiseGradShape): Kernel | null {
  const mem = backendMemory(b);
  if (!mem) return null;
  const key = `${kind}:${s.height}x${s.width}x${s.channels}k${s.kernel}`;
  let mod = modules.get(key);
  if (mod === undefined) {
    try {
      mod = new WebAssembly.Module(
        (kind === 'bpf' ? depthwiseFilterGradModuleBytes(s) : depthwiseModuleBytes(s)) as Uint8Array<ArrayBuffer>,
      );
    } catch {
      mod = null;
    }
    modules.set(key, mod);
  }
  if (!mod) return null;
  let perMem = instances.get(mem);
  if (!perMem) {
    perMem = new Map();
    instances.set(mem, perMem);
  }
  let k = perMem.get(key);
  if (!k) {
    const inst = new WebAssembly.Instance(mod, { env: { memory: mem } });
    k = inst.exports[kind] as Kernel;
    perMem.set(key, k);
  }
  return k;
}

/** True when the SIMD kernels cover this depthwise conv: NHWC, stride 1, dilation 1, multiplier 1, odd square "same". */
export function simdDepthwiseGradApplies(
  xShape: readonly number[],
  filterShape: readonly number[],
  pad: { top: number; bottom: number; left: number; right: number },
  strides: [number, number],
  dilations: [number, number],
): boolean {
  const [kh, kw, C, m] = filterShape;
  const P = (kh - 1) / 2;
  return (
    kh === kw &&
    kh % 2 === 1 &&
    m === 1 &&
    C % 4 === 0 &&
    xShape[3] === C &&
    strides[0] === 1 &&
    strides[1] === 1 &&
    dilations[0] === 1 &&
    dilations[1] === 1 &&
    pad.top === P &&
    pad.bottom === P &&
    pad.left === P &&
    pad.right === P
  );
}

/** Filter gradient (K, K, C, 1) on wasm's heap, or null when no kernel can be made here. */
export function depthwiseFilterGradSimd(
  backend: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  K: number,
): tf.TensorInfo | null {
  const b = backend as WasmHeapBackend;
  const [B, H, W, C] = x.shape;
  const k = kernel(b, 'bpf', { height: H, width: W, channels: C, kernel: K });
  if (!k) return null;
  const out = b.makeOutput([K, K, C, 1], 'float32');
  withPaddedCopy(b, x, (K - 1) / 2, (pad, heap) => {
    const o = b.dataIdMap.get(out.dataId).memoryOffset;
    heap.fill(0, o / 4, o / 4 + K * K * C);
    k(pad, b.dataIdMap.get(dy.dataId).memoryOffset, o, B);
  });
  return out;
}

/** "same" depthwise convolution of x (B, H, W, C) with filter (K, K, C, 1) on wasm's heap, or null. */
export function depthwiseSameSimd(backend: unknown, x: tf.TensorInfo, filter: tf.TensorInfo): tf.TensorInfo | null {
  const b = backend as WasmHeapBackend;
  const [B, H, W, C] = x.shape;
  const K = filter.shape[0];
  const k = kernel(b, 'dw', { height: H, width: W, channels: C, kernel: K });
  if (!k) return null;
  const out = b.makeOutput([B, H, W, C], 'float32');
  withPaddedCopy(b, x, (K - 1) / 2, (pad) =>
    k(pad, b.dataIdMap.get(filter.dataId).memoryOffset, b.dataIdMap.get(out.dataId).memoryOffset, B),
  );
  return out;
}
