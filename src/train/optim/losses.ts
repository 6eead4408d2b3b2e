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
import { InputError } from '../../io/host_tensor';
import type { Scan } from '../../io/scan/types';
import { correlationPerNeuron, nanToZero } from '../../metrics/correlation';
import { checkLossOutput, type LossName, lossClassName, type OutputNonlinearity } from '../../model/output_loss';
import type { ReadoutKind } from '../../model/readout_types';

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

/** What a fine-tuning run trains with, and why (one line for the CLI and the page, or null for the defaults). */
export interface LossChoice {
  loss: LossName;
  output: OutputNonlinearity;
  /** Set when the choice was made for the user (negative responses -> MSE). */
  note: string | null;
}

type NegativeCount = { count: number; total: number; min: number };

/** Per scan (its responses array): the last trial selection counted, so the page's settings changes do not recount. */
const negativeCache = new WeakMap<Float32Array, { trials: number[]; result: NegativeCount }>();

/** Entries of the responses of `trials` below 0, and their minimum (raw units: the normalization only scales). */
export function negativeResponses(scan: Scan, trials: ArrayLike<number>): NegativeCount {
  const cached = negativeCache.get(scan.responses);
  if (cached && sameTrials(cached.trials, trials)) return { ...cached.result };
  const result = countNegative(scan, trials);
  negativeCache.set(scan.responses, { trials: Array.from(trials), result });
  return { ...result };
}

function sameTrials(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function countNegative(scan: Scan, trials: ArrayLike<number>): NegativeCount {
  const N = scan.nNeurons,
    R = scan.responses;
  let count = 0,
    min = Infinity;
  for (let k = 0; k < trials.length; k++) {
    const o = trials[k] * N;
    for (let n = 0; n < N; n++) {
      const v = R[o + n];
      if (v < 0) count++;
      if (v < min) min = v;
    }
  }
  return { count, total: trials.length * N, min };
}

/**
 * The loss and output for a scan's training trials. Poisson (on elu + 1) unless asked otherwise; when the training
 * responses hold negative values (calcium dF/F before spike inference) the Poisson loss is undefined, so an explicit
 * Poisson request is an error naming the scan file, and without a request the MSE loss is picked with a note.
 */
export function chooseLoss(
  scan: Scan,
  trainTrials: ArrayLike<number>,
  requested: { loss?: LossName; output?: OutputNonlinearity; readoutType?: ReadoutKind },
  scanFile: string,
): LossChoice {
  const output = requested.output ?? 'elu';
  const neg = negativeResponses(scan, trainTrials);
  const what = () =>
    `${neg.count} of ${neg.total} training responses are negative (min ${neg.min.toPrecision(3)}; calcium dF/F?)`;
  let loss = requested.loss;
  let note: string | null = null;
  if (neg.count > 0) {
    if (loss === 'poisson')
      throw new InputError(
        scanFile,
        `${what()}: the Poisson loss is undefined for negative responses; choose the MSE loss (--loss mse)`,
      );
    if (loss === undefined) {
      loss = 'mse';
      note = `${what()}: the Poisson loss is undefined for them, training with the MSE loss (${lossClassName('mse')})`;
    }
  }
  loss ??= 'poisson';
  checkLossOutput(loss, output);
  if (requested.readoutType === 'factorized' && (loss !== 'poisson' || output !== 'elu')) {
    // said before anything is cached or trained: the factorized kernel computes Poisson on elu + 1 only
    throw new InputError(
      scanFile,
      neg.count > 0 && requested.loss === undefined
        ? `${what()}: the Poisson loss is undefined for them, and the factorized readout trains with the Poisson loss only; use the Gaussian readout (MSE loss)`
        : `the factorized readout trains with the Poisson loss on elu + 1 only (asked: ${loss}, ${output})`,
    );
  }
  return { loss, output, note };
}
