/**
 * The reference trainer's objective (Lurz 2020 / Sensorium `standard_trainer` with neuralpredictors' PoissonLoss):
 *
 *   loss(batch) = sqrt(datasetTrials / batchSize) * sum_{b,n} (r - t * log(r + eps)) + gamma_readout * sum |features|
 *
 * where datasetTrials is the length of the whole dataset behind the train loader (every tier: 5500 trials for
 * static-sim-a, not the 4000 train trials), batchSize the size of this batch (the last, smaller batch of an epoch
 * is scaled up more), and the L1 term is added unscaled. The fused kernel computes the Poisson part and its
 * gradient; this module holds the constants and the host-side pieces.
 */
import { correlationPerNeuron, nanToZero } from '../../metrics/correlation';

/** eps inside the log: neuralpredictors' PoissonLoss passes bias=1e-8 to torch's PoissonNLLLoss. */
export const poissonEps = 1e-8;

/** gamma_readout of the Sensorium / Lurz readout configs. */
export const DEFAULT_GAMMA_READOUT = 0.0076;

/** The reference trainer's `loss_scale` (scale_loss=True). */
export function referenceLossScale(datasetTrials: number, batchSize: number): number {
  return Math.sqrt(datasetTrials / batchSize);
}

/** sum (r - t log(r + eps)) over all entries, float64 accumulation. */
export function poissonLossSum(predictions: ArrayLike<number>, targets: ArrayLike<number>, eps = poissonEps): number {
  if (predictions.length !== targets.length)
    throw new Error(`Poisson loss of ${predictions.length} predictions and ${targets.length} targets`);
  let s = 0;
  for (let i = 0; i < predictions.length; i++) s += predictions[i] - targets[i] * Math.log(predictions[i] + eps);
  return s;
}

/**
 * The early-stopping objective: Sensorium `get_correlations(per_neuron=False)`: per-neuron correlation over all
 * trials of the tier (neuralpredictors' corr, eps 1e-8), NaN set to 0, mean over neurons.
 */
export function meanCorrelation(
  predictions: Float32Array | Float64Array,
  responses: Float32Array | Float64Array,
  neurons: number,
): number {
  const c = correlationPerNeuron(predictions, responses, neurons);
  nanToZero(c);
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i];
  return s / neurons;
}
