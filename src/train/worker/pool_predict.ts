/**
 * Inference with the core on the core pool's workers (core_pool.ts) and the readout here: the same responses as
 * Encoder.predict (eval mode, the output nonlinearity), for `v1x predict --threads N` and the page's predictions
 * on the WASM backend. The workers compute the next chunk's core output while this thread reads out the last one.
 * A Gaussian readout is read out by the trainer's fused WebAssembly kernel (fused_readout.ts) at its eval
 * positions (the readout's grid(), read once): as tfjs ops it took 0.60 s per 64 images at 7776 neurons, more than
 * the 2 workers' core (0.27 s). A factorized readout keeps the tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from '../../io/host_tensor';
import { readoutPredict } from '../../kernels/fused_readout';
import type { Encoder } from '../../model/encoder';
import { FullGaussian2d } from '../../model/gaussian_readout';
import { readoutHostParams } from '../../model/host_params';
import { neuronMajorFeatures } from '../../model/readout_types';

/**
 * Images from which a prediction starts a pool of its own when none was asked for: starting 2 workers (each its own
 * tfjs-wasm and a copy of the core) took 1.1 s in Node, what one thread needs for ~300 SOTA images, so below this a
 * pool does not pay for itself.
 */
export const POOL_MIN_IMAGES = 256;

/** What inference needs of a pool: its output shape (C', H', W') and a batch split across its workers. */
export interface PoolCore {
  readonly outputShape: readonly [number, number, number];
  readonly threads: number;
  /** Core output (n, H', W', C') NHWC for normalized images (n, C, H, W). */
  runSplit(images: Float32Array, n: number): Promise<Float32Array>;
}

export interface PoolPredictOptions {
  readout?: string;
  /** Images per worker per chunk (default 8: the pool's batch, small enough to keep the pipeline full). */
  perWorker?: number;
  /** Called after each chunk with the images done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** Eval-mode responses (B, N) for normalized images (B, C, H, W). */
export async function predictOnPool(
  encoder: Encoder,
  pool: PoolCore,
  images: Float32Array,
  opts: PoolPredictOptions = {},
): Promise<HostTensor<'float32'>> {
  const [c, h, w] = encoder.architecture.core.inputShape;
  const img = c * h * w;
  if (images.length % img !== 0)
    throw new Error(`${images.length} values are not a whole number of ${c}x${h}x${w} images`);
  const B = images.length / img;
  const [C, H, W] = pool.outputShape;
  const [ec, eh, ew] = encoder.architecture.core.outputShape;
  if (C !== ec || H !== eh || W !== ew)
    throw new Error(`the pool's core gives ${C}x${H}x${W} maps, the model's readout reads ${ec}x${eh}x${ew}`);
  const readout = encoder.anyReadout(opts.readout);
  const N = readout.neurons;
  const out = new Float32Array(B * N);
  const host = readout instanceof FullGaussian2d ? await readoutHostParams(readout) : null;
  // the model holds (C, N) channel-major, as PyTorch's _features; the kernel reads (N, C)
  const features = host ? neuronMajorFeatures(host.features, host.channels, N) : null;
  const readOut = async (maps: Float32Array, n: number, into: Float32Array): Promise<void> => {
    if (host) {
      const m = H * W * C;
      readoutPredict({
        height: H,
        width: W,
        channels: C,
        maps: Array.from({ length: n }, (_, i) => maps.subarray(i * m, (i + 1) * m)),
        neurons: N,
        features: features!,
        bias: host.bias,
        positions: host.grid,
        out: into,
        eluOffset: encoder.eluOffset,
        output: encoder.output,
      });
      return;
    }
    const y = tf.tidy(() => encoder.forwardFromCore(tf.tensor4d(maps, [n, H, W, C]), { readout: opts.readout }));
    try {
      into.set((await y.data()) as Float32Array);
    } finally {
      y.dispose();
    }
  };
  const chunk = Math.max(1, Math.floor(opts.perWorker ?? 8)) * pool.threads;
  const core = (start: number): Promise<Float32Array> => {
    const n = Math.min(chunk, B - start);
    return pool.runSplit(images.subarray(start * img, (start + n) * img), n);
  };
  let next = B > 0 ? core(0) : null;
  try {
    for (let start = 0; start < B; start += chunk) {
      const n = Math.min(chunk, B - start);
      const maps = await next!;
      // the workers start on the next chunk before this thread reads this one out
      next = start + chunk < B ? core(start + chunk) : null;
      await readOut(maps, n, out.subarray(start * N, (start + n) * N));
      opts.onProgress?.(start + n, B);
    }
  } catch (e) {
    next?.catch(() => {}); // the chunk in flight: its failure, if any, is this one's
    throw e;
  }
  return { dtype: 'float32', shape: [B, N], data: out };
}
