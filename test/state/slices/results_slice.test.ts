/**
 * The Correlations view's numbers: the results slice evaluates the loaded model on the loaded scan's test tier
 * the way the page does (distinct images in small batches, repeats sharing their prediction). With the
 * ground-truth model of static-sim-a the means are neuralpredictors' ceiling in reference_results.json, and
 * the per-neuron oracle is the simulator's oracle_jackknife.npy. Plus the table's ordering rules.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { initNodeBackend } from '../../../src/backend/node';
import { parseNumericNpy } from '../../../src/io/npy';
import { loadScan, openZipScan, type Scan } from '../../../src/io/scan';
import { metricsFromRows, type NeuronMetrics, sortedNeurons } from '../../../src/state/derived/neuron_metrics';
import { buildModel, type LoadedModel, openCheckpoint } from '../../../src/state/services/model_service';
import { createResultsSlice, currentEvaluation, evaluationBlocker } from '../../../src/state/slices/results_slice';
import type { AppState } from '../../../src/state/store';
import { SIM as SIM_DIR, SOTA as SOTA_DIR } from '../../fixtures/paths';

const SIM = `${SIM_DIR}/`;
const SOTA = `${SOTA_DIR}/`;

async function fileAt(path: string, name: string): Promise<File> {
  return new File([await openAsBlob(path)], name);
}

let truth: LoadedModel;
let sota: LoadedModel;
let scan: Scan;

beforeAll(async () => {
  await initNodeBackend('wasm');
  const config = await fileAt(SOTA + 'config.json', 'config.json');
  truth = buildModel(
    await openCheckpoint(await fileAt(SIM + 'static-sim-a-truth/truth_model.pth', 'truth_model.pth'), config),
  );
  sota = buildModel(await openCheckpoint(await fileAt(SOTA + 'model.pth', 'model.pth'), config));
  scan = await loadScan(await openZipScan(await openAsBlob(SIM + 'static-sim-a.zip'), 'static-sim-a.zip'));
}, 120_000);

/** A store with only what the results slice reads (model, scan) besides itself. */
function storeWith(model: LoadedModel | null, s: Scan | null) {
  return create<AppState>()((...a) => ({ model, scan: s, ...createResultsSlice(...a) }) as unknown as AppState);
}

describe('evaluateModel', () => {
  it("gives the ground-truth model's ceiling metrics on static-sim-a (neuralpredictors, reference_results.json)", async () => {
    const ref = JSON.parse(readFileSync(SIM + 'reference_results.json', 'utf8')).ceiling;
    const store = storeWith(truth, scan);
    const seen: number[] = [];
    const unsubscribe = store.subscribe((s) => {
      if (s.modelEvaluation) seen.push(s.modelEvaluation.done);
    });
    await store.getState().evaluateModel();
    unsubscribe();
    const e = currentEvaluation(store.getState())!;
    expect(e.status).toBe('ready');
    // Progress in steps of 10 distinct images, up to the 100 of the test tier.
    expect(e.total).toBe(100);
    expect(seen.filter((d, i) => d !== seen[i - 1])).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    const m = e.metrics!;
    const s = m.summary;
    expect([s.neurons, s.trials, s.images, s.repeated_images]).toEqual([1000, 1000, 100, 100]);
    expect(Math.abs(s.test_correlation! - ref.test_correlation)).toBeLessThan(0.002);
    expect(Math.abs(s.correlation_to_average! - ref.correlation_to_average)).toBeLessThan(0.002);
    expect(Math.abs(s.oracle! - ref.oracle)).toBeLessThan(0.002);
    expect(Math.abs(s.fraction_oracle! - ref.fraction_oracle)).toBeLessThan(0.01);
    // Per neuron: the oracle is the simulator's (float32 there), and the fraction is test / oracle.
    const oracle = parseNumericNpy(
      new Uint8Array(readFileSync(SIM + 'static-sim-a-truth/oracle_jackknife.npy')),
      'oracle_jackknife.npy',
    ).data as Float32Array;
    for (let n = 0; n < 1000; n++) expect(Math.abs(m.oracle![n] - oracle[n])).toBeLessThan(1e-4);
    expect(m.fraction![7]).toBeCloseTo(m.testCorrelation[7] / m.oracle![7], 12);
    expect(m.unitIds).toEqual(scan.unitIds);

    // Done for this pair: asking again does nothing; another model makes it stale.
    await store.getState().evaluateModel();
    expect(store.getState().modelEvaluation).toBe(e);
    store.setState({ model: sota } as Partial<AppState>);
    expect(currentEvaluation(store.getState())).toBeNull();
  }, 120_000);

  it("refuses a readout whose neurons are not the scan's, saying why", async () => {
    expect(evaluationBlocker(sota, scan)).toMatch(/7,776 neurons and the scan 1,000/);
    expect(evaluationBlocker(truth, null)).toMatch(/Load a scan/);
    expect(evaluationBlocker(null, scan)).toMatch(/Load a checkpoint/);
    const store = storeWith(sota, scan);
    await store.getState().evaluateModel();
    expect(store.getState().modelEvaluation).toBeNull();
  });
});

describe('sortedNeurons', () => {
  const m = {
    neurons: 5,
    unitIds: [50, 40, 30, 20, 10],
    testCorrelation: Float64Array.from([0.2, NaN, 0.5, 0.2, 0.9]),
    correlationToAverage: new Float64Array(5),
    oracle: null,
    fraction: null,
    feve: null,
  } as unknown as NeuronMetrics;

  it('orders by a column, ties by index, undefined values last either way', () => {
    expect(Array.from(sortedNeurons(m, 'test', true))).toEqual([4, 2, 0, 3, 1]);
    expect(Array.from(sortedNeurons(m, 'test', false))).toEqual([0, 3, 2, 4, 1]);
    expect(Array.from(sortedNeurons(m, 'unit', false))).toEqual([4, 3, 2, 1, 0]);
    expect(Array.from(sortedNeurons(m, 'neuron', true))).toEqual([4, 3, 2, 1, 0]);
    // A column the metrics do not have (no oracle): index order.
    expect(Array.from(sortedNeurons(m, 'oracle', true))).toEqual([0, 1, 2, 3, 4]);
  });

  it('reads fine-tuning rows, null metrics as undefined', () => {
    const row = (unit: number, t: number | null, o: number | null) => ({
      unit_id: unit,
      x: 0,
      y: 0,
      sigma: [0.1],
      test_correlation: t,
      correlation_to_average: t,
      oracle: o,
      fraction_oracle: t !== null && o ? t / o : null,
      feve: null,
    });
    const summary = { test_correlation: 0.3 } as never;
    const r = metricsFromRows([row(7, 0.3, 0.6), row(9, null, null)], summary, 'run');
    expect(r.origin).toBe('fine-tuning');
    expect(Array.from(r.oracle!)).toEqual([0.6, NaN]);
    expect(r.fraction![0]).toBeCloseTo(0.5, 12);
    expect(r.feve).toBeNull();
    expect(Array.from(sortedNeurons(r, 'test', true))).toEqual([0, 1]);
  });
});
