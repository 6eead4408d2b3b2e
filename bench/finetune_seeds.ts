/**
 * npm run bench:seeds: how the fine-tuned readout's positions vary from seed to seed on static-sim-a (frozen
 * sensorium-sota core, the reference protocol), to put the single-run position error of neuralpredictors'
 * reference (reference_results.json) in context. The core-output cache is built once; each seed then trains a
 * new readout from scratch. One JSON line per run: lr, seed, epochs, best validation correlation, test
 * correlation, correlation to average, median position error, the common offset (mean learned - true) and the
 * median error without it. bench/neuralpredictors_seeds.py prints the same for neuralpredictors itself.
 *
 * Usage: npm run bench:seeds -- [LR:SEED,LR:SEED,...]   (default 0.005 with seeds 1-8 and 42)
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node';
import { parseNumericNpy } from '../src/io/npy';
import { loadScanFromPath } from '../src/io/scan/node_dir_source';
import { normalizedResponses } from '../src/io/scan/normalize';
import { columnMeans } from '../src/metrics/correlation';
import { medianGridError } from '../src/metrics/grid_error';
import { loadCoreFromFiles } from '../src/train/frozen_core_files';
import { buildFeatureCache, DEFAULT_CACHE_PRECISION } from '../src/train/readout/feature_cache';
import { evaluateTier, planCache } from '../src/train/readout/finetune';
import { initReadout, REFERENCE_READOUT } from '../src/train/readout/readout_init';
import { evalPositions } from '../src/train/readout/readout_step';
import { trainReadout } from '../src/train/readout/trainer';
import { SIM_TRUTH, SIM_ZIP, SOTA } from '../test/fixtures/paths';

const runs = (process.argv[2] ?? '0.005:1,0.005:2,0.005:3,0.005:4,0.005:5,0.005:6,0.005:7,0.005:8,0.005:42')
  .split(',')
  .map((s) => s.split(':').map(Number));

tf.env().set('PROD', true);
await initNodeBackend('wasm');
const core = await loadCoreFromFiles(join(SOTA, 'model.pth'));
const scan = await loadScanFromPath(SIM_ZIP);
const truth = parseNumericNpy(new Uint8Array(readFileSync(join(SIM_TRUTH, 'true_grid.npy')))).data as Float32Array;
const plan = planCache(scan, core.coreOutputShape, DEFAULT_CACHE_PRECISION);
const cache = await buildFeatureCache(
  core.core,
  scan,
  Int32Array.from([...plan.train, ...plan.validation, ...plan.test]),
  { precision: DEFAULT_CACHE_PRECISION },
);
const N = scan.nNeurons;
const train = { trials: plan.train, responses: normalizedResponses(scan, plan.train) };
const validation = { trials: plan.validation, responses: normalizedResponses(scan, plan.validation) };

/** Mean learned - true position, and the median error once that common offset is taken out. */
function offset(p: Float32Array) {
  let mx = 0,
    my = 0;
  for (let n = 0; n < N; n++) {
    mx += p[2 * n] - truth[2 * n];
    my += p[2 * n + 1] - truth[2 * n + 1];
  }
  mx /= N;
  my /= N;
  const shifted = Float32Array.from(p, (v, i) => v - (i % 2 ? my : mx));
  return {
    offset: [+mx.toExponential(2), +my.toExponential(2)],
    grid_without_offset: +medianGridError(shifted, truth).toFixed(6),
  };
}

for (const [lr, seed] of runs) {
  const readout = initReadout(
    {
      neurons: N,
      channels: core.coreOutputShape[0],
      meanActivity: columnMeans(train.responses, N),
      cellMotorCoordinates: { data: scan.cellMotorCoordinates!, columns: scan.cellMotorCoordinates!.length / N },
    },
    REFERENCE_READOUT,
    seed,
  );
  const t0 = performance.now();
  const res = await trainReadout({ cache, neurons: N, datasetTrials: scan.nTrials, train, validation }, readout, {
    seed,
    lr,
  });
  const s = (await evaluateTier(res.readout, cache, scan, plan.test)).evaluation.summary;
  const p = evalPositions(res.readout);
  console.log(
    JSON.stringify({
      lr,
      seed,
      epochs: res.epochs,
      val: +res.bestValCorrelation.toFixed(5),
      test_correlation: +s.test_correlation!.toFixed(5),
      correlation_to_average: +s.correlation_to_average!.toFixed(5),
      grid_error_median: +medianGridError(p, truth).toFixed(6),
      ...offset(p),
      s: +((performance.now() - t0) / 1000).toFixed(1),
    }),
  );
}
