/**
 * Per-neuron metrics in one shape for the views, whichever produced them: the loaded model evaluated on the
 * loaded scan's test tier (results_slice.ts), or a fine-tuning run's results (training_slice.ts). Plain
 * functions, no React, no tfjs.
 */
import type { Evaluation, MetricsSummary } from '../../metrics/evaluate';
import type { NeuronRow } from '../../train/export';

export interface NeuronMetrics {
  origin: 'model' | 'fine-tuning';
  /** What was evaluated on what, for the view's heading. */
  label: string;
  tier: string;
  neurons: number;
  unitIds: number[] | null;
  testCorrelation: Float64Array;
  correlationToAverage: Float64Array;
  /** null (with `summary.note` saying why) when the tier repeats no image. */
  oracle: Float64Array | null;
  /** test correlation / oracle per neuron (the summary's fraction oracle is the regression slope instead). */
  fraction: Float64Array | null;
  feve: Float64Array | null;
  summary: MetricsSummary;
}

function perNeuronFraction(test: Float64Array, oracle: Float64Array | null): Float64Array | null {
  if (!oracle) return null;
  return test.map((c, n) => (oracle[n] !== 0 ? c / oracle[n] : NaN));
}

export function metricsFromEvaluation(
  e: Evaluation,
  opts: { label: string; tier: string; unitIds: number[] | null },
): NeuronMetrics {
  const p = e.perNeuron;
  return {
    origin: 'model',
    label: opts.label,
    tier: opts.tier,
    neurons: p.testCorrelation.length,
    unitIds: opts.unitIds,
    testCorrelation: p.testCorrelation,
    correlationToAverage: p.correlationToAverage,
    oracle: p.oracle,
    fraction: perNeuronFraction(p.testCorrelation, p.oracle),
    feve: p.feve,
    summary: e.summary,
  };
}

/** A fine-tuning run's per-neuron rows (null metrics become NaN) and its summary. */
export function metricsFromRows(rows: NeuronRow[], summary: MetricsSummary, label: string): NeuronMetrics {
  const col = (f: (r: NeuronRow) => number | null): Float64Array => Float64Array.from(rows, (r) => f(r) ?? NaN);
  const hasOracle = rows.some((r) => r.oracle !== null);
  const testCorrelation = col((r) => r.test_correlation);
  const oracle = hasOracle ? col((r) => r.oracle) : null;
  return {
    origin: 'fine-tuning',
    label,
    tier: 'test',
    neurons: rows.length,
    unitIds: rows.map((r) => r.unit_id),
    testCorrelation,
    correlationToAverage: col((r) => r.correlation_to_average),
    oracle,
    fraction: hasOracle ? col((r) => r.fraction_oracle) : null,
    feve: rows.some((r) => r.feve !== null) ? col((r) => r.feve) : null,
    summary,
  };
}

export type SortKey = 'neuron' | 'unit' | 'test' | 'average' | 'oracle' | 'fraction' | 'feve';

function column(m: NeuronMetrics, key: SortKey): ArrayLike<number> | null {
  switch (key) {
    case 'neuron':
      return null;
    case 'unit':
      return m.unitIds;
    case 'test':
      return m.testCorrelation;
    case 'average':
      return m.correlationToAverage;
    case 'oracle':
      return m.oracle;
    case 'fraction':
      return m.fraction;
    case 'feve':
      return m.feve;
  }
}

/**
 * Neuron indices ordered by a column; NaN (undefined for that neuron) last in either direction, ties by index,
 * so the order is stable and the same for the same data.
 */
export function sortedNeurons(m: NeuronMetrics, key: SortKey, descending: boolean): Int32Array {
  const order = Int32Array.from({ length: m.neurons }, (_, i) => i);
  if (key === 'neuron') return descending ? order.reverse() : order;
  const v = column(m, key);
  if (!v) return order; // a metric these results do not have (no oracle without repeats)
  const sign = descending ? -1 : 1;
  return order.sort((a, b) => {
    const x = v[a],
      y = v[b];
    const nx = Number.isNaN(x),
      ny = Number.isNaN(y);
    if (nx || ny) return nx === ny ? a - b : nx ? 1 : -1;
    return x === y ? a - b : sign * (x - y);
  });
}
