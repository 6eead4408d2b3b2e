/**
 * Per-neuron metrics of the loaded model on the loaded scan's test tier, computed in the page: every distinct
 * test image (by frame_image_id) goes through the model once, in small batches with progress and a pause for
 * the page between batches; repeats share their image's prediction. Only when the model's readout has as many
 * neurons as the scan (a readout predicts the neurons it was trained on, in their order) and the images fit.
 * The result belongs to the (model, scan) pair it was computed for; loading another one makes it stale.
 */
import type { StateCreator } from 'zustand';
import { normalizedImages, normalizedResponses, repeatGroups, type Scan, tierIndices } from '../../io/scan';
import { evaluate } from '../../metrics/evaluate';
import { metricsFromEvaluation, metricsFromRows, type NeuronMetrics } from '../derived/neuron_metrics';
import type { LoadedModel } from '../services/model_service';
import { predictInPage } from '../services/page_inference';
import type { AppState } from '../store';

const TIER = 'test';
/** Images per model call: small enough that the page stays responsive on slow backends (SwiftShader). */
const IMAGES_PER_STEP = 10;

export interface ModelEvaluation {
  model: LoadedModel;
  scan: Scan;
  status: 'running' | 'ready' | 'error';
  /** Distinct images predicted so far, of `total`. */
  done: number;
  total: number;
  metrics: NeuronMetrics | null;
  error: string | null;
  /** Where the core ran (page_inference.ts), once a step has run. */
  where: string | null;
}

export interface ResultsSlice {
  modelEvaluation: ModelEvaluation | null;
  /** Evaluates the loaded model on the loaded scan's test tier (no-op if it is running or done for this pair). */
  evaluateModel(): Promise<void>;
}

/** Why the loaded model cannot be evaluated on the loaded scan, or null when it can. */
export function evaluationBlocker(model: LoadedModel | null, scan: Scan | null): string | null {
  if (!model) return 'Load a checkpoint to evaluate its readout.';
  if (!scan) return 'Load a scan: the metrics compare the model\u2019s predictions with its recorded test responses.';
  if (model.neurons !== scan.nNeurons) {
    return (
      `The loaded readout '${model.readoutKey}' has ${model.neurons.toLocaleString('en-US')} neurons and the scan ` +
      `${scan.nNeurons.toLocaleString('en-US')}: a readout predicts the neurons it was trained on.`
    );
  }
  if (!scan.imageShape.every((v, i) => v === model.inputShape[i])) {
    return `The scan's images are ${scan.imageShape.join('×')}, the model takes ${model.inputShape.join('×')}.`;
  }
  if (tierIndices(scan, TIER).length === 0) return `The scan has no '${TIER}' trials to evaluate on.`;
  return null;
}

/** The evaluation for the current model and scan, if one was started for exactly this pair. */
export function currentEvaluation(s: Pick<AppState, 'modelEvaluation' | 'model' | 'scan'>): ModelEvaluation | null {
  const e = s.modelEvaluation;
  return e && e.model === s.model && e.scan === s.scan ? e : null;
}

/** The fine-tuning run's test metrics, when it finished with some. */
export function fineTuningMetrics(s: Pick<AppState, 'trainingResult' | 'scan'>): NeuronMetrics | null {
  const r = s.trainingResult;
  if (!r?.metrics || r.perNeuron.length === 0) return null;
  return metricsFromRows(
    r.perNeuron,
    r.metrics,
    `fine-tuned readout '${r.dataKey}' (${r.trainCore ? 'core fine-tuned too' : 'frozen core'}) on the ${TIER} tier`,
  );
}

export const createResultsSlice: StateCreator<AppState, [], [], ResultsSlice> = (set, get) => ({
  modelEvaluation: null,

  async evaluateModel() {
    const { model, scan } = get();
    if (!model || !scan || evaluationBlocker(model, scan)) return;
    const existing = currentEvaluation(get());
    if (existing && existing.status !== 'error') return;

    const trials = tierIndices(scan, TIER);
    const groups = repeatGroups(scan, TIER);
    const N = scan.nNeurons;
    const mine: ModelEvaluation = {
      model,
      scan,
      status: 'running',
      done: 0,
      total: groups.length,
      metrics: null,
      error: null,
      where: null,
    };
    const update = (patch: Partial<ModelEvaluation>) => {
      // Only while this run is still the current one (another model or scan may have been loaded meanwhile).
      if (get().modelEvaluation?.model !== model || get().modelEvaluation?.scan !== scan) return false;
      set({ modelEvaluation: { ...get().modelEvaluation!, ...patch } });
      return true;
    };
    set({ modelEvaluation: mine });
    try {
      const perImage = new Float32Array(groups.length * N);
      for (let start = 0; start < groups.length; start += IMAGES_PER_STEP) {
        const idx = Int32Array.from(groups.slice(start, start + IMAGES_PER_STEP), (g) => g[0]);
        const { y, where } = await predictInPage(model, normalizedImages(scan, idx), groups.length);
        perImage.set(y.data, start * N);
        if (!update({ done: start + idx.length, where })) return;
        await new Promise((r) => setTimeout(r, 0));
      }
      // Back to trial order: each trial gets its image's prediction.
      const slot = new Map<number, number>();
      groups.forEach((g, gi) => {
        for (const t of g) slot.set(t, gi);
      });
      const predictions = new Float32Array(trials.length * N);
      trials.forEach((t, k) => predictions.set(perImage.subarray(slot.get(t)! * N, (slot.get(t)! + 1) * N), k * N));
      // The model predicts in the loaders' normalized units; FEVE compares in those units (as v1x evaluate).
      const responses = normalizedResponses(scan, trials);
      const evaluation = evaluate({
        predictions,
        responses,
        neurons: N,
        imageIds: Array.from(trials, (t) => scan.frameImageId[t]),
      });
      const metrics = metricsFromEvaluation(evaluation, {
        label: `${model.source.checkpointName}, readout '${model.readoutKey}', on ${scan.name}, ${TIER} tier`,
        tier: TIER,
        unitIds: scan.unitIds,
      });
      update({ status: 'ready', metrics });
    } catch (err) {
      update({ status: 'error', error: err instanceof Error ? err.message : String(err) });
    }
  },
});
