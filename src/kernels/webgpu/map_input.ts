/**
 * A WGSL readout step's feature maps (both readouts' kernels, gaussian_readout.ts and factorized_readout.ts): the
 * batch's maps uploaded from host arrays, or a GPU cache's buffer of (slots, H, W, C) read by slot; either way the
 * kernels get a maps buffer and a slot per image.
 */
import type { MapGeometry } from '../fused_readout';
import { type Gpu, GrowBuffer } from './gpu';

/** Where a step's maps are: host arrays (uploaded), or a GPU buffer of (slots, H, W, C) with a slot per image. */
export interface GpuMapSource {
  buffer: GPUBuffer;
  /** (B) the slot of each image of the batch. */
  slots: Uint32Array;
}

export class MapInput {
  private readonly maps: GrowBuffer;
  private readonly slots: GrowBuffer;

  constructor(
    private readonly gpu: Gpu,
    private readonly geometry: MapGeometry,
    label: string,
  ) {
    this.maps = new GrowBuffer(gpu, `${label} maps`);
    this.slots = new GrowBuffer(gpu, `${label} slots`);
  }

  /** Throws unless `B` images' maps are given: a slot each from `source`, or host maps of the geometry's size. */
  check(maps: readonly Float32Array[], B: number, source?: GpuMapSource): void {
    const { height: H, width: W, channels: C } = this.geometry;
    if (source) {
      if (source.slots.length !== B) throw new Error(`map slots: expected ${B}, got ${source.slots.length}`);
      return;
    }
    for (let b = 0; b < B; b++)
      if (maps[b].length < H * W * C) throw new Error(`feature map ${b}: expected ${H * W * C} values`);
  }

  /** Uploads the maps (or binds the GPU source) and returns the maps and slots buffers. */
  bind(maps: readonly Float32Array[], B: number, source?: GpuMapSource): [GPUBuffer, GPUBuffer] {
    if (source) return [source.buffer, this.slots.write(source.slots)];
    const m = this.geometry.height * this.geometry.width * this.geometry.channels;
    const buf = this.maps.ensure(B * m);
    for (let b = 0; b < B; b++) {
      const x = maps[b];
      this.gpu.device.queue.writeBuffer(buf, b * m * 4, x.buffer, x.byteOffset, m * 4);
    }
    return [buf, this.slots.write(Uint32Array.from({ length: B }, (_, i) => i))];
  }

  destroy(): void {
    this.maps.destroy();
    this.slots.destroy();
  }
}
