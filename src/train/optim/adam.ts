/**
 * Adam with PyTorch's semantics (torch.optim.Adam, single-tensor path, weight_decay 0, amsgrad off):
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * State is float32 like PyTorch's; each element's update is computed in float64 and rounded once.
 * The learning rate may change between steps (ReduceLROnPlateau); restoring a model's best state does not
 * touch the optimizer's moments or step count (neuralpredictors' early_stopping reloads only the model).
 */
import type { Param } from '../readout/readout_params';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  step = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    readonly params: Param[],
    opts: AdamOptions,
  ) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.m = params.map((p) => new Float32Array(p.value.length));
    this.v = params.map((p) => new Float32Array(p.value.length));
  }

  /** Applies one update from the gradients currently in `params[i].grad`. */
  update(): void {
    this.step++;
    const { beta1: b1, beta2: b2, eps, lr } = this;
    const bc1 = 1 - Math.pow(b1, this.step);
    const bc2sqrt = Math.sqrt(1 - Math.pow(b2, this.step));
    const stepSize = lr / bc1;
    this.params.forEach((p, i) => {
      const m = this.m[i],
        v = this.v[i],
        g = p.grad,
        x = p.value;
      for (let j = 0; j < x.length; j++) {
        const gj = g[j];
        const mj = Math.fround(m[j] + (1 - b1) * (gj - m[j])); // torch: exp_avg.lerp_(grad, 1 - beta1)
        const vj = Math.fround(v[j] * b2 + (1 - b2) * gj * gj);
        m[j] = mj;
        v[j] = vj;
        const denom = Math.fround(Math.fround(Math.sqrt(vj)) / bc2sqrt) + eps;
        x[j] = x[j] - stepSize * (mj / Math.fround(denom));
      }
    });
  }

  /** Moments and step, for pausing/serializing a run. */
  state(): { step: number; lr: number; m: Float32Array[]; v: Float32Array[] } {
    return { step: this.step, lr: this.lr, m: this.m.map((a) => a.slice()), v: this.v.map((a) => a.slice()) };
  }
}
