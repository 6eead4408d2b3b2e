/**
 * The frozen core's outputs kept on the GPU for the WGSL readout kernels: one storage buffer of (slots, H, W, C)
 * float32, the slots of the host FeatureCache (train/readout/feature_cache.ts). Filled straight from the core's
 * tfjs-webgpu output tensors (tensor.dataToGPU() gives its GPUBuffer; a buffer-to-buffer copy on the GPU, no trip
 * through the CPU), or uploaded from host maps when the core ran elsewhere.
 */
import type * as tf from '@tensorflow/tfjs';
import type { MapGeometry } from '../fused_readout';
import type { Gpu } from './gpu';

export class GpuFeatureCache {
  readonly buffer: GPUBuffer;
  readonly mapSize: number;
  /** Slots written so far (from tensors or host maps). */
  filled = 0;

  constructor(
    private readonly gpu: Gpu,
    readonly geometry: MapGeometry,
    readonly slots: number,
  ) {
    this.mapSize = geometry.height * geometry.width * geometry.channels;
    const bytes = slots * this.mapSize * 4;
    const limit = Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
    if (bytes > limit)
      throw new RangeError(
        `the GPU feature cache needs ${(bytes / 2 ** 20).toFixed(0)} MiB in one buffer, this device binds at most ${(limit / 2 ** 20).toFixed(0)} MiB`,
      );
    this.buffer = gpu.device.createBuffer({
      size: Math.max(16, bytes),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      label: 'GPU feature cache',
    });
  }

  /** Whether a cache of `slots` maps fits one binding of `gpu`'s device. */
  static fits(gpu: Gpu, geometry: MapGeometry, slots: number): boolean {
    const bytes = slots * geometry.height * geometry.width * geometry.channels * 4;
    return bytes <= Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
  }

  /**
   * Copies a core output (n, H, W, C) float32 on the tfjs WebGPU backend of the same device into slots
   * [startSlot, startSlot + n), on the GPU. The tensor is not disposed (the caller owns it).
   */
  storeTensor(y: tf.Tensor4D, startSlot: number): void {
    const [n, h, w, c] = y.shape;
    if (h !== this.geometry.height || w !== this.geometry.width || c !== this.geometry.channels)
      throw new Error(
        `core output ${h}x${w}x${c}, the GPU cache holds ${this.geometry.height}x${this.geometry.width}x${this.geometry.channels}`,
      );
    if (y.dtype !== 'float32') throw new Error(`core output of dtype ${y.dtype}, expected float32`);
    if (startSlot + n > this.slots)
      throw new Error(`slots ${startSlot}..${startSlot + n - 1} beyond the cache's ${this.slots}`);
    const d = y.dataToGPU();
    try {
      if (!d.buffer) throw new Error('the core output is not on the GPU (dataToGPU gave no buffer)');
      const enc = this.gpu.device.createCommandEncoder();
      enc.copyBufferToBuffer(d.buffer, 0, this.buffer, startSlot * this.mapSize * 4, n * this.mapSize * 4);
      this.gpu.device.queue.submit([enc.finish()]);
    } finally {
      // the copy is queued before anything tfjs may later write into the released buffer
      d.tensorRef.dispose();
    }
    this.filled += n;
  }

  /** Uploads one host map (H, W, C) into `slot`. */
  storeHost(slot: number, map: Float32Array): void {
    if (map.length < this.mapSize) throw new Error(`map of ${map.length} values, expected ${this.mapSize}`);
    this.gpu.device.queue.writeBuffer(
      this.buffer,
      slot * this.mapSize * 4,
      map.buffer,
      map.byteOffset,
      this.mapSize * 4,
    );
    this.filled++;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
