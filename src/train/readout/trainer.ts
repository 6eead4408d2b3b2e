/**
 * Readout training on a frozen core: the Lurz 2020 / Sensorium `standard_trainer` protocol on cached core
 * features, with the fused readout kernel and host Adam (no tfjs in the loop), for either readout.
 *
 * Per epoch: the training trials in a new random order (seeded), batches of 64 (the last one smaller, as
 * PyTorch's DataLoader without drop_last), loss = sqrt(datasetTrials / batch) * Poisson (or `loss`) + the readout's
 * regularizer, one Adam step per batch; then the validation correlation in eval mode drives early stopping and the
 * learning-rate schedule (epoch_driver.ts, shared with the end-to-end trainer). Gaussian: positions drawn per image
 * and neuron, regularizer gamma_readout * L1 of the features, validation at the Gaussian means. Factorized: one
 * fused kernel (FusedFactorizedReadout, one per run, in the StepWorkspace) computes the step, regularizer in the
 * readout's own weight and form; nothing is sampled (no random draws besides the shuffling). NaN/Inf loss stops
 * training with the best state so far. Progress per batch and per epoch; pause/resume/stop via TrainingControl.
 */

import { checkLossOutput, type LossName } from '../../model/output_loss';
import type { TrainableReadout } from '../../model/readout_types';
import { NormalSampler } from '../../util/normal';
import { Rng } from '../../util/rng';
import { Adam } from '../optim/adam';
import { TrainingControl } from '../optim/control';
import {
  type DrivenRun,
  driveEpochs,
  type EpochContext,
  type EpochEvent,
  type EpochOutcome,
  type RestoreEvent,
  type StopReason,
} from '../optim/epoch_driver';
import { DEFAULT_GAMMA_READOUT, meanCorrelation, poissonEps, referenceLossScale } from '../optim/losses';
import { REFERENCE_SCHEDULE, type ScheduleOptions } from '../optim/schedule';
import type { FeatureCache } from './feature_cache';
import { checkReadout, cloneReadout, copyReadoutInto, readoutParams } from './readout_params';
import {
  clampFreeMeans,
  evalPositions,
  predictBatch,
  readoutLossAndGrads,
  readoutLossAndGradsOn,
  type StepResult,
  StepWorkspace,
} from './readout_step';
import type { ReadoutWorkers } from './readout_workers';

/** One tier's trials (scan positions, all in the cache) and their normalized responses (trials x neurons). */
export interface TierData {
  trials: Int32Array;
  responses: Float32Array;
}

export interface TrainData {
  cache: FeatureCache;
  neurons: number;
  train: TierData;
  validation: TierData;
  /** Trials in the whole dataset behind the train loader (all tiers): the reference loss scale uses it. */
  datasetTrials: number;
  /**
   * Workers that hold the cache's blocks and take the steps and validation predictions (readout_workers.ts);
   * absent: this thread. Not used when the workspace has a WebGPU engine.
   */
  workers?: ReadoutWorkers | null;
}

export interface TrainOptions {
  seed: number;
  /** Initial learning rate (issue default 0.005; the reference's best on static-sim-a was 0.009). */
  lr: number;
  batchSize: number;
  /**
   * The L1 weight on a Gaussian readout's features. A factorized readout carries its regularizer's weight and
   * form in its options; a run's resolved options report that weight here.
   */
  gammaReadout: number;
  /** Scale the Poisson term as the reference trainer (scale_loss=True). */
  scaleLoss: boolean;
  schedule: ScheduleOptions;
  /** eps inside the Poisson log. */
  logEps: number;
  /** The loss (model/output_loss.ts): 'poisson' (the reference), 'mse' (calcium dF/F), 'gaussian'. */
  loss: LossName;
}

/** What callers pass: any subset, the schedule too. */
export type TrainOptionsInput = Partial<Omit<TrainOptions, 'schedule'>> & { schedule?: Partial<ScheduleOptions> };

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 42,
  lr: 0.005,
  batchSize: 64,
  gammaReadout: DEFAULT_GAMMA_READOUT,
  scaleLoss: true,
  schedule: REFERENCE_SCHEDULE,
  logEps: poissonEps,
  loss: 'poisson',
};

export interface BatchProgress {
  kind: 'batch';
  epoch: number;
  /** 1-based batch number within the epoch. */
  batch: number;
  batches: number;
  /** Loss of this batch (what the optimizer minimizes). */
  loss: number;
  /** The latest validation correlation (of the previous epoch's end). */
  valCorrelation: number;
  lr: number;
  elapsedS: number;
  /** Estimated seconds left: the rest of this epoch plus the fewest epochs the schedule can still run. */
  remainingS: number;
}

/** An epoch's event (epoch_driver.ts); `imagesPerS` counts the readout steps only. */
export type EpochProgress = EpochEvent;

export type { RestoreEvent, StopReason };

export type TrainEvent = BatchProgress | EpochProgress | RestoreEvent;

/** The epoch driver's run (history, stop reason, ...) with the readout and the options it was trained with. */
export interface TrainResult extends DrivenRun<object> {
  /** The trained readout (the best state by validation correlation when restoring, as the reference). */
  readout: TrainableReadout;
  /** The options the run used, defaults filled in. */
  options: TrainOptions;
}

/**
 * Trains `readout` in place and returns it with the history. `onEvent` receives batch and epoch progress;
 * `control` pauses, resumes or stops between batches.
 */
export async function trainReadout(
  data: TrainData,
  readout: TrainableReadout,
  options: TrainOptionsInput = {},
  onEvent?: (e: TrainEvent) => void,
  control = new TrainingControl(),
  /** Scratch of the steps; after a batch event its `positions` hold that batch's sampled positions (B, N, 2). */
  workspace = new StepWorkspace(),
): Promise<TrainResult> {
  const o: TrainOptions = {
    ...DEFAULT_TRAIN_OPTIONS,
    ...options,
    schedule: { ...DEFAULT_TRAIN_OPTIONS.schedule, ...options.schedule },
  };
  if (readout.kind === 'factorized') o.gammaReadout = readout.options.regWeight;
  checkReadout(readout);
  checkData(data, readout);
  checkLossOutput(o.loss, readout.output ?? 'elu');
  const N = readout.neurons;
  const { cache } = data;
  const geometry = cache.geometry;
  const t0 = performance.now();

  const root = new Rng(o.seed);
  const shuffleRng = root.fork();
  const noise = new NormalSampler(root.fork());
  const params = readoutParams(readout);
  const adam = new Adam(params, { lr: o.lr });
  const ws = workspace;
  const B = Math.max(1, Math.floor(o.batchSize));
  const nTrain = data.train.trials.length;
  const batches = Math.ceil(nTrain / B);
  const scratch = cache.precision === 'float32' ? [] : Array.from({ length: B }, () => new Float32Array(cache.mapSize));
  // the step's kernels on another device (WebGPU: Poisson on elu + 1 only), else the WebAssembly kernels here
  if (ws.engine && (o.loss !== 'poisson' || (readout.output ?? 'elu') !== 'elu')) ws.engine = null;
  const engine = ws.engine;
  const workers = engine ? null : (data.workers ?? null);
  // a batch's trials, targets and position draws; with workers two, so that the next batch is drawn while the
  // workers compute this one (the draws stay in the same order: the same numbers as one thread)
  const newBatch = (): BatchBuffers => ({
    n: 0,
    trials: new Int32Array(B),
    targets: new Float32Array(B * N),
    eps: new Float32Array(B * N * 2),
  });
  const buffers = workers ? [newBatch(), newBatch()] : [newBatch()];
  const fill = (b: BatchBuffers, order: Int32Array | number[], bi: number): void => {
    const start = bi * B;
    b.n = Math.min(B, nTrain - start);
    for (let i = 0; i < b.n; i++) {
      const k = order[start + i];
      b.trials[i] = data.train.trials[k];
      b.targets.set(data.train.responses.subarray(k * N, (k + 1) * N), i * N);
    }
    if (readout.kind === 'gaussian') noise.fill(b.eps.subarray(0, b.n * N * 2));
  };

  const runEpoch = async (ctx: EpochContext): Promise<EpochOutcome> => {
    const { epoch, lr } = ctx;
    adam.lr = lr;
    const order = shuffleRng.permutation(nTrain);
    let lossSum = 0;
    let stepS = 0;
    fill(buffers[0], order, 0);
    for (let bi = 0; bi < batches; bi++) {
      const ts = performance.now();
      const b = buffers[bi % buffers.length];
      const n = b.n;
      const targets = b.targets.subarray(0, n * N);
      const batchEps = b.eps.subarray(0, n * N * 2);
      const lossScale = o.scaleLoss ? referenceLossScale(data.datasetTrials, n) : 1;
      let step: StepResult;
      if (workers) {
        // the workers step copies of the readout: clamp this one's free means as the step would (same values)
        if (readout.kind === 'gaussian') clampFreeMeans(readout);
        const pending = workers.step({
          readout,
          params,
          trials: b.trials.subarray(0, n),
          targets,
          noise: readout.kind === 'gaussian' ? batchEps : null,
          lossScale,
          gammaReadout: o.gammaReadout,
          logEps: o.logEps,
          loss: o.loss,
        });
        // step() has sent its messages: draw the next batch meanwhile
        if (bi + 1 < batches) fill(buffers[(bi + 1) % buffers.length], order, bi + 1);
        step = await pending;
        // the live views' sampled positions, computed from these draws only if a snapshot is taken
        if (readout.kind === 'gaussian') ws.deferSample(batchEps.subarray(0, Math.min(n, 8) * N * 2));
      } else {
        const maps: Float32Array[] = new Array(n);
        // an engine that holds the cache on its device reads the maps by slot (no decoding, no upload)
        const slots = engine?.holdsCache ? new Uint32Array(n) : null;
        for (let i = 0; i < n; i++) {
          if (slots) {
            slots[i] = cache.slotOfTrial[b.trials[i]];
            maps[i] = NO_MAP;
          } else maps[i] = cache.map(b.trials[i], scratch[i]);
        }
        if (engine) engine.slots = slots;
        const input = {
          readout,
          params,
          geometry,
          maps,
          targets,
          noise: batchEps,
          lossScale,
          gammaReadout: o.gammaReadout,
          logEps: o.logEps,
          loss: o.loss,
          workspace: ws,
        };
        step = engine ? await readoutLossAndGradsOn(engine, input) : readoutLossAndGrads(input);
        if (bi + 1 < batches) fill(buffers[0], order, bi + 1);
      }
      if (!Number.isFinite(step.loss)) return { kind: 'stop', reason: 'non-finite-loss' };
      if (engine) await engine.adamUpdate(params, adam);
      else adam.update();
      stepS += (performance.now() - ts) / 1000;
      lossSum += step.loss;
      onEvent?.({
        kind: 'batch',
        epoch,
        batch: bi + 1,
        batches,
        loss: step.loss,
        valCorrelation: ctx.objective,
        lr,
        ...ctx.batchTiming(bi + 1, batches),
      });
      if (!(await ctx.checkpoint())) return { kind: 'stop', reason: 'stopped' };
    }
    return { kind: 'trained', loss: lossSum / batches, imagesPerS: nTrain / stepS };
  };

  const run = await driveEpochs({
    schedule: o.schedule,
    lr: o.lr,
    control,
    startedAt: t0,
    onEvent,
    runEpoch,
    validate: async () => {
      const pred = workers
        ? await workers.predict(readout, data.validation.trials)
        : await predictTier(readout, cache, data.validation.trials, B, scratch, control, ws);
      return { objective: meanCorrelation(pred, data.validation.responses, N), extra: {} };
    },
    snapshot: () => cloneReadout(readout),
    restore: (best) => copyReadoutInto(readout, best),
  });
  return { readout, ...run, options: o };
}

/** One batch's inputs: `n` images' trials, targets (n, N) and position draws (n, N, 2), in buffers sized for B. */
interface BatchBuffers {
  n: number;
  trials: Int32Array;
  targets: Float32Array;
  eps: Float32Array;
}

/** A batch image's map when the engine reads it from its own copy of the cache (by slot). */
const NO_MAP = new Float32Array(0);

/**
 * Eval-mode predictions (trials x neurons) for cached trials, in batches. `workspace`: the run's (a factorized
 * readout uses its kernel; without one, a shared kernel per shape).
 */
export async function predictTier(
  readout: TrainableReadout,
  cache: FeatureCache,
  trials: ArrayLike<number>,
  batchSize = 64,
  scratch: Float32Array[] = [],
  control?: TrainingControl,
  workspace?: StepWorkspace,
): Promise<Float32Array> {
  const N = readout.neurons;
  const out = new Float32Array(trials.length * N);
  const pos = readout.kind === 'gaussian' ? evalPositions(readout) : null;
  const B = Math.max(1, batchSize);
  const bufs =
    cache.precision === 'float32'
      ? []
      : scratch.length >= B
        ? scratch
        : Array.from({ length: B }, () => new Float32Array(cache.mapSize));
  const engine = workspace?.engine ?? null;
  for (let start = 0; start < trials.length; start += B) {
    const n = Math.min(B, trials.length - start);
    const maps: Float32Array[] = [];
    const into = out.subarray(start * N, (start + n) * N);
    if (engine) {
      const slots = engine.holdsCache ? new Uint32Array(n) : null;
      for (let i = 0; i < n; i++) {
        if (slots) slots[i] = cache.slotOfTrial[trials[start + i]];
        maps.push(slots ? NO_MAP : cache.map(trials[start + i], bufs[i]));
      }
      engine.slots = slots;
      await engine.predict(readout, pos, cache.geometry, maps, into);
    } else {
      for (let i = 0; i < n; i++) maps.push(cache.map(trials[start + i], bufs[i]));
      predictBatch(readout, pos, cache.geometry, maps, into, undefined, workspace);
    }
    if (control) await control.checkpoint();
  }
  return out;
}

function checkData(d: TrainData, r: TrainableReadout): void {
  if (d.neurons !== r.neurons) throw new Error(`the scan has ${d.neurons} neurons, the readout ${r.neurons}`);
  if (d.cache.geometry.channels !== r.channels)
    throw new Error(`the core gives ${d.cache.geometry.channels} channels, the readout expects ${r.channels}`);
  const g = d.cache.geometry;
  if (r.kind === 'factorized' && (g.height !== r.height || g.width !== r.width)) {
    throw new Error(`the core gives ${g.height}x${g.width} maps, the readout's masks are ${r.height}x${r.width}`);
  }
  for (const [name, t] of [
    ['train', d.train],
    ['validation', d.validation],
  ] as const) {
    if (t.trials.length === 0) throw new Error(`no ${name} trials`);
    if (t.responses.length !== t.trials.length * d.neurons)
      throw new Error(
        `${name} responses: ${t.responses.length} values for ${t.trials.length} trials x ${d.neurons} neurons`,
      );
    for (const k of t.trials) if (!d.cache.has(k)) throw new Error(`${name} trial ${k} is not in the feature cache`);
  }
  if (!(d.datasetTrials > 0)) throw new Error(`datasetTrials must be positive, got ${d.datasetTrials}`);
}
