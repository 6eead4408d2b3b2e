/**
 * All of the field's metrics for one tier of a scan, per neuron and averaged, from predictions and observed
 * responses of the same trials. This is what `v1x evaluate`, the fine-tuning report and the app's correlation
 * view show; the definitions follow neuralpredictors / Sensorium 2022 / Lurz et al. 2020 (see each module).
 */
import { correlationPerNeuron, mean, nanToZero, trialCount, type Values } from './correlation';
import { FEV_THRESHOLD, fevPerNeuron, meanFeveAboveThreshold } from './feve';
import { fractionOracle } from './fraction_oracle';
import { oracleJackknife } from './oracle';
import { groupByImage, groupMeans, repeatedGroups } from './repeats';

export interface EvaluateInput {
  /** Model predictions, row-major (trials, neurons); same units as `responses` (FEVE depends on scale). */
  predictions: Values;
  /** Observed responses of the same trials, row-major (trials, neurons). */
  responses: Values;
  neurons: number;
  /** Image shown in each trial (`frame_image_id`); trials with the same id are repeats. */
  imageIds: ArrayLike<number | bigint>;
  /** Neurons with FEV below this are left out of the mean FEVE (Sensorium: 0.15). */
  fevThreshold?: number;
}

export interface PerNeuronMetrics {
  /** Single-trial correlation (Sensorium `get_correlations`; NaN set to 0). */
  testCorrelation: Float64Array;
  /** Correlation of the per-image means over repeats (Sensorium `get_signal_correlations`). */
  correlationToAverage: Float64Array;
  /** Jackknife oracle of the responses; null without repeated images. */
  oracle: Float64Array | null;
  /** Fraction of explainable variance; null without repeated images. */
  fev: Float64Array | null;
  /** Fraction of explainable variance explained; null without repeated images. */
  feve: Float64Array | null;
}

/** Means over neurons; null where a metric is undefined (e.g. oracle on a tier without repeats). */
export interface MetricsSummary {
  test_correlation: number | null;
  correlation_to_average: number | null;
  oracle: number | null;
  fraction_oracle: number | null;
  feve: number | null;
  /** Neurons that passed the FEV threshold and entered the FEVE mean. */
  feve_neurons: number;
  fev_threshold: number;
  neurons: number;
  trials: number;
  images: number;
  repeated_images: number;
  /** Neurons whose single-trial correlation was NaN (set to 0 before averaging). */
  nan_correlations: number;
  /** Why oracle-based metrics are missing, when they are. */
  note?: string;
}

export interface Evaluation {
  perNeuron: PerNeuronMetrics;
  summary: MetricsSummary;
}

export function evaluate(input: EvaluateInput): Evaluation {
  const { predictions, responses, neurons, imageIds } = input;
  const fevThreshold = input.fevThreshold ?? FEV_THRESHOLD;
  const trials = trialCount(responses, neurons, 'responses');
  if (predictions.length !== responses.length) {
    throw new Error(
      `predictions have ${predictions.length / neurons} trials x ${neurons} neurons' worth of values, responses ${trials}`,
    );
  }
  if (imageIds.length !== trials) throw new Error(`${imageIds.length} image ids for ${trials} trials`);

  const groups = groupByImage(imageIds);
  const reps = repeatedGroups(groups);

  const testCorrelation = correlationPerNeuron(predictions, responses, neurons);
  const nanCorrelations = nanToZero(testCorrelation);
  const correlationToAverage = correlationPerNeuron(
    groupMeans(predictions, neurons, groups),
    groupMeans(responses, neurons, groups),
    neurons,
  );
  nanToZero(correlationToAverage);

  let oracle: Float64Array | null = null;
  let fev: Float64Array | null = null;
  let feve: Float64Array | null = null;
  if (reps.length > 0) {
    oracle = oracleJackknife(responses, neurons, groups);
    nanToZero(oracle);
    const r = fevPerNeuron(responses, predictions, neurons, groups);
    fev = r.fev;
    feve = r.feve;
  }
  const perNeuron: PerNeuronMetrics = { testCorrelation, correlationToAverage, oracle, fev, feve };
  const summary = summarizePerNeuron(perNeuron, {
    fevThreshold,
    trials,
    images: groups.length,
    repeatedImages: reps.length,
    nanCorrelations,
  });
  return { perNeuron, summary };
}

/**
 * The summary of per-neuron metrics: means over neurons, the fraction of oracle as the slope over all neurons, the
 * mean FEVE of the neurons above the FEV threshold. One definition for a scan's evaluation and for several scans'
 * pooled (pooled.ts).
 */
export function summarizePerNeuron(
  perNeuron: PerNeuronMetrics,
  counts: { fevThreshold: number; trials: number; images: number; repeatedImages: number; nanCorrelations: number },
): MetricsSummary {
  const { testCorrelation, correlationToAverage, oracle, fev, feve } = perNeuron;
  let feveMean: number | null = null;
  let feveNeurons = 0;
  if (fev && feve) {
    const m = meanFeveAboveThreshold({ fev, feve }, counts.fevThreshold);
    feveMean = finiteOrNull(m.mean);
    feveNeurons = m.neurons;
  }
  const summary: MetricsSummary = {
    test_correlation: finiteOrNull(mean(testCorrelation)),
    correlation_to_average: finiteOrNull(mean(correlationToAverage)),
    oracle: oracle ? finiteOrNull(mean(oracle)) : null,
    fraction_oracle: oracle ? finiteOrNull(fractionOracle(testCorrelation, oracle)) : null,
    feve: feveMean,
    feve_neurons: feveNeurons,
    fev_threshold: counts.fevThreshold,
    neurons: testCorrelation.length,
    trials: counts.trials,
    images: counts.images,
    repeated_images: counts.repeatedImages,
    nan_correlations: counts.nanCorrelations,
  };
  if (!oracle) {
    summary.note =
      'no image is shown more than once in these trials: oracle, fraction oracle and FEVE need repeated images';
  }
  return summary;
}

/** Rows `indices` of a row-major (trials, neurons) array, as a new array of the same type. */
export function selectTrials<T extends Values>(values: T, neurons: number, indices: ArrayLike<number>): T {
  const out = new (values.constructor as new (n: number) => T)(indices.length * neurons);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * neurons;
    out.set(values.subarray(src, src + neurons), i * neurons);
  }
  return out;
}

/**
 * Per-neuron results as CSV: one row per neuron, `unit_id` first when given. Undefined values are empty cells.
 */
export function perNeuronCsv(perNeuron: PerNeuronMetrics, unitIds?: ArrayLike<number | bigint>): string {
  const n = perNeuron.testCorrelation.length;
  const cols: [string, Float64Array | null][] = [
    ['test_correlation', perNeuron.testCorrelation],
    ['correlation_to_average', perNeuron.correlationToAverage],
    ['oracle', perNeuron.oracle],
    ['fev', perNeuron.fev],
    ['feve', perNeuron.feve],
  ];
  const lines = [['neuron', ...(unitIds ? ['unit_id'] : []), ...cols.map((c) => c[0])].join(',')];
  for (let i = 0; i < n; i++) {
    const cells = [String(i)];
    if (unitIds) cells.push(String(unitIds[i]));
    for (const [, v] of cols) cells.push(v && Number.isFinite(v[i]) ? String(v[i]) : '');
    lines.push(cells.join(','));
  }
  return lines.join('\n') + '\n';
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
