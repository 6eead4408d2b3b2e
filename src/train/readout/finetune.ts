/**
 * The transfer workflow end to end, shared by the CLI, the worker, the benchmark and the acceptance test:
 * cache the frozen core's output for the scan's train / validation / test images, build a new readout (Gaussian or
 * factorized) for the scan's neurons, train it with the reference protocol, and evaluate it on the test tier with
 * the field's metrics.
 */
import { normalizedResponses } from '../../io/scan/normalize';
import { tierIndices } from '../../io/scan/tiers';
import type { Scan } from '../../io/scan/types';
import type { CoreRunner, HostCoreRunner } from '../../kernels/core_runner';
import { columnMeans } from '../../metrics/correlation';
import { type Evaluation, evaluate } from '../../metrics/evaluate';
import type { LossName, OutputNonlinearity } from '../../model/output_loss';
import type { ReadoutKind, TrainableReadout } from '../../model/readout_types';
import { TrainingControl } from '../optim/control';
import { chooseLoss, type LossChoice } from '../optim/losses';
import { CorePool } from '../worker/core_pool';
import { ReadoutShards, shardBlockSlots } from '../worker/readout_shards';
import {
  buildFeatureCache,
  type CachePrecision,
  type CacheProgress,
  DEFAULT_CACHE_PRECISION,
  estimateCacheBytes,
  type FeatureCache,
} from './feature_cache';
import {
  type FactorizedInitOptions,
  factorizedInitOptions,
  initFactorizedTrainable,
  initReadout,
  REFERENCE_READOUT,
  type ReadoutInitOptions,
} from './readout_init';
import { StepWorkspace } from './readout_step';
import type { ReadoutWorkers } from './readout_workers';
import { predictTier, type TrainEvent, type TrainOptionsInput, type TrainResult, trainReadout } from './trainer';

export interface FineTuneSetup {
  /** The frozen core (eval mode): a tfjs function, or a pool of worker threads. */
  core: CoreRunner | HostCoreRunner;
  /** [C, H, W] of the core's output, for the memory estimate before anything runs. */
  coreOutputShape: [number, number, number];
  scan: Scan;
  /** Which readout to train (default 'gaussian'). */
  readoutType?: ReadoutKind;
  /** A Gaussian readout's settings (default REFERENCE_READOUT). */
  readout?: Partial<ReadoutInitOptions>;
  /** A factorized readout's settings (default REFERENCE_FACTORIZED; `options` merged key by key). */
  factorized?: { initNoise?: number; options?: Partial<FactorizedInitOptions['options']> };
  train?: TrainOptionsInput;
  /** The encoder's elu_offset (0 for published models). */
  eluOffset?: number;
  /**
   * The loss and output nonlinearity (model/output_loss.ts). Loss absent: Poisson, or MSE with a note when the
   * training responses hold negative values (optim/losses.ts chooseLoss); output absent: elu + 1.
   */
  loss?: LossName;
  output?: OutputNonlinearity;
  /** Names the scan in errors (default its name). */
  scanFile?: string;
  cachePrecision?: CachePrecision;
  /** Images per core forward while caching. */
  cacheChunk?: number;
  /** Refuse a cache larger than this. */
  maxCacheBytes?: number;
  tiers?: { train: string; validation: string; test: string | null };
  onCacheProgress?: (p: CacheProgress & { bytes: number }) => void;
  onEvent?: (e: TrainEvent) => void;
  control?: TrainingControl;
  /** Step scratch shared with the caller (live views read the sampled positions from it). */
  workspace?: StepWorkspace;
  /** Called once the readout exists, before training (live views keep a reference; it changes in place). */
  onReadout?: (r: TrainableReadout) => void;
  /**
   * With a core pool of several workers: false keeps the readout's steps in this thread; default true moves the
   * cache to the workers and trains and evaluates there (readout_workers.ts), unless a WebGPU engine trains.
   */
  readoutOnWorkers?: boolean;
  /** Called when the readout's steps run on the pool's workers (what to say on the page). */
  onReadoutWorkers?: (description: string) => void;
}

export interface TestResult {
  trials: Int32Array;
  /** (trials x neurons) eval-mode predictions, normalized response units. */
  predictions: Float32Array;
  /** Normalized responses of the same trials. */
  responses: Float32Array;
  evaluation: Evaluation;
}

export interface FineTuneOutcome {
  readout: TrainableReadout;
  result: TrainResult;
  cache: FeatureCache;
  /** null when the scan has no test trials. */
  test: TestResult | null;
  seed: number;
  timings: { cacheS: number; trainS: number; testS: number };
  /** The loss and output the run trained with, and the note when they were chosen for the user. */
  lossChoice: LossChoice;
}

/** Trials the readout training needs, per tier, and the cache they take. */
export function planCache(
  scan: Scan,
  coreOutputShape: [number, number, number],
  precision: CachePrecision,
  tiers = { train: 'train', validation: 'validation', test: 'test' as string | null },
) {
  const train = tierIndices(scan, tiers.train);
  const validation = tierIndices(scan, tiers.validation);
  const test = tiers.test ? tierIndices(scan, tiers.test) : new Int32Array(0);
  const [C, H, W] = coreOutputShape;
  // repeats share a slot: count distinct image ids of the test tier as an upper bound of what it adds
  const testImages = new Set<number>();
  for (const t of test) testImages.add(scan.frameImageId[t]);
  const images = train.length + validation.length + testImages.size;
  return {
    train,
    validation,
    test,
    images,
    bytes: estimateCacheBytes(images, { height: H, width: W, channels: C }, precision),
  };
}

export async function fineTuneReadout(s: FineTuneSetup): Promise<FineTuneOutcome> {
  const { scan } = s;
  const tiers = s.tiers ?? { train: 'train', validation: 'validation', test: 'test' };
  const precision = s.cachePrecision ?? DEFAULT_CACHE_PRECISION;
  const plan = planCache(scan, s.coreOutputShape, precision, tiers);
  if (plan.train.length === 0) throw new Error(`scan ${scan.name} has no '${tiers.train}' trials to train on`);
  if (plan.validation.length === 0)
    throw new Error(`scan ${scan.name} has no '${tiers.validation}' trials for early stopping`);
  if (s.maxCacheBytes !== undefined && plan.bytes > s.maxCacheBytes) {
    throw new Error(
      `the core-output cache for ${plan.images} images would take ${(plan.bytes / 2 ** 30).toFixed(2)} GiB (${precision}), more than the ${(s.maxCacheBytes / 2 ** 30).toFixed(2)} GiB allowed`,
    );
  }
  const lossChoice = chooseLoss(
    scan,
    plan.train,
    { loss: s.loss, output: s.output, readoutType: s.readoutType },
    s.scanFile ?? scan.name,
  );
  const control = s.control ?? new TrainingControl();
  const t0 = performance.now();
  const all = new Int32Array(plan.train.length + plan.validation.length + plan.test.length);
  all.set(plan.train, 0);
  all.set(plan.validation, plan.train.length);
  all.set(plan.test, plan.train.length + plan.validation.length);
  const pool =
    s.core instanceof CorePool && s.core.threads > 1 && !s.workspace?.engine && s.readoutOnWorkers !== false
      ? s.core
      : null;
  const cache = await buildFeatureCache(s.core, scan, all, {
    precision,
    chunkSize: s.cacheChunk,
    // blocks are what the workers get: enough of them that each worker's share of a batch is close to even
    blockSlots: pool ? shardBlockSlots(plan.images, pool.threads) : undefined,
    maxBytes: s.maxCacheBytes,
    signal: {
      get aborted() {
        return control.stopRequested;
      },
    },
    onProgress: (p) => s.onCacheProgress?.({ ...p, bytes: plan.bytes }),
    onCoreOutput: s.workspace?.engine?.storeCoreOutput,
    hostCopy: !gpuOnlyCache(s, lossChoice, plan.images),
  });
  s.workspace?.engine?.attachCache?.(cache);
  const cacheS = (performance.now() - t0) / 1000;

  const N = scan.nNeurons;
  const trainResponses = normalizedResponses(scan, plan.train);
  const valResponses = normalizedResponses(scan, plan.validation);
  const seed = s.train?.seed ?? 42;
  const [C, H, W] = s.coreOutputShape;
  let readout: TrainableReadout;
  if (s.readoutType === 'factorized') {
    const meanActivity = columnMeans(trainResponses, N);
    const shape = { neurons: N, channels: C, height: H, width: W };
    readout = initFactorizedTrainable({ ...shape, meanActivity }, factorizedInitOptions(s.factorized), seed);
  } else {
    const readoutOpts: ReadoutInitOptions = { ...REFERENCE_READOUT, ...s.readout };
    readout = initReadout(
      {
        neurons: N,
        channels: C,
        meanActivity: columnMeans(trainResponses, N),
        cellMotorCoordinates: scan.cellMotorCoordinates
          ? { data: scan.cellMotorCoordinates, columns: scan.cellMotorCoordinates.length / N }
          : undefined,
      },
      readoutOpts,
      seed,
    );
  }
  readout.eluOffset = s.eluOffset ?? 0;
  if (lossChoice.output !== 'elu') readout.output = lossChoice.output;
  s.onReadout?.(readout);

  const t1 = performance.now();
  const ws = s.workspace ?? new StepWorkspace();
  const workers = pool ? await ReadoutShards.lend(pool, cache) : null;
  let result: TrainResult;
  let test: TestResult | null = null;
  let trainS: number;
  let t2: number;
  try {
    if (workers) s.onReadoutWorkers?.(workers.description);
    result = await trainReadout(
      {
        cache,
        neurons: N,
        datasetTrials: scan.nTrials,
        train: { trials: plan.train, responses: trainResponses },
        validation: { trials: plan.validation, responses: valResponses },
        workers,
      },
      readout,
      { ...s.train, seed, loss: lossChoice.loss },
      s.onEvent,
      control,
      ws,
    );
    trainS = (performance.now() - t1) / 1000;
    t2 = performance.now();
    if (plan.test.length > 0) test = await evaluateTier(readout, cache, scan, plan.test, ws, workers);
  } finally {
    // the cache whole again in this thread (the outcome hands it on)
    await workers?.giveBack();
  }
  return {
    readout: result.readout,
    result,
    cache,
    test,
    seed,
    timings: { cacheS, trainS, testS: (performance.now() - t2) / 1000 },
    lossChoice,
  };
}

/**
 * Whether the cache can skip its host copy: a WebGPU engine that will train this run (Poisson on elu + 1, the
 * trainer's rule) and can hold `images` maps on the device the tfjs core runs on.
 */
function gpuOnlyCache(s: FineTuneSetup, loss: LossChoice, images: number): boolean {
  const engine = s.workspace?.engine;
  if (!engine?.canHoldCache || typeof s.core !== 'function') return false;
  if (loss.loss !== 'poisson' || loss.output !== 'elu') return false;
  const [C, H, W] = s.coreOutputShape;
  return engine.canHoldCache({ height: H, width: W, channels: C }, images);
}

/** Predictions and metrics of `readout` on cached trials of the scan (`workspace`: the run's, for its kernel). */
export async function evaluateTier(
  readout: TrainableReadout,
  cache: FeatureCache,
  scan: Scan,
  trials: Int32Array,
  workspace?: StepWorkspace,
  /** Workers holding the cache (readout_workers.ts): the predictions are made there. */
  workers?: ReadoutWorkers | null,
): Promise<TestResult> {
  const predictions = workers
    ? await workers.predict(readout, trials)
    : await predictTier(readout, cache, trials, 64, [], undefined, workspace);
  const responses = normalizedResponses(scan, trials);
  const imageIds = Array.from(trials, (t) => scan.frameImageId[t]);
  const evaluation = evaluate({ predictions, responses, neurons: readout.neurons, imageIds });
  return { trials, predictions, responses, evaluation };
}
