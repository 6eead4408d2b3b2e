/**
 * The factorized readout's regularizer, swept: how the L1 form (per neuron, or neuralpredictors' outer product) and
 * its weight change a readout fine-tuned on a frozen core, to choose the default (model/readout_types.ts:
 * FACTORIZED_DEFAULT_REG_WEIGHT; README, "The factorized readout's regularizer"). The demo core and the demo's
 * held-out mouse (public/demo), the reference protocol (lr 0.005, early stopping on validation correlation), one
 * core-output cache; one JSON line per run: form, weight, seed, epochs, best validation correlation (what the choice
 * is made on), test correlation and fraction of oracle, the masks' median spread and half-maximum size.
 *
 * Usage: node --import tsx bench/factorized_reg_sweep.ts [FORM:WEIGHT,...] [--seeds 1,2] [--max-epochs 200] [--train N]
 *   (--train N: only the first N training trials, as the transfer experiment's small training sets)
 *   (default: per_neuron at 0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1 and neuralpredictors at 1e-4, 1e-3, 0.01, 1)
 */

import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node';
import { loadScanFromPath } from '../src/io/scan/node_dir_source';
import { normalizedResponses } from '../src/io/scan/normalize';
import { columnMeans } from '../src/metrics/correlation';
import { effectiveMasks, maskGeometry } from '../src/model/factorized_masks';
import type { FactorizedL1Form } from '../src/model/readout_types';
import { loadCoreFromFiles } from '../src/train/frozen_core_files';
import { buildFeatureCache, DEFAULT_CACHE_PRECISION } from '../src/train/readout/feature_cache';
import { evaluateTier, planCache } from '../src/train/readout/finetune';
import { initFactorizedTrainable, REFERENCE_FACTORIZED } from '../src/train/readout/readout_init';
import { StepWorkspace } from '../src/train/readout/readout_step';
import { trainReadout } from '../src/train/readout/trainer';

const DEMO = fileURLToPath(new URL('../public/demo/', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const positional = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
const runs = (
  positional ??
  'per_neuron:0,per_neuron:0.001,per_neuron:0.003,per_neuron:0.01,per_neuron:0.03,per_neuron:0.1,' +
    'per_neuron:0.3,per_neuron:1,neuralpredictors:0.0001,neuralpredictors:0.001,neuralpredictors:0.01,neuralpredictors:1'
)
  .split(',')
  .map((s) => {
    const [form, w] = s.split(':');
    return { form: form as FactorizedL1Form, weight: Number(w) };
  });
const seeds = flag('seeds', '1').split(',').map(Number);
const maxEpochs = Number(flag('max-epochs', '200'));
const trainSize = Number(flag('train', '0'));

tf.env().set('PROD', true);
await initNodeBackend('wasm');
const core = await loadCoreFromFiles(`${DEMO}model.pth`, `${DEMO}config.json`);
const scan = await loadScanFromPath(`${DEMO}static-v1demo-heldout.zip`);
const plan = planCache(scan, core.coreOutputShape, DEFAULT_CACHE_PRECISION);
const cache = await buildFeatureCache(
  core.core,
  scan,
  Int32Array.from([...plan.train, ...plan.validation, ...plan.test]),
  { precision: DEFAULT_CACHE_PRECISION },
);
const N = scan.nNeurons;
const [C, H, W] = core.coreOutputShape;
const trainTrials = trainSize > 0 ? plan.train.slice(0, trainSize) : plan.train;
const train = { trials: trainTrials, responses: normalizedResponses(scan, trainTrials) };
const validation = { trials: plan.validation, responses: normalizedResponses(scan, plan.validation) };
const median = (a: ArrayLike<number>): number => {
  const s = Array.from(a).sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};

for (const { form, weight } of runs) {
  for (const seed of seeds) {
    const readout = initFactorizedTrainable(
      { neurons: N, channels: C, height: H, width: W, meanActivity: columnMeans(train.responses, N) },
      { ...REFERENCE_FACTORIZED, options: { ...REFERENCE_FACTORIZED.options, regWeight: weight, l1Form: form } },
      seed,
    );
    const t0 = performance.now();
    const ws = new StepWorkspace();
    const res = await trainReadout(
      { cache, neurons: N, datasetTrials: scan.nTrials, train, validation },
      readout,
      { seed, schedule: { maxEpochs } },
      undefined,
      undefined,
      ws,
    );
    const s = (await evaluateTier(readout, cache, scan, plan.test, ws)).evaluation.summary;
    const g = maskGeometry(effectiveMasks(readout.spatial, N, H, W, readout.options), N, H, W);
    console.log(
      JSON.stringify({
        form,
        weight,
        seed,
        epochs: res.epochs,
        stop: res.stopReason,
        val: +res.bestValCorrelation.toFixed(4),
        test_correlation: +s.test_correlation!.toFixed(4),
        fraction_oracle: +s.fraction_oracle!.toFixed(4),
        spread_px: +median(g.spread).toFixed(2),
        half_max_px: median(g.halfMaxPixels),
        s: +((performance.now() - t0) / 1000).toFixed(0),
      }),
    );
  }
}
