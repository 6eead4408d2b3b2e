/**
 * The fast frozen-core path (BatchNorm folded, fused ELU, WebAssembly SIMD depthwise on tfjs-wasm) computes what
 * the model's own core computes: against core_output.npy of the sensorium-sota fixture (neuralpredictors) with
 * the README tolerance, and against the model's forward on all 8 inputs. Also the SIMD kernel alone against a
 * plain loop on odd shapes (W not a multiple of 4, small kernels).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import { toFloat32 } from '../../src/io/host_tensor';
import { createFastCore } from '../../src/kernels/fast_core';
import { depthwiseModuleBytes, depthwiseReference } from '../../src/kernels/wasm/depthwise';
import { DEFAULT_MODEL_CONFIG } from '../../src/model/config';
import type { Encoder } from '../../src/model/encoder';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { nchwToMaps, npy, SOTA, sotaStateDict } from '../train/helpers';

describe('WebAssembly SIMD depthwise kernel', () => {
  for (const s of [
    { height: 5, width: 7, channels: 8, kernel: 3 },
    { height: 9, width: 6, channels: 4, kernel: 5 },
    { height: 4, width: 13, channels: 12, kernel: 7 },
  ]) {
    it(`${s.height}x${s.width}x${s.channels}, ${s.kernel}x${s.kernel}`, async () => {
      const B = 2,
        { height: H, width: W, channels: C, kernel: K } = s;
      const Hp = H + K - 1,
        Wp = W + K - 1,
        P = (K - 1) / 2;
      const nIn = B * H * W * C,
        nPad = B * Hp * Wp * C,
        nW = K * K * C;
      const mem = new WebAssembly.Memory({ initial: Math.ceil((4 * (nIn + nPad + nW + nIn)) / 65536) + 1 });
      const inst = await WebAssembly.instantiate(
        await WebAssembly.compile(depthwiseModuleBytes(s) as Uint8Array<ArrayBuffer>),
        { env: { memory: mem } },
      );
      const heap = new Float32Array(mem.buffer);
      const x = Float32Array.from({ length: nIn }, (_, i) => Math.sin(i * 0.37));
      const w = Float32Array.from({ length: nW }, (_, i) => Math.cos(i * 0.11));
      const padOff = 0,
        wOff = nPad,
        outOff = nPad + nW;
      for (let b = 0; b < B; b++)
        for (let y = 0; y < H; y++)
          heap.set(x.subarray((b * H + y) * W * C, (b * H + y + 1) * W * C), padOff + ((b * Hp + y + P) * Wp + P) * C);
      heap.set(w, wOff);
      (inst.exports.dw as (a: number, b: number, c: number, d: number) => void)(padOff * 4, wOff * 4, outOff * 4, B);
      const ref = depthwiseReference(x, w, B, s);
      for (let i = 0; i < ref.length; i++) expect(Math.abs(heap[outOff + i] - ref[i])).toBeLessThan(1e-5);
    });
  }
});

describe.each(['wasm', 'cpu'] as const)('fast frozen core on %s', (backend) => {
  let encoder: Encoder;
  beforeAll(async () => {
    await initNodeBackend(backend);
    encoder = encoderFromStateDict(await sotaStateDict(), { ...DEFAULT_MODEL_CONFIG }, 'model.pth', {
      readouts: [],
      trainable: false,
    });
  });

  it("matches core_output.npy and the model's forward", async () => {
    const fast = await createFastCore(encoder.core);
    expect(fast).not.toBeNull();
    if (backend === 'wasm')
      expect(fast!.description).toMatch(/3 depthwise and 6 1x1 convs in our WebAssembly (relaxed )?SIMD/);
    const inputs = npy(`${SOTA}/inputs.npy`);
    const x = tf.tensor4d(toFloat32(inputs), inputs.shape as [number, number, number, number]);
    const n0 = tf.memory().numTensors;
    const yf = fast!.run(x),
      ym = encoder.coreForward(x);
    const a = (await yf.data()) as Float32Array,
      b = (await ym.data()) as Float32Array;
    yf.dispose();
    ym.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(b[i]));
    const ref = nchwToMaps(npy(`${SOTA}/core_output.npy`)); // inputs[0:2], NHWC per image
    for (let k = 0; k < 2; k++) {
      const m = ref[k];
      for (let i = 0; i < m.length; i++)
        expect(Math.abs(a[k * m.length + i] - m[i])).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(m[i]));
    }
    x.dispose();
    fast!.dispose();
  });
});
