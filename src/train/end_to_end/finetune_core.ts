/**
 * The transfer workflow with the core trainable too (issue 4's "fine-tune the core too"), shared by
 * `v1x finetune --train-core`, the fine-tuning worker (job.ts) and the tests: a pretrained checkpoint's core plus
 * a new readout for the scan's neurons (FullGaussian2d, or FullFactorized2d with `readoutType: 'factorized'`; as
 * `v1x train --init` builds it), trained by the
 * end-to-end trainer (trainer.ts: BatchNorm in training mode with running-average updates, the core
 * regularizers of neuralpredictors, one Adam over every parameter), then scored on the test tier with the same
 * metrics as the frozen-core path (readout/finetune.ts).
 *
 * Nothing is cached: the core runs forward and backward on every batch, so an epoch costs what an epoch of
 * end-to-end training costs (much more than an epoch of the readout on cached features).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, type StateDict } from '../../io/host_tensor';
import { tierIndices } from '../../io/scan/tiers';
import type { Scan } from '../../io/scan/types';
import { evaluate } from '../../metrics/evaluate';
import { inferArchitecture } from '../../model/architecture';
import { factorizedOptionsFromConfig, type ModelConfig } from '../../model/config';
import type { Encoder } from '../../model/encoder';
import type { LossName, OutputNonlinearity } from '../../model/output_loss';
import type { FactorizedOptions, ReadoutKind, ReadoutSnapshot, TrainableReadout } from '../../model/readout_types';
import { readoutToStateDict } from '../../model/to_state_dict';
import type { Rng } from '../../util/rng';
import { trainableReadoutFromStateDict } from '../export';
import { TrainingControl } from '../optim/control';
import { chooseLoss, type LossChoice } from '../optim/losses';
import type { TestResult } from '../readout/finetune';
import {
  type FactorizedInitOptions,
  REFERENCE_FACTORIZED,
  REFERENCE_READOUT,
  type ReadoutInitOptions,
} from '../readout/readout_init';
import { factorizedSnapshot } from '../readout/readout_step';
import { encoderWithNewReadouts, newReadoutFor } from './new_model';
import { type CoreRegularizerOptions, SENSORIUM_CORE_REGULARIZER } from './regularizers';
import { endToEndScan } from './scan_data';
import {
  type EndToEndEvent,
  type EndToEndOptionsInput,
  type EndToEndResult,
  predictTierE2E,
  trainEndToEnd,
} from './trainer';

/**
 * Default learning rate with the core trainable: 0.005, the same as the readout-only path and Sensorium's
 * `standard_trainer`, which fine-tunes (or trains) the core with one Adam over all parameters at that rate.
 * A separate, lower rate for the core would protect the pretrained features better, but the new readout starts
 * from scratch and needs the readout path's rate (on the demo's held-out mouse, 6 epochs at lr 0.001 reached
 * validation correlation 0.22 against 0.46 at 0.005; src/train/README.md), and early stopping restores the best
 * state by validation correlation, so a core that drifts for the worse is not what is kept.
 */
export const CORE_FINETUNE_LR = 0.005;

export interface CoreFineTuneSetup {
  /** The pretrained checkpoint's state_dict: its `core.*` entries start the core; its readouts are ignored. */
  stateDict: StateDict;
  config: ModelConfig;
  /** The checkpoint's name, for messages. */
  file: string;
  scan: Scan;
  /** Readout key of the new readout (and the exports); default the scan's data key. */
  dataKey?: string;
  /** Which readout (default 'gaussian'). */
  readoutType?: ReadoutKind;
  /** Readout settings; default the Sensorium SOTA readout (as the frozen-core path, finetune.ts). */
  readout?: Partial<ReadoutInitOptions>;
  /** A factorized readout's settings (over the config's factorized keys; `options` merged key by key). */
  factorized?: { initNoise?: number; options?: Partial<FactorizedOptions> };
  /** seed, lr, batchSize, gammaReadout, schedule, ...; trainCore is forced on. Defaults: the reference protocol. */
  train?: EndToEndOptionsInput;
  tiers?: { train: string; validation: string; test: string | null };
  onEvent?: (e: EndToEndEvent) => void;
  control?: TrainingControl;
  /** Called once the model exists, before training (live views read its readout; it changes in place). */
  onEncoder?: (encoder: Encoder, dataKey: string) => void;
  /** The loss and output (as the frozen-core path: absent = Poisson on elu + 1, MSE for negative responses). */
  loss?: LossName;
  output?: OutputNonlinearity;
  /** Names the scan in errors (default its name). */
  scanFile?: string;
}

export interface CoreFineTuneOutcome {
  /** The fine-tuned model (core + the new readout under `dataKey`); the caller disposes it. */
  encoder: Encoder;
  dataKey: string;
  /** The trained readout as host arrays (what the readout exports and per-neuron results take). */
  readout: TrainableReadout;
  result: EndToEndResult;
  /** null when the scan has no test trials. */
  test: TestResult | null;
  seed: number;
  lr: number;
  /** cacheS is always 0 (no cache), kept so both paths report the same timings. */
  timings: { cacheS: number; trainS: number; testS: number };
  /** The loss and output the run trained with, and the note when they were chosen for the user. */
  lossChoice: LossChoice;
}

/** The core regularizer a config asks for (neuralpredictors' gamma_input / gamma_hidden; Sensorium SOTA otherwise). */
export function coreRegularizerFromConfig(config: ModelConfig): CoreRegularizerOptions {
  return {
    ...SENSORIUM_CORE_REGULARIZER,
    gammaInput: config.gamma_input ?? SENSORIUM_CORE_REGULARIZER.gammaInput,
    gammaHidden: config.gamma_hidden ?? SENSORIUM_CORE_REGULARIZER.gammaHidden,
  };
}

/**
 * `config` with its readout fields replaced by `r`: the end-to-end model builder reads the new readout's settings
 * (and the encoder its position network's final tanh) from the config, while the fine-tuning workflow takes them
 * as ReadoutInitOptions (the inverse of end_to_end_model's readoutOptionsFromConfig).
 */
function withReadout(config: ModelConfig, r: ReadoutInitOptions): ModelConfig {
  const net = r.positionNet;
  return {
    ...config,
    gauss_type: r.gaussType,
    init_mu_range: r.initMuRange,
    init_sigma: r.initSigma,
    grid_mean_predictor: net
      ? {
          type: 'cortex',
          input_dimensions: net.inputDimensions,
          hidden_layers: net.hiddenLayers,
          hidden_features: net.hiddenFeatures,
          final_tanh: net.finalTanh,
        }
      : null,
  };
}

/** `config` with a factorized readout's settings under its keys (what the model builder and the encoder read). */
function withFactorized(config: ModelConfig, f: FactorizedInitOptions): ModelConfig {
  const o = f.options;
  return {
    ...config,
    init_noise: f.initNoise,
    normalize: o.normalize,
    constrain_pos: o.constrainPos,
    positive_weights: o.positiveWeights,
    positive_spatial: o.positiveSpatial,
    spatial_and_feature_reg_weight: o.regWeight,
    factorized_l1: o.l1Form,
  };
}

export async function fineTuneCoreAndReadout(s: CoreFineTuneSetup): Promise<CoreFineTuneOutcome> {
  const { scan } = s;
  const factorized = s.readoutType === 'factorized';
  // a factorized readout has no position network, so it needs no cortical coordinates
  const readoutOpts: ReadoutInitOptions = {
    ...REFERENCE_READOUT,
    ...s.readout,
    ...(factorized ? { positionNet: null } : {}),
  };
  const fOpts: FactorizedInitOptions = {
    initNoise: s.factorized?.initNoise ?? s.config.init_noise ?? REFERENCE_FACTORIZED.initNoise,
    options: { ...factorizedOptionsFromConfig(s.config), ...s.factorized?.options },
  };
  const config = factorized ? withFactorized(s.config, fOpts) : withReadout(s.config, readoutOpts);
  const [c, h, w] = inferArchitecture(s.stateDict, config, s.file).core.inputShape;
  const [sc, sh, sw] = scan.imageShape;
  if (sc !== c || sh !== h || sw !== w)
    throw new InputError(scan.name, `images are ${sc}x${sh}x${sw}, the core of ${s.file} takes ${c}x${h}x${w}`);
  if (readoutOpts.positionNet && !scan.cellMotorCoordinates) {
    throw new InputError(
      scan.name,
      'no meta/neurons/cell_motor_coordinates.npy for the position network (use free per-neuron positions instead)',
    );
  }
  const tiers = s.tiers ?? { train: 'train', validation: 'validation', test: 'test' };
  if (tierIndices(scan, tiers.train).length === 0)
    throw new InputError(scan.name, `no '${tiers.train}' trials to train on`);
  if (tierIndices(scan, tiers.validation).length === 0)
    throw new InputError(scan.name, `no '${tiers.validation}' trials for early stopping`);
  const lossChoice = chooseLoss(
    scan,
    tierIndices(scan, tiers.train),
    { loss: s.loss, output: s.output, readoutType: s.readoutType },
    s.scanFile ?? scan.name,
  );
  const dataKey = s.dataKey ?? scan.dataKey;
  const data = endToEndScan(scan, { key: dataKey, tiers });
  const seed = s.train?.seed ?? 42;
  const lr = s.train?.lr ?? CORE_FINETUNE_LR;
  const readout = { ...newReadoutFor(data), type: s.readoutType };
  const encoder = encoderWithNewReadouts(s.stateDict, config, [readout], seed, s.file);
  encoder.output = lossChoice.output;
  try {
    s.onEncoder?.(encoder, dataKey);
    const t1 = performance.now();
    const result = await trainEndToEnd(
      encoder,
      [data],
      {
        coreRegularizer: coreRegularizerFromConfig(config),
        ...s.train,
        // a factorized readout's regularizer has its own weight; the run's options report it
        ...(factorized ? { gammaReadout: fOpts.options.regWeight } : {}),
        seed,
        lr,
        loss: lossChoice.loss,
        trainCore: true,
      },
      s.onEvent,
      s.control ?? new TrainingControl(),
    );
    const trainS = (performance.now() - t1) / 1000;

    const t2 = performance.now();
    let test: TestResult | null = null;
    if (data.test) {
      const t = data.test;
      const predictions = await predictTierE2E(encoder, dataKey, t, data.imageShape);
      const evaluation = evaluate({ predictions, responses: t.responses, neurons: data.neurons, imageIds: t.imageIds });
      test = { trials: t.trials, predictions, responses: t.responses, evaluation };
    }
    const readout = await hostReadout(encoder, dataKey);
    return {
      encoder,
      dataKey,
      readout,
      result,
      test,
      seed,
      lr,
      timings: { cacheS: 0, trainS, testS: (performance.now() - t2) / 1000 },
      lossChoice,
    };
  } catch (e) {
    encoder.dispose();
    throw e;
  }
}

/** The encoder's readout `key` (either kind) as host arrays, through the same state_dict mapping the exports use. */
export async function hostReadout(encoder: Encoder, key: string): Promise<TrainableReadout> {
  const r = encoder.anyReadout(key);
  const out = trainableReadoutFromStateDict(
    await readoutToStateDict(r, key),
    key,
    r.kind === 'factorized' ? { factorized: r.options } : { finalTanh: r.positionNetwork?.finalTanh ?? true },
  );
  out.eluOffset = encoder.eluOffset;
  if (encoder.output !== 'elu') out.output = encoder.output;
  return out;
}

/**
 * The readout's current state for the live views while the core trains, read synchronously between batches
 * (so no optimizer step lands halfway through) with the model's own grid and sampling code; the sampled positions
 * use `rng` (their own noise: training's random stream is left alone).
 */
export function liveReadout(encoder: Encoder, key: string, rng: Rng, sampledImages = 8): ReadoutSnapshot {
  const any = encoder.anyReadout(key);
  if (any.kind === 'factorized') {
    // the masks' peaks and spreads, as the frozen-core path's snapshots (no sampling: rng is not used)
    const f = any;
    return factorizedSnapshot({
      kind: 'factorized',
      neurons: f.neurons,
      channels: f.channels,
      height: f.height,
      width: f.width,
      options: { ...f.options },
      spatial: f.spatial.dataSync() as Float32Array,
      features: new Float32Array(0),
      bias: new Float32Array(0),
    });
  }
  const r = any;
  const [positions, sampled] = tf.tidy(() => [r.grid(), r.sampleGrid(sampledImages, undefined, rng)]);
  try {
    return {
      kind: 'gaussian',
      positions: Float32Array.from(positions.dataSync() as Float32Array),
      sigma: Float32Array.from(r.sigma.dataSync() as Float32Array),
      gaussType: r.gaussType,
      sampledPositions: Float32Array.from(sampled.dataSync() as Float32Array),
      sampledImages,
    };
  } finally {
    positions.dispose();
    sampled.dispose();
  }
}
