/**
 * Several scans' evaluations as one: their neurons pooled, as if one population (an experiment cell on matched
 * scans is scored on every neuron of every scan). Per-neuron metrics are concatenated in scan order and summarized
 * by the one definition (evaluate.ts: summarizePerNeuron): means over all neurons, the fraction of oracle as the
 * slope over all neurons (not a mean of the scans' slopes), FEVE over all neurons above the threshold. Oracle-based
 * metrics are pooled only when every scan has them.
 */
import { type Evaluation, type PerNeuronMetrics, summarizePerNeuron } from './evaluate';

function concat(parts: readonly (Float64Array | null)[]): Float64Array | null {
  if (parts.some((p) => p === null)) return null;
  const out = new Float64Array(parts.reduce((n, p) => n + p!.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p!, at);
    at += p!.length;
  }
  return out;
}

/** One evaluation of the pooled neurons of `evals` (one per scan); counts of trials and images are summed. */
export function poolEvaluations(evals: readonly Evaluation[]): Evaluation {
  if (evals.length === 0) throw new Error('no evaluations to pool');
  if (evals.length === 1) return evals[0];
  const thresholds = new Set(evals.map((e) => e.summary.fev_threshold));
  if (thresholds.size > 1) throw new Error(`evaluations with different FEV thresholds: ${[...thresholds].join(', ')}`);
  const pick = (k: keyof PerNeuronMetrics) => concat(evals.map((e) => e.perNeuron[k]));
  const perNeuron: PerNeuronMetrics = {
    testCorrelation: pick('testCorrelation')!,
    correlationToAverage: pick('correlationToAverage')!,
    oracle: pick('oracle'),
    fev: pick('fev'),
    feve: pick('feve'),
  };
  const sum = (f: (e: Evaluation) => number) => evals.reduce((a, e) => a + f(e), 0);
  const summary = summarizePerNeuron(perNeuron, {
    fevThreshold: evals[0].summary.fev_threshold,
    trials: sum((e) => e.summary.trials),
    images: sum((e) => e.summary.images),
    repeatedImages: sum((e) => e.summary.repeated_images),
    nanCorrelations: sum((e) => e.summary.nan_correlations),
  });
  return { perNeuron, summary };
}
