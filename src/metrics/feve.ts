/**
 * Fraction of explainable variance (FEV) and fraction of explainable variance explained (FEVE), per neuron,
 * as neuralpredictors' `measures.np_functions.fev` computes them over the repeated images:
 *
 *   total   = var(all repeated responses, ddof 1)
 *   noise   = mean over images of var(responses to that image's repeats, ddof 1)
 *   FEV     = (total - noise) / total
 *   FEVE    = 1 - (mean squared error of the prediction - noise) / (total - noise)
 *
 * Sensorium's `get_fev` then keeps only neurons with FEV >= 0.15 (`FEV_THRESHOLD`) before averaging.
 * FEVE, unlike correlation, depends on the prediction's scale: predictions and responses must be in the same
 * units (both raw, or both normalized by the same per-neuron factor).
 */
import type { Values } from './correlation';
import { type RepeatGroup, repeatedGroups } from './repeats';

export const FEV_THRESHOLD = 0.15;

export interface FevResult {
  /** Fraction of the response variance that is stimulus-driven, per neuron. */
  fev: Float64Array;
  /** Fraction of that explainable variance the prediction explains, per neuron. */
  feve: Float64Array;
}

export function fevPerNeuron(
  responses: Values,
  predictions: Values,
  neurons: number,
  groups: RepeatGroup[],
): FevResult {
  if (responses.length !== predictions.length)
    throw new Error(`FEV of ${responses.length} responses and ${predictions.length} predictions`);
  const reps = repeatedGroups(groups);
  const fev = new Float64Array(neurons);
  const feve = new Float64Array(neurons);
  const count = reps.reduce((s, g) => s + g.trials.length, 0);
  if (count < 2) return { fev: fev.fill(NaN), feve: feve.fill(NaN) };

  const grand = new Float64Array(neurons);
  for (const g of reps)
    for (const t of g.trials) for (let n = 0; n < neurons; n++) grand[n] += responses[t * neurons + n];
  for (let n = 0; n < neurons; n++) grand[n] /= count;

  const total = new Float64Array(neurons);
  const noise = new Float64Array(neurons);
  const mse = new Float64Array(neurons);
  const gm = new Float64Array(neurons);
  for (const g of reps) {
    gm.fill(0);
    for (const t of g.trials) for (let n = 0; n < neurons; n++) gm[n] += responses[t * neurons + n];
    const k = g.trials.length;
    for (let n = 0; n < neurons; n++) gm[n] /= k;
    for (const t of g.trials) {
      const row = t * neurons;
      for (let n = 0; n < neurons; n++) {
        const x = responses[row + n];
        const dg = x - grand[n];
        const di = x - gm[n];
        const e = x - predictions[row + n];
        total[n] += dg * dg;
        noise[n] += (di * di) / (k - 1) / reps.length;
        mse[n] += e * e;
      }
    }
  }
  for (let n = 0; n < neurons; n++) {
    const tv = total[n] / (count - 1);
    const nv = noise[n];
    const pv = mse[n] / count;
    fev[n] = (tv - nv) / tv;
    feve[n] = 1 - (pv - nv) / (tv - nv);
  }
  return { fev, feve };
}

/** Mean FEVE over neurons whose FEV reaches the threshold (Sensorium `get_fev`); NaN when none does. */
export function meanFeveAboveThreshold(
  result: FevResult,
  threshold = FEV_THRESHOLD,
): { mean: number; neurons: number } {
  let s = 0,
    k = 0;
  for (let n = 0; n < result.fev.length; n++) {
    if (result.fev[n] >= threshold) {
      s += result.feve[n];
      k++;
    }
  }
  return { mean: k > 0 ? s / k : NaN, neurons: k };
}
