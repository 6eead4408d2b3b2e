/**
 * The model's output nonlinearity and the training loss, per (image, neuron) entry, as neuralpredictors names them;
 * one definition for the fused readout kernel (kernels/fused_readout.ts), the trainers, the CLI and the page.
 *
 * Output nonlinearity of the readout's value v (FiringRateEncoder's `nonlinearity_type`):
 * - 'elu' (default): elu(v + elu_offset) + 1, always positive (the published models);
 * - 'softplus': log(1 + exp(v)) (neuralpredictors' activations.Log1Exp), positive, smooth;
 * - 'identity': v itself, any sign (for responses that go negative, e.g. dF/F; not with the Poisson loss).
 *
 * Loss of prediction r against target t, summed over entries (reduction 'sum', as the Sensorium trainer's
 * `avg=False`):
 * - 'poisson' (default): r - t log(r + eps) (PoissonLoss, torch PoissonNLLLoss(log_input=False)); needs r > 0 and
 *   is undefined for t < 0;
 * - 'mse': (r - t)^2 (torch MSELoss(reduction='sum')): the Gaussian likelihood with constant variance, defined for
 *   any target sign; what calcium dF/F responses (negative values) are trained with;
 * - 'gaussian': the Gaussian likelihood whose variance follows the mean, 0.5 (r - t)^2 / s + 0.5 log s with
 *   s = r + GAUSSIAN_VARIANCE_FLOOR (needs r > -floor; with a positive output always): Poisson's mean-variance
 *   relation (active trials are noisier: spike counts, and the fluorescence shot noise they drive) with a floor for
 *   the indicator's baseline noise, so negative dF/F targets are fine. See the calcium notes.
 */

export type LossName = 'poisson' | 'mse' | 'gaussian';
export const LOSS_NAMES: readonly LossName[] = ['poisson', 'mse', 'gaussian'];

export type OutputNonlinearity = 'elu' | 'softplus' | 'identity';
export const OUTPUT_NONLINEARITIES: readonly OutputNonlinearity[] = ['elu', 'softplus', 'identity'];

/** The variance floor of the 'gaussian' loss, in normalized response units (responses / their std). */
export const GAUSSIAN_VARIANCE_FLOOR = 1;

/** neuralpredictors' names: the loss class (Sensorium trainer's `loss_function`), the encoder's nonlinearity_type. */
export function lossClassName(loss: LossName): string {
  return loss === 'poisson' ? 'PoissonLoss' : loss === 'mse' ? 'MSELoss' : 'GaussianLoss (variance = mean + 1)';
}

export function nonlinearityTypeName(o: OutputNonlinearity): string {
  return o === 'softplus' ? 'Log1Exp' : o;
}

/** Is the output always positive (what the Poisson loss needs)? */
export function positiveOutput(o: OutputNonlinearity): boolean {
  return o !== 'identity';
}

/** r = output(v); eluOffset applies to 'elu' only (as FiringRateEncoder). */
export function outputValue(o: OutputNonlinearity, v: number, eluOffset = 0): number {
  if (o === 'elu') {
    const x = v + eluOffset;
    return x > 0 ? x + 1 : Math.exp(x);
  }
  if (o === 'softplus') return v > 20 ? v : Math.log1p(Math.exp(v));
  return v;
}

/** dr/dv given v and r = output(v). */
export function outputGrad(o: OutputNonlinearity, v: number, r: number, eluOffset = 0): number {
  if (o === 'elu') return v + eluOffset > 0 ? 1 : r;
  if (o === 'softplus') return 1 / (1 + Math.exp(-v));
  return 1;
}

/** The loss of one entry. */
export function lossValue(loss: LossName, r: number, t: number, eps: number): number {
  if (loss === 'poisson') return r - t * Math.log(r + eps);
  const d = r - t;
  if (loss === 'mse') return d * d;
  const s = r + GAUSSIAN_VARIANCE_FLOOR;
  return (0.5 * d * d) / s + 0.5 * Math.log(s);
}

/** dL/dr of one entry. */
export function lossGrad(loss: LossName, r: number, t: number, eps: number): number {
  if (loss === 'poisson') return 1 - t / (r + eps);
  const d = r - t;
  if (loss === 'mse') return 2 * d;
  const s = r + GAUSSIAN_VARIANCE_FLOOR;
  return d / s - (0.5 * d * d) / (s * s) + 0.5 / s;
}

/** Throws when the loss cannot take this output (Poisson and the mean-variance Gaussian need a positive rate). */
export function checkLossOutput(loss: LossName, output: OutputNonlinearity): void {
  if (loss !== 'mse' && !positiveOutput(output)) {
    throw new Error(
      `the ${loss} loss needs a positive output (elu or softplus); the identity output can be negative: use --loss mse`,
    );
  }
}
