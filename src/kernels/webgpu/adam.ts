/**
 * Adam in WGSL with PyTorch's semantics (torch.optim.Adam, weight_decay 0, amsgrad off), the same update as the
 * host optimizer (train/optim/adam.ts) but in float32 throughout:
 *   m = m + (1 - beta1) (g - m);  v = beta2 v + (1 - beta2) g^2
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * All parameters of a readout live in one buffer (values, gradients, moments side by side), one thread per value.
 * The host's values and gradients are uploaded (a restored best state or a clamp the host did take effect), the
 * moments stay on the GPU, and the updated values are read back in the same round trip, since the host keeps using
 * them (positions, snapshots, validation). O(parameters) per step: small beside the maps the step kernels read.
 */
import { type Gpu, GrowBuffer, grid2d, groupsFor } from './gpu';

const ADAM = /* wgsl */ `
struct P { count: u32, stepSize: f32, bc2sqrt: f32, b1: f32, b2: f32, eps: f32 };
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>) {
  // 2-D grid: more than 65535 workgroups of 64 (a factorized mask of 7776 neurons x 2304 pixels is 18 M values)
  let i = gid.x + gid.y * ng.x * 64u;
  if (i >= p.count) { return; }
  let g = grads[i];
  let mi = m[i] + (1.0 - p.b1) * (g - m[i]);
  let vi = v[i] * p.b2 + (1.0 - p.b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  values[i] = values[i] - p.stepSize * (mi / (sqrt(vi) / p.bc2sqrt + p.eps));
}
`;

/** One learnable array (the host's copy) and its host gradient. */
export interface GpuParam {
  name: string;
  value: Float32Array;
  grad: Float32Array;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export class GpuAdam {
  /** Steps taken (bias correction), as the host optimizer's `step`. */
  step = 0;
  private readonly offsets: number[] = [];
  private readonly total: number;
  private readonly values: GrowBuffer;
  private readonly grads: GrowBuffer;
  private readonly m: GrowBuffer;
  private readonly v: GrowBuffer;

  constructor(
    private readonly gpu: Gpu,
    readonly params: GpuParam[],
  ) {
    let off = 0;
    for (const p of params) {
      this.offsets.push(off);
      off += p.value.length;
    }
    this.total = off;
    const g = (label: string) => new GrowBuffer(gpu, `adam ${label}`);
    this.values = g('values');
    this.grads = g('gradients');
    this.m = g('first moments');
    this.v = g('second moments');
    const zeros = new Float32Array(this.total);
    this.m.write(zeros);
    this.v.write(zeros);
    this.grads.ensure(this.total);
  }

  /** One update from the host gradients; the new values are written back into the host arrays. */
  async update(h: AdamHyper): Promise<void> {
    const { device } = this.gpu;
    this.step++;
    const values = this.values.ensure(this.total);
    const grads = this.grads.ensure(this.total);
    const enc = this.gpu.encoder();
    this.params.forEach((p, i) => {
      const off = this.offsets[i] * 4;
      device.queue.writeBuffer(values, off, p.value.buffer, p.value.byteOffset, p.value.byteLength);
      device.queue.writeBuffer(grads, off, p.grad.buffer, p.grad.byteOffset, p.grad.byteLength);
    });
    const bc1 = 1 - h.beta1 ** this.step;
    const dims = this.gpu.uniform([
      { u: this.total },
      { f: h.lr / bc1 },
      { f: Math.sqrt(1 - h.beta2 ** this.step) },
      { f: h.beta1 },
      { f: h.beta2 },
      { f: h.eps },
    ]);
    this.gpu.dispatch(
      enc,
      this.gpu.pipeline('adam', ADAM),
      [dims, values, grads, this.m.ensure(this.total), this.v.ensure(this.total)],
      grid2d(groupsFor(this.total, 64)),
    );
    const [out] = await this.gpu.submitAndRead(enc, [[values, this.total]]);
    this.params.forEach((p, i) => {
      p.value.set(out.subarray(this.offsets[i], this.offsets[i] + p.value.length));
    });
  }

  destroy(): void {
    for (const b of [this.values, this.grads, this.m, this.v]) b.destroy();
  }
}
