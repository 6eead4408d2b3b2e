/**
 * One cell of the paper's transfer experiment (Lurz et al. 2021, Fig. 5) on a new animal, at one training-set
 * size: a new readout on a frozen core (the pretrained one, or a random one), or the whole model trained directly
 * on the animal. Every condition trains on the same nested subset of the train tier, stops early on the full
 * validation tier and is scored on the test tier with the field's metrics.
 *
 * Frozen-core cells use the readout trainer (train/readout/trainer.ts: cached core outputs, fused readout kernel, host Adam);
 * direct cells use the end-to-end trainer (train/end_to_end/trainer.ts). The same readout settings and protocol serve both.
 */
import { normalizedResponses } from '../io/scan/normalize';
import { tierIndices } from '../io/scan/tiers';
import type { Scan } from '../io/scan/types';
import type { CoreRunner } from '../kernels/core_runner';
import { columnMeans } from '../metrics/correlation';
import type { Evaluation, MetricsSummary } from '../metrics/evaluate';
import { poolEvaluations } from '../metrics/pooled';
import type { ModelConfig } from '../model/config';
import type { TrainableReadout } from '../model/readout_types';
import {
  encoderWithNewReadouts,
  factorizedOptionsOf,
  initCoreStateDict,
  newReadoutFor,
  readoutOptionsFromConfig,
} from '../train/end_to_end/new_model';
import { endToEndScan } from '../train/end_to_end/scan_data';
import {
  type EndToEndEvent,
  type EndToEndOptionsInput,
  evaluateTierE2E,
  trainEndToEnd,
} from '../train/end_to_end/trainer';
import { buildFeatureCache, type CachePrecision, type FeatureCache } from '../train/readout/feature_cache';
import { evaluateTier } from '../train/readout/finetune';
import { initFactorizedTrainable, initReadout } from '../train/readout/readout_init';
import { type TrainEvent, type TrainOptionsInput, trainReadout } from '../train/readout/trainer';
import { Rng } from '../util/rng';

export type TransferCondition = 'transfer' | 'random' | 'direct';

export interface TransferCell {
  condition: TransferCondition;
  /** Seed of the run (readout initialization, batch order, position noise; for direct cells the core too). */
  seed: number;
  /** Training images used. */
  images: number;
  /** Test-tier metrics (means over neurons; over every scan's neurons pooled for a cell on several scans). */
  test: MetricsSummary;
  /** The test tier's per-neuron metrics behind `test` (pooled over scans with metrics/pooled.ts). */
  evaluation: Evaluation;
  bestValCorrelation: number;
  epochs: number;
  stopReason: string;
  seconds: number;
}

/**
 * The first `size` trials of one seeded permutation of the train tier: the subsets of different sizes are nested,
 * as in the paper, so a larger set only adds images.
 */
export function trainingSubset(scan: Pick<Scan, 'tiers'>, size: number, seed: number, tier = 'train'): Int32Array {
  const all = tierIndices(scan, tier);
  if (!(size >= 1) || size > all.length)
    throw new Error(`a training set of ${size} images does not fit the ${all.length} '${tier}' trials`);
  const order = new Rng(seed).permutation(all.length);
  return Int32Array.from(order.subarray(0, size), (i) => all[i]).sort();
}

/** The frozen core's outputs for every train, validation and test trial of the scan, computed once. */
export async function cacheForTransfer(
  core: CoreRunner,
  scan: Scan,
  precision: CachePrecision = 'float32',
): Promise<FeatureCache> {
  const trials = ['train', 'validation', 'test'].flatMap((t) => Array.from(tierIndices(scan, t)));
  return buildFeatureCache(core, scan, trials, { precision });
}

/** Which readout a cell trains: a FullGaussian2d (the config's settings) or a FullFactorized2d. */
export type CellReadoutKind = 'gaussian' | 'factorized';

export interface FrozenCellOptions {
  condition: 'transfer' | 'random';
  config: ModelConfig;
  /** Default 'gaussian'. */
  readout?: CellReadoutKind;
  train?: TrainOptionsInput;
  onEvent?: (e: TrainEvent) => void;
}

/** A new readout on a frozen core (its outputs cached in `cache`), trained on `trainTrials` and scored on test. */
export async function frozenCoreCell(
  cache: FeatureCache,
  scan: Scan,
  trainTrials: Int32Array,
  o: FrozenCellOptions,
): Promise<TransferCell> {
  const t0 = performance.now();
  const N = scan.nNeurons;
  const validation = tierIndices(scan, 'validation');
  const test = tierIndices(scan, 'test');
  const trainResponses = normalizedResponses(scan, trainTrials);
  const seed = o.train?.seed ?? 42;
  const meanActivity = columnMeans(trainResponses, N);
  const g = cache.geometry;
  let readout: TrainableReadout;
  if (o.readout === 'factorized') {
    readout = initFactorizedTrainable(
      { neurons: N, channels: g.channels, height: g.height, width: g.width, meanActivity },
      factorizedOptionsOf(o.config),
      seed,
    );
  } else {
    const gaussian = initReadout(
      {
        neurons: N,
        channels: g.channels,
        meanActivity,
        cellMotorCoordinates: scan.cellMotorCoordinates
          ? { data: scan.cellMotorCoordinates, columns: scan.cellMotorCoordinates.length / N }
          : undefined,
      },
      readoutOptionsFromConfig(o.config),
      seed,
    );
    readout = gaussian;
  }
  readout.eluOffset = o.config.elu_offset;
  const result = await trainReadout(
    {
      cache,
      neurons: N,
      datasetTrials: scan.nTrials,
      train: { trials: trainTrials, responses: trainResponses },
      validation: { trials: validation, responses: normalizedResponses(scan, validation) },
    },
    readout,
    { ...o.train, seed },
    o.onEvent,
  );
  const scored = await evaluateTier(result.readout, cache, scan, test);
  return {
    condition: o.condition,
    seed,
    images: trainTrials.length,
    test: scored.evaluation.summary,
    evaluation: scored.evaluation,
    bestValCorrelation: result.bestValCorrelation,
    epochs: result.epochs,
    stopReason: result.stopReason,
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface DirectCellOptions {
  config: ModelConfig;
  /** Default 'gaussian'. */
  readout?: CellReadoutKind;
  seed: number;
  /** The scans' readouts share each matched neuron's features (several scans of the same neurons). */
  shareFeatures?: boolean;
  train?: EndToEndOptionsInput;
  onEvent?: (e: EndToEndEvent) => void;
}

/**
 * A whole new model trained end to end on `trainTrials[k]` of each `scans[k]` only (one core, one readout per
 * scan, as neuralpredictors trains on several data keys), scored on every scan's test tier, the neurons pooled.
 */
export async function directCell(
  scans: readonly Scan[],
  trainTrials: readonly Int32Array[],
  o: DirectCellOptions,
): Promise<TransferCell> {
  const t0 = performance.now();
  if (scans.length === 0 || scans.length !== trainTrials.length)
    throw new Error(`a direct cell of ${scans.length} scans with ${trainTrials.length} training sets`);
  const data = scans.map((scan, k) => endToEndScan(scan, { trainTrials: trainTrials[k] }));
  const readouts = data.map((d) => ({ ...newReadoutFor(d), type: o.readout ?? 'gaussian' }));
  const encoder = encoderWithNewReadouts(
    initCoreStateDict(o.config, o.seed),
    o.config,
    readouts,
    o.seed,
    'new model',
    o.shareFeatures ?? false,
  );
  try {
    const result = await trainEndToEnd(encoder, data, { ...o.train, seed: o.seed }, o.onEvent);
    const evals: Evaluation[] = [];
    for (const [k, d] of data.entries()) {
      if (!d.test) throw new Error(`scan ${scans[k].name} has no test trials to score on`);
      evals.push(await evaluateTierE2E(encoder, d, d.test));
    }
    const evaluation = poolEvaluations(evals);
    return {
      condition: 'direct',
      seed: o.seed,
      images: trainTrials[0].length,
      test: evaluation.summary,
      evaluation,
      bestValCorrelation: result.bestValCorrelation,
      epochs: result.epochs,
      stopReason: result.stopReason,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    encoder.dispose();
  }
}
