/**
 * v1x finetune: the transfer workflow on the command line. Freezes the checkpoint's core, trains a new readout
 * for the scan's neurons (FullGaussian2d, or with --readout-type factorized a FullFactorized2d) with the Lurz 2020 /
 * Sensorium protocol (src/train), evaluates it on the test tier and writes it as a neuralpredictors .pth. With
 * --train-core the core is fine-tuned together with the new readout (finetune_core.ts: no cache, BatchNorm in
 * training mode, the core regularizers); --full-model then holds the fine-tuned core. Progress goes to stderr;
 * stdout gets one JSON object with the keys of `v1x evaluate` plus the training summary (the same keys with and
 * without --train-core, and `readout_type`).
 * With --vgg16 FILE|random instead of --checkpoint the core is the task-driven one (../vgg_model_files.ts:
 * torchvision's VGG16 cut after conv2_2, BatchNorm fitted to the scan's training images, ReLU; FILE is torchvision's
 * vgg16 state_dict, read by range; 'random' is torchvision's init from --seed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InputError } from '../../io/host_tensor';
import { parseNumericNpy } from '../../io/npy';
import type { Scan } from '../../io/scan';
import { loadScanFromPath } from '../../io/scan/node_dir_source';
import { tierIndices } from '../../io/scan/tiers';
import { medianGridError } from '../../metrics/grid_error';
import { excludedGroups, factorizedOptionsFromConfig } from '../../model/config';
import { LOSS_NAMES, type LossName, OUTPUT_NONLINEARITIES, type OutputNonlinearity } from '../../model/output_loss';
import { GAUSS_TYPES, type GaussType, READOUT_KINDS, type ReadoutKind } from '../../model/readout_types';
import { CORE_FINETUNE_LR, fineTuneCoreAndReadout } from '../../train/end_to_end/finetune_core';
import { openFrozenCore } from '../../train/frozen_core';
import { chooseLoss, DEFAULT_GAMMA_READOUT, type LossChoice } from '../../train/optim/losses';
import { REFERENCE_SCHEDULE } from '../../train/optim/schedule';
import { type CachePrecision, DEFAULT_CACHE_PRECISION } from '../../train/readout/feature_cache';
import { fineTuneReadout, planCache } from '../../train/readout/finetune';
import {
  type FactorizedInitOptions,
  REFERENCE_FACTORIZED,
  type ReadoutInitOptions,
  readoutInitFromConfig,
} from '../../train/readout/readout_init';
import { evalPositions } from '../../train/readout/readout_step';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptionsInput } from '../../train/readout/trainer';
import { coreFineTuneRun, type FineTuneRun, frozenCoreRun, packageResult } from '../../train/result';
import { NodeCorePool } from '../../train/worker/core_pool_node';
import { parseArgs, UsageError } from '../args';
import { type ModelFiles, parseBackend, readConfigFile, readModelFiles, startBackend } from '../load_model';
import { trainingProgressLogger } from '../training_log';
import { vggModelFiles } from '../vgg_model_files';

export const summary =
  'train a new readout on a frozen core (or, with --train-core, on the core fine-tuned too): ' +
  '--checkpoint CORE.pth | --vgg16 vgg16-397923af.pth|random [--config C.json] --scan S.zip|DIR --out readout.pth [--readout-type gaussian|factorized] ' +
  '[--train-core] [--seed N] [--max-epochs N] [--lr X] [--per-neuron out.csv|.json] [--full-model M.pth] ' +
  '[--metadata M.json] [--truth-grid G.npy] [--loss poisson|mse|gaussian] [--output elu|softplus|identity] [--free-mu]';

const OPTIONS = [
  'checkpoint',
  'config',
  'scan',
  'out',
  'seed',
  'max-epochs',
  'lr',
  'per-neuron',
  'full-model',
  'metadata',
  'truth-grid',
  'backend',
  'batch-size',
  'gauss-type',
  'cache-precision',
  'data-key',
  'scale',
  'gamma-readout',
  'max-cache-gb',
  'threads',
  'readout-type',
  'vgg16',
  'loss',
  'output',
];

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, OPTIONS, ['free-mu', 'quiet', 'train-core']);
  const out = args.require('out');
  const scanPath = args.require('scan');
  const seed = args.number('seed', 42);
  const maxEpochs = args.number('max-epochs', 200);
  const trainCore = args.has('train-core');
  const lr = args.number('lr', trainCore ? CORE_FINETUNE_LR : DEFAULT_TRAIN_OPTIONS.lr);
  const batchSize = args.number('batch-size', 64);
  const scale = args.number('scale', 1);
  const readoutType = (args.get('readout-type') ?? 'gaussian') as ReadoutKind;
  if (!READOUT_KINDS.includes(readoutType)) {
    throw new UsageError(`--readout-type must be gaussian or factorized, got '${readoutType}'`);
  }
  const factorized = readoutType === 'factorized';
  const lossArg = args.get('loss') as LossName | undefined;
  if (lossArg !== undefined && !LOSS_NAMES.includes(lossArg))
    throw new UsageError(`--loss must be ${LOSS_NAMES.join(', ')}, got '${lossArg}'`);
  const outputArg = args.get('output') as OutputNonlinearity | undefined;
  if (outputArg !== undefined && !OUTPUT_NONLINEARITIES.includes(outputArg))
    throw new UsageError(`--output must be ${OUTPUT_NONLINEARITIES.join(', ')}, got '${outputArg}'`);
  const maxCacheBytes = args.number('max-cache-gb', 8) * 2 ** 30;
  const threads = args.number('threads', Math.min(4, availableParallelism()));
  if (!(threads >= 1) || !Number.isInteger(threads))
    throw new UsageError(`--threads must be a positive integer, got ${threads}`);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${seed}`);
  if (!(maxEpochs >= 1) || !Number.isInteger(maxEpochs))
    throw new UsageError(`--max-epochs must be a positive integer, got ${maxEpochs}`);
  if (!(lr > 0)) throw new UsageError(`--lr must be positive, got ${lr}`);
  if (!(batchSize >= 1) || !Number.isInteger(batchSize))
    throw new UsageError(`--batch-size must be a positive integer, got ${batchSize}`);
  const gaussTypeArg = args.get('gauss-type') as GaussType | undefined;
  if (gaussTypeArg !== undefined && !GAUSS_TYPES.includes(gaussTypeArg))
    throw new UsageError(`--gauss-type must be full, uncorrelated or isotropic, got '${gaussTypeArg}'`);
  const precision = (args.get('cache-precision') ?? DEFAULT_CACHE_PRECISION) as CachePrecision;
  if (!['float32', 'float16', 'bfloat16'].includes(precision))
    throw new UsageError(`--cache-precision must be float32, float16 or bfloat16, got '${precision}'`);
  const backend = parseBackend(args);
  const quiet = args.has('quiet');
  const log = (s: string): void => {
    if (!quiet) process.stderr.write(`v1x: ${s}\n`);
  };

  const vgg16 = args.get('vgg16');
  if (vgg16 !== undefined && args.has('checkpoint')) throw new UsageError('give --checkpoint or --vgg16, not both');
  let files: ModelFiles;
  let vggScan: Scan | null = null;
  let vggBytes: Uint8Array | null = null;
  if (vgg16 === undefined) files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  else {
    // the core is made from the scan's training images (its BatchNorm statistics): scan and backend first
    const config = readConfigFile(args.get('config'));
    vggScan = await loadScanFromPath(scanPath, { scale, exclude: excludedGroups(config.config) });
    await startBackend(backend);
    const v = await vggModelFiles(vgg16, vggScan, config, seed);
    log(`core: ${v.description}`);
    for (const n of v.notes) log(`${vgg16}: ${n}`);
    files = v;
    vggBytes = v.bytes;
  }
  const arch = files.architecture;
  const cfg = files.config.config;
  // the dataset config's normalization (exclude, normalize: false) and the readout's settings come from the config
  const exclude = excludedGroups(cfg);
  if (exclude.length) log(`not normalized (config): ${exclude.join(', ')}`);
  const gamma = args.number('gamma-readout', cfg.gamma_readout ?? DEFAULT_GAMMA_READOUT);
  const scan = vggScan ?? (await loadScanFromPath(scanPath, { scale, exclude }));
  for (const w of scan.warnings) log(`${scanPath}: ${w}`);
  const [c, h, w] = arch.core.inputShape;
  const [sc, sh, sw] = scan.imageShape;
  if (sc !== c || sh !== h || sw !== w) {
    throw new InputError(
      scanPath,
      `images are ${sc}x${sh}x${sw} (after --scale ${scale}), the core takes ${c}x${h}x${w}`,
    );
  }
  let freeMu = args.has('free-mu') || cfg.grid_mean_predictor === null;
  // what was chosen for the user (free positions, the MSE loss): logged and in the JSON's `notes`
  const notes: string[] = [];
  if (factorized) {
    for (const o of ['gauss-type', 'free-mu']) {
      if (args.has(o)) log(`--${o} does nothing with --readout-type factorized (no Gaussians)`);
    }
  } else if (!freeMu && !scan.cellMotorCoordinates) {
    freeMu = true;
    notes.push(
      'no meta/neurons/cell_motor_coordinates.npy for the position network: learning one position per neuron (free positions)',
    );
    log(`${scanPath}: ${notes.at(-1)}`);
  }
  const positions = factorized ? null : freeMu ? 'free' : 'network';
  // Poisson unless asked, or MSE (with a note) when the training responses go negative; Poisson asked on such
  // responses is an error naming the scan
  // --loss / --output, else the config's loss / nonlinearity_type
  const lossChoice = chooseLoss(
    scan,
    tierIndices(scan, 'train'),
    { loss: lossArg ?? cfg.loss, output: outputArg ?? cfg.nonlinearity_type, readoutType },
    scanPath,
  );
  if (lossChoice.note) {
    notes.push(lossChoice.note);
    log(`${scanPath}: ${lossChoice.note}`);
  }
  const truthGrid = args.get('truth-grid');
  let truth: Float32Array | null = null;
  if (truthGrid) {
    const t = parseNumericNpy(new Uint8Array(readFileSync(truthGrid)), truthGrid);
    if (t.shape.length !== 2 || t.shape[0] !== scan.nNeurons || t.shape[1] !== 2)
      throw new InputError(truthGrid, `expected shape (${scan.nNeurons}, 2), got (${t.shape.join(', ')})`);
    truth = Float32Array.from(t.data as Float32Array);
  }
  const dataKey = args.get('data-key') ?? scan.dataKey;
  const readoutOptions = readoutInitFromConfig(cfg, freeMu);
  if (gaussTypeArg) readoutOptions.gaussType = gaussTypeArg;
  // the factorized readout's options from the config (neuralpredictors' keys), its weight from --gamma-readout if given
  const factorizedOptions: FactorizedInitOptions = {
    initNoise: cfg.init_noise ?? REFERENCE_FACTORIZED.initNoise,
    options: { ...factorizedOptionsFromConfig(cfg), ...(args.has('gamma-readout') ? { regWeight: gamma } : {}) },
  };
  const train = { seed, lr, batchSize, gammaReadout: gamma, schedule: { ...REFERENCE_SCHEDULE, maxEpochs } };
  if (trainCore) {
    for (const o of ['cache-precision', 'max-cache-gb', 'threads'])
      if (args.has(o)) log(`--${o} does nothing with --train-core (no core-output cache)`);
  }

  if (vggBytes === null) await startBackend(backend);
  const checkpointBytes = vggBytes ?? new Uint8Array(readFileSync(files.checkpointPath));
  const trained = trainCore
    ? await trainCoreToo(
        files,
        scan,
        dataKey,
        { readoutType, readout: readoutOptions, factorized: factorizedOptions, ...lossOf(lossChoice, scanPath) },
        train,
        log,
      )
    : await trainReadoutOnly(
        files,
        checkpointBytes,
        scan,
        { readoutType, readout: readoutOptions, factorized: factorizedOptions, ...lossOf(lossChoice, scanPath) },
        train,
        { precision, maxCacheBytes, threads, backend },
        log,
      );
  try {
    // the paths resolve the loss again from the explicit choice; the note of the first resolution is the user's
    trained.lossChoice = lossChoice;
    const { readout, test } = trained;
    const fullModel = args.get('full-model');
    const exported = await packageResult(trained, {
      checkpoint: { bytes: checkpointBytes, file: files.checkpointPath },
      config: files.config.config,
      scan,
      dataKey,
      backend,
      fullModel: fullModel !== undefined,
    });
    log(trained.result.message);
    writeFileSync(out, exported.readoutPth);
    log(`wrote readout '${dataKey}' to ${out}`);
    if (fullModel) {
      writeFileSync(fullModel, exported.fullModelPth!);
      log(
        `wrote ${trainCore ? 'the fine-tuned core (BatchNorm running statistics included)' : 'core'} + readout to ${fullModel}`,
      );
    }
    const perNeuron = args.get('per-neuron');
    if (perNeuron) {
      writeFileSync(
        perNeuron,
        perNeuron.endsWith('.json') ? JSON.stringify(exported.perNeuron) : exported.perNeuronCsv,
      );
      log(`wrote per-neuron results to ${perNeuron}`);
    }
    let gridError: number | null = null;
    if (truth) gridError = medianGridError(evalPositions(readout), truth);
    const summaryOut = {
      ...(test?.evaluation.summary ?? { neurons: scan.nNeurons, trials: 0 }),
      tier: 'test',
      scan: scan.name,
      readout: dataKey,
      checkpoint: files.checkpointPath,
      backend,
      readout_type: readoutType,
      loss: lossChoice.loss,
      output: lossChoice.output,
      positions,
      notes,
      ...(gridError !== null ? { grid_error_median: gridError } : {}),
      best_validation_correlation: trained.result.bestValCorrelation,
      epochs: trained.result.epochs,
      stop_reason: trained.result.stopReason,
      seed,
      lr,
      train_core: trainCore,
      cache_precision: trainCore ? null : precision,
      cache_s: trained.timings.cacheS,
      train_s: trained.timings.trainS,
      out,
    };
    const metadata = args.get('metadata');
    if (metadata) {
      writeFileSync(metadata, exported.metadataJson);
      log(`wrote metadata to ${metadata}`);
    }
    process.stdout.write(JSON.stringify(summaryOut) + '\n');
  } finally {
    trained.dispose();
  }
}

/** A run of either path, with what frees its model (and the frozen core's fast path). */
type Trained = FineTuneRun & { dispose(): void };

interface CacheSettings {
  precision: CachePrecision;
  maxCacheBytes: number;
  threads: number;
  backend: string;
}

/** Which readout to train and its settings. */
interface ReadoutChoice {
  readoutType: ReadoutKind;
  readout: ReadoutInitOptions;
  factorized: FactorizedInitOptions;
  loss: LossName;
  output: OutputNonlinearity;
  scanFile: string;
}

/** The resolved loss as both fine-tuning paths take it (resolved again there to the same choice). */
function lossOf(c: LossChoice, scanFile: string): Pick<ReadoutChoice, 'loss' | 'output' | 'scanFile'> {
  return { loss: c.loss, output: c.output, scanFile };
}

/** The frozen-core path: the core's outputs cached once (in worker threads when asked), then the readout alone. */
async function trainReadoutOnly(
  files: ModelFiles,
  checkpointBytes: Uint8Array,
  scan: Scan,
  choice: ReadoutChoice,
  train: TrainOptionsInput,
  c: CacheSettings,
  log: (s: string) => void,
): Promise<Trained> {
  const arch = files.architecture;
  const coreOutputShape = arch.core.outputShape;
  const plan = planCache(scan, coreOutputShape, c.precision);
  log(
    `${scan.name}: ${scan.nNeurons} neurons; ${plan.train.length} train, ${plan.validation.length} validation, ${plan.test.length} test trials; ` +
      `core-output cache for ${plan.images} images: ${(plan.bytes / 2 ** 30).toFixed(2)} GiB (${c.precision})`,
  );
  const frozen = await openFrozenCore(files.stateDict, files.config, files.checkpointPath);
  let pool: NodeCorePool | null = null;
  try {
    // the core runs once per image (the cache): on every core of the machine when threads > 1
    if (c.threads > 1 && c.backend === 'wasm') {
      try {
        pool = await NodeCorePool.create(
          checkpointBytes,
          files.checkpointPath,
          files.config.config,
          arch.core.inputShape,
          c.threads,
        );
      } catch (e) {
        log(
          `could not start core worker threads (${e instanceof Error ? e.message : String(e)}); running the core in one thread`,
        );
      }
    }
    log(`frozen core: ${pool ? pool.description : frozen.description}`);
    let lastCacheLog = 0;
    const outcome = await fineTuneReadout({
      core: pool ?? frozen.run,
      coreOutputShape,
      scan,
      eluOffset: arch.eluOffset,
      cachePrecision: c.precision,
      maxCacheBytes: c.maxCacheBytes,
      ...choice,
      train,
      onCacheProgress: (p) => {
        if (p.done === p.total || p.elapsedS - lastCacheLog > 10) {
          lastCacheLog = p.elapsedS;
          log(
            `core outputs ${p.done}/${p.total} (${(p.done / Math.max(p.elapsedS, 1e-9)).toFixed(1)} images/s, ${p.remainingS.toFixed(0)} s left)`,
          );
        }
      },
      onReadoutWorkers: (d) => log(d),
      onEvent: trainingProgressLogger(log),
    });
    return { ...frozenCoreRun(outcome, frozen.encoder), dispose: frozen.dispose };
  } catch (e) {
    frozen.dispose();
    throw e;
  } finally {
    await pool?.close();
  }
}

/** --train-core: the checkpoint's core and a new readout trained together (finetune_core.ts); no cache. */
async function trainCoreToo(
  files: ModelFiles,
  scan: Scan,
  dataKey: string,
  choice: ReadoutChoice,
  train: TrainOptionsInput,
  log: (s: string) => void,
): Promise<Trained> {
  const tiers = ['train', 'validation', 'test'].map((t) => `${tierIndices(scan, t).length} ${t}`).join(', ');
  log(
    `${scan.name}: ${scan.nNeurons} neurons; ${tiers} trials; fine-tuning the core too: no cache, the core runs forward and backward on every batch`,
  );
  const outcome = await fineTuneCoreAndReadout({
    stateDict: files.stateDict,
    config: files.config.config,
    file: files.checkpointPath,
    scan,
    dataKey,
    ...choice,
    train,
    onEvent: trainingProgressLogger(log),
  });
  return { ...coreFineTuneRun(outcome), dispose: () => outcome.encoder.dispose() };
}
