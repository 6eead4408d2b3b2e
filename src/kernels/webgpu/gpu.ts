/**
 * The small WebGPU toolkit the readout kernels share: one GPUDevice (tfjs-webgpu's when that backend runs, so the
 * core's output buffers can be bound directly; else one of our own), storage buffers that grow on demand, uniform
 * blocks, pipelines compiled once per shader, and reading buffers back.
 *
 * No tfjs import: the caller hands over the device (gpuDeviceOfTfjs in device_tfjs.ts reads it off the backend).
 */

/**
 * Storage buffers: kernels read and write them, the queue writes them, they are copied out for reading back.
 * A function, not a module constant: GPUBufferUsage exists only where WebGPU does, and this module is imported by
 * code that also runs in Node (the trainer, the worker job), which must load without it.
 */
const storageUsage = (): GPUBufferUsageFlags =>
  GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

/** A storage buffer that is replaced by a larger one when a call needs more (its contents are then lost). */
export class GrowBuffer {
  buffer: GPUBuffer | null = null;
  constructor(
    private readonly gpu: Gpu,
    readonly label: string,
  ) {}
  /** A buffer of at least `floats` 4-byte values (at least 16 bytes: WebGPU refuses empty bindings). */
  ensure(floats: number): GPUBuffer {
    const bytes = Math.max(16, Math.ceil((floats * 4) / 16) * 16);
    if (!this.buffer || this.buffer.size < bytes) {
      this.buffer?.destroy();
      this.buffer = this.gpu.device.createBuffer({ size: bytes, usage: storageUsage(), label: this.label });
    }
    return this.buffer;
  }
  /** Uploads `data` to the start of the buffer (grown to fit). */
  write(data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
    const b = this.ensure(data.length);
    if (data.length > 0) this.gpu.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  }
  destroy(): void {
    this.buffer?.destroy();
    this.buffer = null;
  }
}

/** A uniform block written as 32-bit words (u32 or f32 each, in declaration order). */
export type UniformWord = { u: number } | { f: number };

export class Gpu {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly staging: GPUBuffer[] = [];
  /** Uniform buffers of the commands not yet submitted (destroyed once their work is done). */
  private pendingUniforms: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice) {}

  /** The compute pipeline of `code` (entry point `main`), compiled once per device. */
  pipeline(label: string, code: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ code, label });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
      this.pipelines.set(code, p);
    }
    return p;
  }

  uniform(words: UniformWord[]): GPUBuffer {
    const n = Math.max(4, Math.ceil(words.length / 4) * 4);
    const data = new ArrayBuffer(n * 4);
    const view = new DataView(data);
    words.forEach((w, i) => {
      if ('u' in w) view.setUint32(4 * i, w.u, true);
      else view.setFloat32(4 * i, w.f, true);
    });
    const b = this.device.createBuffer({ size: n * 4, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(b, 0, data);
    this.pendingUniforms.push(b);
    return b;
  }

  /**
   * A command encoder for one step, inside validation and out-of-memory error scopes that submitAndRead closes:
   * a WGSL or binding mistake, or a buffer the device cannot allocate, then fails the step with the device's message
   * instead of leaving wrong numbers behind (WebGPU reports such errors asynchronously, not by throwing).
   */
  encoder(): GPUCommandEncoder {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.scopes++;
    return this.device.createCommandEncoder();
  }
  private scopes = 0;

  /** Records one dispatch of `pipeline` with bindings 0..k-1 = `buffers` (a uniform first, by convention). */
  dispatch(
    encoder: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    groups: [number, number?, number?],
  ): void {
    const bind = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
    pass.end();
  }

  /**
   * Submits `encoder` after copying `reads` (buffer, float count) into staging buffers, and resolves with their
   * contents. One round trip for all of them.
   */
  async submitAndRead(encoder: GPUCommandEncoder, reads: Array<[GPUBuffer, number]>): Promise<Float32Array[]> {
    const total = reads.reduce((s, [, n]) => s + Math.ceil((n * 4) / 16) * 16, 0);
    let staging: GPUBuffer | null = null;
    if (total > 0) {
      const i = this.staging.findIndex((b) => b.size >= total);
      staging =
        i >= 0
          ? this.staging.splice(i, 1)[0]
          : this.device.createBuffer({ size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      let off = 0;
      for (const [b, n] of reads) {
        if (n > 0) encoder.copyBufferToBuffer(b, 0, staging, off, n * 4);
        off += Math.ceil((n * 4) / 16) * 16;
      }
    }
    this.device.queue.submit([encoder.finish()]);
    const uniforms = this.pendingUniforms;
    this.pendingUniforms = [];
    if (this.scopes > 0) {
      this.scopes--;
      const validation = await this.device.popErrorScope();
      const memory = await this.device.popErrorScope();
      const err = validation ?? memory;
      if (err) {
        staging?.destroy();
        for (const u of uniforms) u.destroy();
        throw new Error(`WebGPU readout kernel failed: ${err.message}`);
      }
    }
    if (!staging) {
      await this.device.queue.onSubmittedWorkDone();
      for (const u of uniforms) u.destroy();
      return [];
    }
    await staging.mapAsync(GPUMapMode.READ);
    for (const u of uniforms) u.destroy();
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    this.staging.push(staging);
    if (this.staging.length > 4) this.staging.shift()?.destroy();
    const out: Float32Array[] = [];
    let off = 0;
    for (const [, n] of reads) {
      out.push(all.subarray(off / 4, off / 4 + n));
      off += Math.ceil((n * 4) / 16) * 16;
    }
    return out;
  }

  destroy(): void {
    for (const b of this.staging) b.destroy();
    this.staging.length = 0;
  }
}

/** Workgroups of `size` threads covering `n` items. */
export const groupsFor = (n: number, size: number): number => Math.max(1, Math.ceil(n / size));

/** `groups` workgroups as a 2-D grid within WebGPU's 65535 per dimension (kernels index x + y * gridX * size). */
export const grid2d = (groups: number): [number, number] => {
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
};
