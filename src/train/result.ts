/**
 * The one way to package a fine-tuning result, for `v1x finetune` and the page's worker (job.ts), whichever path
 * trained it (frozen core: finetune.ts; core trained too: finetune_core.ts): the readout as a .pth, optionally
 * core + readout as one .pth, the per-neuron rows (and their CSV), and the metadata JSON with one `training` block.
 */
import type { Scan } from '../io/scan/types';
import { factorizedConfigKeys, type ModelConfig } from '../model/config';
import type { Encoder } from '../model/encoder';
import { nonlinearityTypeName } from '../model/output_loss';
import type { TrainableReadout } from '../model/readout_types';
import type { CoreFineTuneOutcome } from './end_to_end/finetune_core';
import type { CoreRegularizerOptions } from './end_to_end/regularizers';
import {
  exportFullModelPth,
  exportMetadata,
  exportReadoutPth,
  type NeuronRow,
  perNeuronCsv,
  perNeuronResults,
  sha256Hex,
} from './export';
import type { DrivenRun } from './optim/epoch_driver';
import type { LossChoice } from './optim/losses';
import type { CachePrecision } from './readout/feature_cache';
import type { FineTuneOutcome, TestResult } from './readout/finetune';

/** The options a run was trained with (either trainer's resolved options have these). */
export interface RunOptions {
  lr: number;
  batchSize: number;
  gammaReadout: number;
  schedule: { maxEpochs: number };
  /** Present when the core was trained (end-to-end options). */
  coreRegularizer?: CoreRegularizerOptions;
}

/** What either fine-tuning path produced, as the exports and the summaries take it. */
export interface FineTuneRun {
  /** The core was fine-tuned too. */
  trainCore: boolean;
  /** The trained readout as host arrays. */
  readout: TrainableReadout;
  /** The model whose core goes into the full model (frozen: the checkpoint's; trainCore: the fine-tuned one). */
  encoder: Encoder;
  result: Pick<DrivenRun<object>, 'history' | 'stopReason' | 'message' | 'epochs' | 'bestValCorrelation'> & {
    options: RunOptions;
  };
  /** null when the scan has no test trials. */
  test: TestResult | null;
  seed: number;
  timings: { cacheS: number; trainS: number; testS: number };
  /** The core-output cache's precision; null when the core was trained (no cache). */
  cachePrecision: CachePrecision | null;
  /** The loss and output nonlinearity it trained with (optim/losses.ts), and the note when they were chosen. */
  lossChoice: LossChoice;
}

/** The frozen-core path's outcome (finetune.ts) with the model whose core it ran. */
export function frozenCoreRun(o: FineTuneOutcome, encoder: Encoder): FineTuneRun {
  return {
    trainCore: false,
    readout: o.readout,
    encoder,
    result: o.result,
    test: o.test,
    seed: o.seed,
    timings: o.timings,
    cachePrecision: o.cache.precision,
    lossChoice: o.lossChoice,
  };
}

/** The core-too path's outcome (finetune_core.ts); its encoder holds the fine-tuned core. */
export function coreFineTuneRun(o: CoreFineTuneOutcome): FineTuneRun {
  return {
    trainCore: true,
    readout: o.readout,
    encoder: o.encoder,
    result: o.result,
    test: o.test,
    seed: o.seed,
    timings: o.timings,
    cachePrecision: null,
    lossChoice: o.lossChoice,
  };
}

/** The metadata's `training` block: the options, then how the run ended and its epoch history. */
export function trainingMetadata(run: FineTuneRun): Record<string, unknown> {
  const r = run.result,
    o = r.options;
  return {
    train_core: run.trainCore,
    lr: o.lr,
    batch_size: o.batchSize,
    max_epochs: o.schedule.maxEpochs,
    gamma_readout: o.gammaReadout,
    loss: run.lossChoice.loss,
    nonlinearity_type: nonlinearityTypeName(run.lossChoice.output),
    ...(run.lossChoice.note ? { loss_note: run.lossChoice.note } : {}),
    ...(run.trainCore ? { core_regularizer: o.coreRegularizer } : {}),
    epochs: r.epochs,
    stop_reason: r.stopReason,
    history: r.history,
  };
}

/** Where a run came from and ran, for the metadata and the exports' key. */
export interface ResultContext {
  /** The checkpoint the core came from: its bytes (for the checksum) and its name or path. */
  checkpoint: { bytes: Uint8Array; file: string };
  config: ModelConfig;
  scan: Pick<Scan, 'name' | 'unitIds'>;
  /** The readout key in the exported .pth files. */
  dataKey: string;
  backend: string;
  /** Also export core + readout as one .pth (costs a copy of the core's weights). */
  fullModel: boolean;
}

export interface ResultFiles {
  /** Zip-format .pth files with neuralpredictors key names. */
  readoutPth: Uint8Array;
  fullModelPth: Uint8Array | null;
  perNeuron: NeuronRow[];
  perNeuronCsv: string;
  metadataJson: string;
}

/** The metadata's `readout` block: the readout type first, then what defines it (shape, options). */
export function readoutMetadata(r: TrainableReadout): Record<string, unknown> {
  if (r.kind === 'factorized') {
    return {
      readout_type: r.kind,
      neurons: r.neurons,
      channels: r.channels,
      height: r.height,
      width: r.width,
      ...factorizedConfigKeys(r.options),
    };
  }
  return {
    readout_type: r.kind,
    gauss_type: r.gaussType,
    neurons: r.neurons,
    channels: r.channels,
    position_network: r.positionNet !== null,
    positions: readoutPositions(r),
  };
}

/** How a readout's neurons get their positions: 'network' (from cortical coordinates), 'free' (one mu each); null: none. */
export function readoutPositions(r: TrainableReadout): 'network' | 'free' | null {
  return r.kind === 'gaussian' ? (r.positionNet ? 'network' : 'free') : null;
}

/**
 * The config the run's model follows: the loaded one with what the run trained with (loss, output nonlinearity, the
 * new Gaussian readout's position network or none), neuralpredictors' keys.
 */
export function trainedConfig(config: ModelConfig, run: FineTuneRun): ModelConfig & Record<string, unknown> {
  const r = run.readout;
  const out: ModelConfig & Record<string, unknown> = {
    ...config,
    loss: run.lossChoice.loss,
    nonlinearity_type: run.lossChoice.output,
  };
  if (r.kind === 'gaussian') {
    out.gauss_type = r.gaussType;
    if (!r.positionNet) out.grid_mean_predictor = null;
  }
  return out;
}

export async function packageResult(run: FineTuneRun, c: ResultContext): Promise<ResultFiles> {
  const r = run.readout;
  const evaluation = run.test?.evaluation ?? null;
  const perNeuron = perNeuronResults(r, c.scan.unitIds, evaluation);
  const readoutPth = await exportReadoutPth(r, c.dataKey);
  const fullModelPth = c.fullModel ? await exportFullModelPth(run.encoder, r, c.dataKey) : null;
  const metadataJson = JSON.stringify(
    exportMetadata({
      core_sha256: await sha256Hex(c.checkpoint.bytes),
      core_file: c.checkpoint.file,
      data_key: c.dataKey,
      scan: c.scan.name,
      config: trainedConfig(c.config, run),
      readout: readoutMetadata(r),
      training: trainingMetadata(run),
      seed: run.seed,
      backend: c.backend,
      ...(run.cachePrecision !== null ? { cache_precision: run.cachePrecision } : {}),
      metrics: evaluation?.summary ?? null,
    }),
    null,
    1,
  );
  return { readoutPth, fullModelPth, perNeuron, perNeuronCsv: perNeuronCsv(perNeuron, r), metadataJson };
}
